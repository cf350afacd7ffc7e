// The Function App: Flex Consumption, Node 20, the v4 programming model, with its own storage account for the host and
// the Durable Functions task hub (blobs, queues, tables) and for the deployment package. It reaches everything with its
// user-assigned identity: the host storage (AzureWebJobsStorage__*), Application Insights (Entra ID), the archive
// account, the worker job and the source registry (DefaultAzureCredential with AZURE_CLIENT_ID).
param location string
param tags { *: string }
param name string
param planName string
param hostStorageName string
param deploymentContainerName string
param appInsightsName string
param identityId string
param identityClientId string
param archiveBlobEndpoint string
param archiveContainerName string
param jobResourceId string
param jobContainerName string
param azureSubscriptionId string
param taskHubName string
param nightlySchedule string
param nightlyRegistries string

@description('Login servers a run may target (ALLOWED_REGISTRIES, comma-separated globs): the app sends its registry identity to these only.')
param allowedRegistries string

@description('DURABLE_STATUS_URLS: answer POST /api/archive with the Durable check-status URLs, whose code is the extension system key (it can start any orchestration). False: this app\'s own status URL only.')
param durableStatusUrls bool
param maxAttempts int
param jobTimeoutMinutes int
param pollMaxIntervalSeconds int
param defaultMaxParallel int
@description('Login servers restores may push to (RESTORE_TARGET_REGISTRIES, comma-separated); empty: restores are refused.')
param restoreTargetRegistries string
param rehydrationTimeoutMinutesStandard int
param rehydrationTimeoutMinutesHigh int
param rehydrationPollMaxSeconds int
param stagingMaxAgeMinutes int
param registryReadsPerMinute int
param registryIdleTimeoutSeconds int
param listingPageRepositories int
param listingConcurrency int
param referrersMaxDepth int
param referrersMaxCount int
param refreshReferrersMaxRequests int
param nightlyRefreshReferrers bool
param catalogBackfillMaxBlobs int
@description('The cost report\'s list prices and where they are from (main.bicep costPrices).')
param costPrices {
  currency: string
  region: string
  redundancy: string
  readOn: string
  archivePerGbMonth: string
  retrievalPerGbStandard: string
  retrievalPerGbHigh: string
  archiveReadsPer10kStandard: string
  archiveReadsPer10kHigh: string
  registryStoragePerGbDay: string
}
param purgeEnabled bool
param purgeGrace string
param purgeMaxImages int
@description('The Durable Task Scheduler\'s endpoint when it is the backend (main.bicep durableBackend); empty: the Azure Storage backend of host.json.')
param durableTaskSchedulerEndpoint string = ''
param maximumInstanceCount int
param instanceMemoryMB int

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Every setting src/config.ts appSettingsSchema reads, except ARM_ENDPOINT (its default is the public cloud's), REGISTRY_SKU
// (the source registry's SKU is read through Resource Manager), and the
// ones that must never be here: no secret, no connection string, no registry password (test/infra/infra.test.ts).
// Flex Consumption takes the runtime from functionAppConfig, not from FUNCTIONS_WORKER_RUNTIME.
var appSettings = {
  // The host's own storage (task hub, leases, keys) through the identity.
  AzureWebJobsStorage__accountName: hostStorage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry, accepted only with an Entra ID token (Application Insights has local auth disabled).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The app's configuration (src/config.ts).
  AZURE_CLIENT_ID: identityClientId
  STORAGE_ACCOUNT_URL: archiveBlobEndpoint
  ARCHIVE_CONTAINER: archiveContainerName
  TASKHUB_NAME: taskHubName
  REGISTRY_AUTH: 'entra'
  REGISTRY_INSECURE: 'false'
  JOB_RUNNER: 'container-apps'
  JOB_RESOURCE_ID: jobResourceId
  JOB_CONTAINER_NAME: jobContainerName
  AZURE_SUBSCRIPTION_ID: azureSubscriptionId
  NIGHTLY_SCHEDULE: nightlySchedule
  NIGHTLY_REGISTRIES: nightlyRegistries
  ALLOWED_REGISTRIES: allowedRegistries
  DURABLE_STATUS_URLS: durableStatusUrls ? 'true' : 'false'
  MAX_ATTEMPTS: string(maxAttempts)
  JOB_TIMEOUT_MINUTES: string(jobTimeoutMinutes)
  POLL_MAX_INTERVAL_SECONDS: string(pollMaxIntervalSeconds)
  DEFAULT_MAX_PARALLEL: string(defaultMaxParallel)
  RESTORE_TARGET_REGISTRIES: restoreTargetRegistries
  REHYDRATION_TIMEOUT_MINUTES_STANDARD: string(rehydrationTimeoutMinutesStandard)
  REHYDRATION_TIMEOUT_MINUTES_HIGH: string(rehydrationTimeoutMinutesHigh)
  REHYDRATION_POLL_MAX_SECONDS: string(rehydrationPollMaxSeconds)
  STAGING_MAX_AGE_MINUTES: string(stagingMaxAgeMinutes)
  REGISTRY_READS_PER_MINUTE: string(registryReadsPerMinute)
  REGISTRY_IDLE_TIMEOUT_SECONDS: string(registryIdleTimeoutSeconds)
  LISTING_PAGE_REPOSITORIES: string(listingPageRepositories)
  LISTING_CONCURRENCY: string(listingConcurrency)
  REFERRERS_MAX_DEPTH: string(referrersMaxDepth)
  REFERRERS_MAX_COUNT: string(referrersMaxCount)
  REFRESH_REFERRERS_MAX_REQUESTS: string(refreshReferrersMaxRequests)
  NIGHTLY_REFRESH_REFERRERS: nightlyRefreshReferrers ? 'true' : 'false'
  CATALOG_BACKFILL_MAX_BLOBS: string(catalogBackfillMaxBlobs)
  // The cost report's list prices (REGISTRY_SKU is not set: the app reads the source registry's SKU through ARM).
  COST_CURRENCY: costPrices.currency
  COST_PRICES_REGION: costPrices.region
  COST_PRICES_REDUNDANCY: costPrices.redundancy
  COST_PRICES_READ_ON: costPrices.readOn
  COST_ARCHIVE_PER_GB_MONTH: costPrices.archivePerGbMonth
  COST_RETRIEVAL_PER_GB_STANDARD: costPrices.retrievalPerGbStandard
  COST_RETRIEVAL_PER_GB_HIGH: costPrices.retrievalPerGbHigh
  COST_ARCHIVE_READS_PER_10K_STANDARD: costPrices.archiveReadsPer10kStandard
  COST_ARCHIVE_READS_PER_10K_HIGH: costPrices.archiveReadsPer10kHigh
  COST_REGISTRY_STORAGE_PER_GB_DAY: costPrices.registryStoragePerGbDay
  PURGE_ENABLED: purgeEnabled ? 'true' : 'false'
  PURGE_GRACE: purgeGrace
  PURGE_MAX_IMAGES: string(purgeMaxImages)
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// host.json is one file for every deployment and keeps the Azure Storage backend; a deployment with the Durable Task
// Scheduler overrides its storageProvider through app settings (AzureFunctionsJobHost__<path> replaces host.json's
// <path>), and the connection is the identity's: no key, no secret.
var durableTaskSchedulerSettings = empty(durableTaskSchedulerEndpoint)
  ? {}
  : {
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
    }

resource siteSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(appSettings, durableTaskSchedulerSettings)
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
output hostStorageName string = hostStorage.name
