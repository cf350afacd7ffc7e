// Least privilege, in the deployment's resource group. Each assignment names the narrowest scope that works.
//   Function App identity: start, read and stop executions of the one worker job (custom role, on the job); read and
//     write blobs of the archive container only (run summaries in, worker results and sidecars out), and their index
//     tags (custom role: the catalog and its backfill); its own host storage (Durable Functions task hub), or the
//     Durable Task Scheduler's task hub when that is the backend; telemetry to its Application Insights.
//   Worker job identity: read and write blobs of the archive account (it may create the request's container), and
//     their index tags (custom role: set with each archive's commit); on the source registry it only pulls
//     (app/registry-access.bicep). Nothing else.
param functionPrincipalId string
param jobPrincipalId string
param jobName string
param archiveStorageAccountName string
param archiveContainerName string
param hostStorageAccountName string
param appInsightsName string
@description('The Durable Task Scheduler is the Durable Functions backend (main.bicep durableBackend).')
param useDurableTaskScheduler bool = false
param durableTaskSchedulerName string = ''
param taskHubName string

var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402' // Durable Task Data Contributor
}

resource job 'Microsoft.App/jobs@2024-03-01' existing = {
  name: jobName
}

resource archiveAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: archiveStorageAccountName
}

resource archiveBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: archiveAccount
  name: 'default'
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: archiveBlobService
  name: archiveContainerName
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource durableTaskScheduler 'Microsoft.DurableTask/schedulers@2025-11-01' existing = if (useDurableTaskScheduler) {
  name: durableTaskSchedulerName
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' existing = if (useDurableTaskScheduler) {
  parent: durableTaskScheduler
  name: taskHubName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// No built-in role starts a job without also letting its holder rewrite it (Contributor) or read its secrets
// (listSecrets). This one can start an execution, read the job (its template, to merge the per-image env into it),
// read executions, and stop them; it is assignable in this resource group only and assigned on the one job.
// Stopping one execution is jobs/stop/execution/action; jobs/stop/action (stop several) is kept for the same job
// because the service has been reported to check either for a single stop.
resource jobOperatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'acr-cold-archive-job-operator')
  properties: {
    roleName: 'ACR Cold Archive job operator ${uniqueString(resourceGroup().id)}'
    description: 'Start, read and stop executions of the acr-cold-archive worker job. No write, delete or listSecrets.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.App/jobs/read'
          'Microsoft.App/jobs/start/action'
          'Microsoft.App/jobs/execution/read'
          'Microsoft.App/jobs/executions/read'
          'Microsoft.App/jobs/stop/execution/action'
          'Microsoft.App/jobs/stop/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

// Blob index tags are a sub-resource with permissions of their own: Storage Blob Data Contributor may write a blob but
// not its tags, and a commit that sets tags (every archive's) needs tags/write. Only Storage Blob Data Owner has them
// built in, with much else; this role has the three: read and write a blob's index tags, find blobs by them.
resource blobIndexTagsRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'acr-cold-archive-blob-index-tags')
  properties: {
    roleName: 'ACR Cold Archive blob index tags ${uniqueString(resourceGroup().id)}'
    description: 'Read and write blob index tags and find blobs by them (the acr-cold-archive catalog). No blob data.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action'
        ]
        notDataActions: []
      }
    ]
  }
}

// ---- Function App identity ------------------------------------------------------------------------------------------

resource functionJobOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(job.id, functionPrincipalId, jobOperatorRole.name)
  scope: job
  properties: {
    // Custom roles are subscription-level objects whatever the deployment scope: reference it that way.
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', jobOperatorRole.name)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Read and write, on the archive container only: the app reads sidecars (already archived?) and worker results, and
// writes run summaries. No built-in data role grants read+write with less than this (Storage Blob Data Reader cannot
// write summaries); the container scope keeps it away from every other container.
resource functionArchiveContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(archiveContainer.id, functionPrincipalId, roles.storageBlobDataContributor)
  scope: archiveContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Index tags on the archive container: the catalog finds archives by them (GET /api/catalog) and reads them, and an
// archive run's backfill writes them for archives made before them.
resource functionArchiveIndexTags 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(archiveContainer.id, functionPrincipalId, blobIndexTagsRole.name)
  scope: archiveContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobIndexTagsRole.name)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The host storage (its own account, not the archive): Functions host blobs and leases need Blob Data Owner; the
// Durable Functions Azure Storage provider keeps its task hub in queues and tables.
resource functionHostBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, functionPrincipalId, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionHostQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, functionPrincipalId, roles.storageQueueDataContributor)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionHostTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, functionPrincipalId, roles.storageTableDataContributor)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// With the Durable Task Scheduler backend: the orchestrations' data in the app's one task hub. The documented role for
// Durable Functions apps (orchestrations, activities, the client API the status endpoint uses); Durable Task Worker
// lacks the client operations. Scoped to the task hub, not the scheduler.
resource functionTaskHub 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useDurableTaskScheduler) {
  name: guid(taskHub.id, functionPrincipalId, roles.durableTaskDataContributor)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.durableTaskDataContributor)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// ---- Worker job identity --------------------------------------------------------------------------------------------

// The archive account only: the worker writes the archive, sidecar, tag markers and its result into the request's
// container (the app always names ARCHIVE_CONTAINER) and creates that container if it is missing.
resource jobArchiveAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(archiveAccount.id, jobPrincipalId, roles.storageBlobDataContributor)
  scope: archiveAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: jobPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Index tags with each archive and supplement the worker commits (the same account scope as its data role).
resource jobArchiveIndexTags 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(archiveAccount.id, jobPrincipalId, blobIndexTagsRole.name)
  scope: archiveAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobIndexTagsRole.name)
    principalId: jobPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output jobOperatorRoleId string = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', jobOperatorRole.name)
