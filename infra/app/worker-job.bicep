// The worker: a Container Apps environment and a manual-trigger job whose every execution archives one image. The app
// starts executions with ARCHIVE_REQUEST merged into this template's env (src/jobs/containerAppsJobRunner.ts).
// No volumes: the worker streams registry -> tar -> gzip -> staged blocks, so it needs no scratch share (and no
// storage key to mount one). Registry credentials, when given, are job secrets read through secretRef only.
param location string
param tags { *: string }
param managedEnvironmentName string
param jobName string
param workspaceId string
param identityId string
param identityClientId string
param registryLoginServer string
param image string
param cpuCores string
param archiveBlobEndpoint string
param gzipLevel int
param uploadBlockSizeMiB int
param uploadConcurrency int
param registryConcurrency int
@description('The whole budget: each execution overrides it with its share (the budget / the run\'s maxParallel).')
param registryReadsPerMinute int
param registryIdleTimeoutSeconds int
param prefetchMiB int
param referrersMaxDepth int
param referrersMaxCount int
param replicaTimeoutSeconds int
param registryUsername string
param archiveContainerName string
@description('Login servers a restore may push to (RESTORE_TARGET_REGISTRIES): the worker refuses any other target.')
param restoreTargetRegistries string

@secure()
param registryPassword string

// Until the first `az acr build` (the preprovision hook), a public sample image stands in.
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'
var containerName = 'worker'
var memoryByCpu = {
  '0.5': '1Gi'
  '1.0': '2Gi'
  '2.0': '4Gi'
  '4.0': '8Gi'
}
var hasRegistryCredentials = !empty(registryUsername) && !empty(registryPassword)

var registrySecretList = [
  {
    name: 'acr-username'
    value: registryUsername
  }
  {
    name: 'acr-password'
    value: registryPassword
  }
]
var registrySecrets = hasRegistryCredentials ? registrySecretList : []

var baseEnv = [
  {
    name: 'STORAGE_ACCOUNT_URL'
    value: archiveBlobEndpoint
  }
  // What the worker may touch, re-checked against every ARCHIVE_REQUEST (a request can be forged upstream).
  {
    name: 'ALLOWED_REGISTRIES'
    value: registryLoginServer
  }
  {
    name: 'ARCHIVE_CONTAINER'
    value: archiveContainerName
  }
  // Where a restore (RESTORE_REQUEST) may push: the registries the deployment names as restore targets, or none.
  {
    name: 'RESTORE_TARGET_REGISTRIES'
    value: restoreTargetRegistries
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'REGISTRY_INSECURE'
    value: 'false'
  }
  {
    name: 'GZIP_LEVEL'
    value: string(gzipLevel)
  }
  {
    name: 'UPLOAD_BLOCK_SIZE_MIB'
    value: string(uploadBlockSizeMiB)
  }
  {
    name: 'UPLOAD_CONCURRENCY'
    value: string(uploadConcurrency)
  }
  {
    name: 'REGISTRY_CONCURRENCY'
    value: string(registryConcurrency)
  }
  {
    name: 'PREFETCH_MIB'
    value: string(prefetchMiB)
  }
  {
    name: 'REFERRERS_MAX_DEPTH'
    value: string(referrersMaxDepth)
  }
  {
    name: 'REFERRERS_MAX_COUNT'
    value: string(referrersMaxCount)
  }
  {
    name: 'REGISTRY_READS_PER_MINUTE'
    value: string(registryReadsPerMinute)
  }
  {
    name: 'REGISTRY_IDLE_TIMEOUT_SECONDS'
    value: string(registryIdleTimeoutSeconds)
  }
]

var entraRegistryEnv = [
  {
    name: 'REGISTRY_AUTH'
    value: 'entra'
  }
]

var passwordRegistryEnv = [
  {
    name: 'REGISTRY_AUTH'
    value: 'password'
  }
  {
    name: 'ACR_USERNAME'
    secretRef: 'acr-username'
  }
  {
    name: 'ACR_PASSWORD'
    secretRef: 'acr-password'
  }
  // The password is offered to this host only.
  {
    name: 'ACR_LOGIN_SERVER'
    value: registryLoginServer
  }
]

resource managedEnvironment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: managedEnvironmentName
  location: location
  tags: tags
  properties: {
    // Logs go through Azure Monitor diagnostic settings (below): no workspace key is handed to the environment.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: managedEnvironment
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'ContainerAppConsoleLogs'
        enabled: true
      }
      {
        category: 'ContainerAppSystemLogs'
        enabled: true
      }
    ]
  }
}

resource job 'Microsoft.App/jobs@2024-03-01' = {
  name: jobName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: managedEnvironment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Manual'
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      // Retries belong to the orchestration (MAX_ATTEMPTS), which sees every attempt; the platform does not retry.
      replicaRetryLimit: 0
      replicaTimeout: replicaTimeoutSeconds
      // The worker image is pulled from the source registry with the job's identity (AcrPull / Repository Reader).
      registries: [
        {
          server: registryLoginServer
          identity: identityId
        }
      ]
      secrets: registrySecrets
    }
    template: {
      containers: [
        {
          name: containerName
          image: !empty(image) ? image : placeholderImage
          env: concat(baseEnv, hasRegistryCredentials ? passwordRegistryEnv : entraRegistryEnv)
          resources: {
            cpu: json(cpuCores)
            memory: memoryByCpu[cpuCores]
          }
        }
      ]
    }
  }
}

output id string = job.id
output name string = job.name
output containerName string = containerName
output environmentId string = managedEnvironment.id
