// acr-cold-archive: everything `azd up` provisions, in one resource group, for one existing source registry.
//   Function App (Flex Consumption, Node 20) — orchestrates runs, lists the registry, starts one job execution per image
//   Container Apps Job (manual trigger)      — the worker: streams one image from the registry into the Archive tier
//   storage account for archives              — Archive-tier blobs, sidecars, run summaries; no account keys
// Every setting the app reads (src/config.ts appSettingsSchema) is set here; test/infra/infra.test.ts keeps the two honest.
targetScope = 'subscription'

// ---- azd ----------------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource. Flex Consumption runs in a subset of regions: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create or reuse. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

// ---- the source registry (existing) -------------------------------------------------------------------------------

@minLength(5)
@maxLength(50)
@description('Name of the existing Azure Container Registry to archive (the name, not the login server).')
param sourceRegistryName string

@minLength(1)
@description('Resource group of the source registry.')
param sourceRegistryResourceGroupName string

@description('Subscription of the source registry. Empty: the deployment subscription.')
param sourceRegistrySubscriptionId string = ''

@description('The registry\'s role assignment permissions mode. LegacyRegistryPermissions: AcrPull grants pull and catalog listing. AbacRepositoryPermissions: AcrPull is not honoured; Container Registry Repository Reader and Catalog Lister are assigned instead.')
@allowed([
  'LegacyRegistryPermissions'
  'AbacRepositoryPermissions'
])
param sourceRegistryPermissionsMode string = 'LegacyRegistryPermissions'

@description('Optional registry user name (a repository-scoped token, for example) for the worker. Empty: the worker uses its managed identity. Given with registryPassword, both become job secrets read through secretRef.')
param registryUsername string = ''

@secure()
@description('Optional registry password for the worker, stored only as a Container Apps job secret.')
param registryPassword string = ''

// ---- the archive ----------------------------------------------------------------------------------------------------

@description('Archive storage account name (3-24 lowercase letters and digits). Empty: a unique name.')
param archiveStorageAccountName string = ''

@description('Redundancy of the archive account. The Archive tier needs LRS, GRS or RA-GRS: ZRS, GZRS and RA-GZRS accounts cannot hold Archive blobs. GRS keeps a second copy in the paired region, worth it when the archive is the only copy left.')
@allowed([
  'Standard_LRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param archiveStorageSku string = 'Standard_GRS'

@minLength(3)
@maxLength(63)
@description('Container for archives, sidecars, tag markers and run records (runs/<runId>/…): ARCHIVE_CONTAINER.')
param archiveContainerName string = 'images'

@description('Delete archives (and everything else in the container) by a lifecycle rule. Off by default: archives are kept until you delete them.')
param deleteArchives bool = false

@minValue(180)
@maxValue(36500)
@description('Age in days after which the lifecycle rule deletes archives when deleteArchives is true. At least 180: the Archive tier bills 180 days whatever happens earlier.')
param archiveRetentionDays int = 3650

@minValue(0)
@maxValue(36500)
@description('Age in days after which run summaries and worker results (runs/ in the archive container, never in the Archive tier) are deleted. 0 keeps them.')
param runRecordRetentionDays int = 365

@minValue(1)
@maxValue(365)
@description('Days a deleted blob or container stays recoverable (soft delete).')
param softDeleteRetentionDays int = 14

// ---- the Function App ---------------------------------------------------------------------------------------------

@minLength(3)
@maxLength(45)
@description('Durable Functions task hub: TASKHUB_NAME (letters and digits, starting with a letter).')
param taskHubName string = 'acrcoldarchive'

@description('NCRONTAB schedule (six fields, UTC) of the nightly run: NIGHTLY_SCHEDULE.')
param nightlySchedule string = '0 0 2 * * *'

@description('Archive the source registry every night (NIGHTLY_REGISTRIES = its login server). False: runs start only on request.')
param enableNightlyRun bool = true

@description('Answer POST /api/archive with the Durable check-status URLs (DURABLE_STATUS_URLS). Their code is the extension system key, which can start any orchestration: set false when function keys go to less trusted callers.')
param exposeDurableStatusUrls bool = true

@minValue(1)
@maxValue(10)
@description('Job executions per image before it is given up: MAX_ATTEMPTS.')
param maxAttempts int = 3

@minValue(1)
@maxValue(1440)
@description('Minutes after which the app stops an execution and counts a failed attempt: JOB_TIMEOUT_MINUTES.')
param jobTimeoutMinutes int = 120

@minValue(1)
@maxValue(3600)
@description('Longest interval between two polls of a running execution: POLL_MAX_INTERVAL_SECONDS.')
param pollMaxIntervalSeconds int = 60

@minValue(1)
@maxValue(100)
@description('Images archived in parallel when a run does not say: DEFAULT_MAX_PARALLEL.')
param defaultMaxParallel int = 10

@description('Names of the registries restores may push to (RESTORE_TARGET_REGISTRIES), in restoreTargetRegistriesResourceGroupName: the job gets AcrPush and the app AcrPull there, and nowhere else. Empty (the default): every restore is refused.')
param restoreTargetRegistryNames string[] = []

@description('Resource group of the restore target registries (default: the source registry\'s), in the source registry\'s subscription.')
param restoreTargetRegistriesResourceGroupName string = ''

@minValue(1)
@maxValue(10080)
@description('A restore waits at most this long for an archive\'s Standard-priority rehydration (Azure: up to 15 h): REHYDRATION_TIMEOUT_MINUTES_STANDARD.')
param rehydrationTimeoutMinutesStandard int = 1080

@minValue(1)
@maxValue(10080)
@description('The same for High priority (Azure: under 1 h for objects below 10 GB): REHYDRATION_TIMEOUT_MINUTES_HIGH.')
param rehydrationTimeoutMinutesHigh int = 120

@minValue(1)
@maxValue(3600)
@description('Polling of a pending rehydration backs off up to this: REHYDRATION_POLL_MAX_SECONDS.')
param rehydrationPollMaxSeconds int = 900

@minValue(1)
@maxValue(527040)
@description('The nightly staging sweep deletes a staging copy no running restore claims once it was not written for this long: STAGING_MAX_AGE_MINUTES.')
param stagingMaxAgeMinutes int = 4320

@minValue(40)
@maxValue(1000)
@description('Flex Consumption: most instances the app scales out to.')
param functionMaximumInstanceCount int = 100

@allowed([
  2048
  4096
])
@description('Flex Consumption: memory of one instance, in MB.')
param functionInstanceMemoryMB int = 2048

// ---- the worker job -------------------------------------------------------------------------------------------------

@description('Worker image (<login server>/<repository>:<tag>). Set by the preprovision hook after az acr build; empty: a public placeholder until the first build.')
param workerImage string = ''

@description('vCPUs of one worker replica; memory is twice that in GiB. The worker streams: it needs CPU for gzip and memory for block size x (upload concurrency + 1), no disk.')
@allowed([
  '0.5'
  '1.0'
  '2.0'
  '4.0'
])
param workerCpuCores string = '1.0'

@minValue(0)
@maxValue(9)
@description('gzip level for what is not already compressed: GZIP_LEVEL.')
param gzipLevel int = 1

@minValue(1)
@maxValue(256)
@description('Staged block size in MiB: UPLOAD_BLOCK_SIZE_MIB. Memory use is about this x (uploadConcurrency + 1).')
param uploadBlockSizeMiB int = 4

@minValue(1)
@maxValue(32)
@description('Blocks uploaded in parallel: UPLOAD_CONCURRENCY.')
param uploadConcurrency int = 8

@minValue(1)
@maxValue(64)
@description('Registry GETs in flight while blobs are read ahead: REGISTRY_CONCURRENCY.')
param registryConcurrency int = 8

@description('Requests per minute a run sends the source registry: REGISTRY_READS_PER_MINUTE (0: no budget). The listing uses it whole; each job execution gets it / maxParallel. Default: half of ACR Standard\'s ~3,000 read operations a minute.')
@minValue(0)
param registryReadsPerMinute int = 1500

@description('Seconds a blob read\'s connection may bring no bytes before it is retried or resumed with Range: REGISTRY_IDLE_TIMEOUT_SECONDS.')
@minValue(1)
@maxValue(3600)
param registryIdleTimeoutSeconds int = 120

@description('Levels of referrers (signatures, SBOMs, attestations, and theirs) archived with an image, and followed by a run\'s refreshReferrers probes: REFERRERS_MAX_DEPTH (0: none).')
@minValue(0)
@maxValue(8)
param referrersMaxDepth int = 3

@description('Referrers one image may have in all (more fail the image): REFERRERS_MAX_COUNT.')
@minValue(1)
@maxValue(1000)
param referrersMaxCount int = 100

@description('Registry requests one refreshReferrers run\'s probes of archived images may make in all: REFRESH_REFERRERS_MAX_REQUESTS.')
@minValue(1)
param refreshReferrersMaxRequests int = 10000

@description('Nightly runs also archive referrers that arrived since an image was archived: NIGHTLY_REFRESH_REFERRERS.')
param nightlyRefreshReferrers bool = false

@description('Archives and supplements written before blob index tags that each archive run indexes at most: CATALOG_BACKFILL_MAX_BLOBS (0: no backfill).')
@minValue(0)
@maxValue(1000000)
param catalogBackfillMaxBlobs int = 5000

@description('The list prices the cost report estimates with (COST_* settings; README: cost report). The defaults are East US, LRS, USD, read 2026-12-03: set your region\'s, redundancy\'s and currency\'s from the Azure Blob Storage and Container Registry price pages, with the date you read them. Prices are decimal strings.')
param costPrices {
  currency: string
  region: string
  @description('LRS, GRS or RA-GRS (Archive tier exists on these only).')
  redundancy: string
  @description('YYYY-MM-DD')
  readOn: string
  archivePerGbMonth: string
  retrievalPerGbStandard: string
  retrievalPerGbHigh: string
  archiveReadsPer10kStandard: string
  archiveReadsPer10kHigh: string
  registryStoragePerGbDay: string
} = {
  currency: 'USD'
  region: 'eastus'
  redundancy: 'LRS'
  readOn: '2026-12-03'
  archivePerGbMonth: '0.00099'
  retrievalPerGbStandard: '0.02'
  retrievalPerGbHigh: '0.1'
  archiveReadsPer10kStandard: '5'
  archiveReadsPer10kHigh: '50'
  registryStoragePerGbDay: '0.003'
}

@description('Archive runs may purge: brown out, then delete from the source registry, images archived and verified (PURGE_ENABLED). Also grants the Function App\'s identity delete and metadata-write on the source registry (a custom role); off: no such permission.')
param purgeEnabled bool = false

@description('How long a browned-out image stays unreadable before a later run deletes it, ISO 8601 (PURGE_GRACE; PT0S: at once).')
param purgeGrace string = 'P14D'

@description('Images one run may purge at most: PURGE_MAX_IMAGES.')
@minValue(1)
@maxValue(100000)
param purgeMaxImages int = 100

@description('The Durable Functions backend: azureStorage (queues and tables in the Function App\'s own storage account, the default) or durableTaskScheduler (a Durable Task Scheduler and task hub, identity-based; higher throughput and a dashboard).')
@allowed(['azureStorage', 'durableTaskScheduler'])
param durableBackend string = 'azureStorage'

@description('The Durable Task Scheduler\'s SKU when durableBackend is durableTaskScheduler.')
@allowed(['Consumption', 'Dedicated'])
param durableTaskSchedulerSku string = 'Consumption'

@description('Repositories per listing page (one activity each): LISTING_PAGE_REPOSITORIES.')
@minValue(1)
@maxValue(1000)
param listingPageRepositories int = 100

@description('Repositories of a listing page listed at once: LISTING_CONCURRENCY.')
@minValue(1)
@maxValue(64)
param listingConcurrency int = 8

@minValue(0)
@maxValue(4096)
@description('MiB of blobs read ahead of the archive: PREFETCH_MIB (memory ≈ this + one 4 MiB part).')
param prefetchMiB int = 24

// ---- names ----------------------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var registrySubscriptionId = empty(sourceRegistrySubscriptionId) ? subscription().subscriptionId : sourceRegistrySubscriptionId
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// ---- modules --------------------------------------------------------------------------------------------------------

module identities 'app/identities.bicep' = {
  name: 'identities'
  scope: rg
  params: {
    location: location
    tags: tags
    functionIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}func-${resourceToken}'
    jobIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}job-${resourceToken}'
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${resourceToken}'
  }
}

module archiveStorage 'app/archive-storage.bicep' = {
  name: 'archive-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: !empty(archiveStorageAccountName) ? archiveStorageAccountName : '${abbrs.storageStorageAccounts}arc${resourceToken}'
    skuName: archiveStorageSku
    containerName: archiveContainerName
    deleteArchives: deleteArchives
    archiveRetentionDays: archiveRetentionDays
    runRecordRetentionDays: runRecordRetentionDays
    softDeleteRetentionDays: softDeleteRetentionDays
  }
}

// Role assignments on the source registry live where the registry lives (possibly another resource group or subscription).
module registryAccess 'app/registry-access.bicep' = {
  name: 'registry-access-${resourceToken}'
  scope: resourceGroup(registrySubscriptionId, sourceRegistryResourceGroupName)
  params: {
    registryName: sourceRegistryName
    functionPrincipalId: identities.outputs.functionPrincipalId
    jobPrincipalId: identities.outputs.jobPrincipalId
    useAbacRoles: sourceRegistryPermissionsMode == 'AbacRepositoryPermissions'
    purgeEnabled: purgeEnabled
  }
}

// Each restore target: AcrPush for the job, AcrPull for the app, in that registry's resource group.
module restoreTargetAccess 'app/restore-target-access.bicep' = [for (targetName, i) in restoreTargetRegistryNames: {
  name: 'restore-target-access-${i}-${resourceToken}'
  scope: resourceGroup(registrySubscriptionId, empty(restoreTargetRegistriesResourceGroupName) ? sourceRegistryResourceGroupName : restoreTargetRegistriesResourceGroupName)
  params: {
    registryName: targetName
    functionPrincipalId: identities.outputs.functionPrincipalId
    jobPrincipalId: identities.outputs.jobPrincipalId
  }
}]
var restoreTargetLoginServers = join(
  map(restoreTargetRegistryNames, targetName => '${toLower(targetName)}${environment().suffixes.acrLoginServer}'),
  ','
)

module workerJob 'app/worker-job.bicep' = {
  name: 'worker-job'
  scope: rg
  params: {
    location: location
    tags: tags
    managedEnvironmentName: '${abbrs.appManagedEnvironments}${resourceToken}'
    jobName: '${abbrs.appJobs}${resourceToken}'
    workspaceId: monitoring.outputs.workspaceId
    identityId: identities.outputs.jobIdentityId
    identityClientId: identities.outputs.jobClientId
    registryLoginServer: registryAccess.outputs.loginServer
    image: workerImage
    cpuCores: workerCpuCores
    archiveBlobEndpoint: archiveStorage.outputs.blobEndpoint
    gzipLevel: gzipLevel
    uploadBlockSizeMiB: uploadBlockSizeMiB
    uploadConcurrency: uploadConcurrency
    registryConcurrency: registryConcurrency
    registryReadsPerMinute: registryReadsPerMinute
    registryIdleTimeoutSeconds: registryIdleTimeoutSeconds
    prefetchMiB: prefetchMiB
    referrersMaxDepth: referrersMaxDepth
    referrersMaxCount: referrersMaxCount
    // A backstop behind the app's own timeout (JOB_TIMEOUT_MINUTES), which stops executions first.
    replicaTimeoutSeconds: min((jobTimeoutMinutes + 10) * 60, 86400)
    registryUsername: registryUsername
    registryPassword: registryPassword
    archiveContainerName: archiveStorage.outputs.containerName
    restoreTargetRegistries: restoreTargetLoginServers
  }
}

var useDurableTaskScheduler = durableBackend == 'durableTaskScheduler'

module durableTaskScheduler 'app/durable-task-scheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'dts-${resourceToken}'
    taskHubName: taskHubName
    skuName: durableTaskSchedulerSku
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    hostStorageName: '${abbrs.storageStorageAccounts}fn${resourceToken}'
    deploymentContainerName: 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
    appInsightsName: monitoring.outputs.appInsightsName
    identityId: identities.outputs.functionIdentityId
    identityClientId: identities.outputs.functionClientId
    archiveBlobEndpoint: archiveStorage.outputs.blobEndpoint
    archiveContainerName: archiveStorage.outputs.containerName
    jobResourceId: workerJob.outputs.id
    jobContainerName: workerJob.outputs.containerName
    azureSubscriptionId: registrySubscriptionId
    taskHubName: taskHubName
    nightlySchedule: nightlySchedule
    nightlyRegistries: enableNightlyRun ? registryAccess.outputs.loginServer : ''
    allowedRegistries: registryAccess.outputs.loginServer
    durableStatusUrls: exposeDurableStatusUrls
    maxAttempts: maxAttempts
    jobTimeoutMinutes: jobTimeoutMinutes
    pollMaxIntervalSeconds: pollMaxIntervalSeconds
    defaultMaxParallel: defaultMaxParallel
    restoreTargetRegistries: restoreTargetLoginServers
    rehydrationTimeoutMinutesStandard: rehydrationTimeoutMinutesStandard
    rehydrationTimeoutMinutesHigh: rehydrationTimeoutMinutesHigh
    rehydrationPollMaxSeconds: rehydrationPollMaxSeconds
    stagingMaxAgeMinutes: stagingMaxAgeMinutes
    registryReadsPerMinute: registryReadsPerMinute
    registryIdleTimeoutSeconds: registryIdleTimeoutSeconds
    listingPageRepositories: listingPageRepositories
    listingConcurrency: listingConcurrency
    referrersMaxDepth: referrersMaxDepth
    referrersMaxCount: referrersMaxCount
    refreshReferrersMaxRequests: refreshReferrersMaxRequests
    nightlyRefreshReferrers: nightlyRefreshReferrers
    catalogBackfillMaxBlobs: catalogBackfillMaxBlobs
    costPrices: costPrices
    purgeEnabled: purgeEnabled
    purgeGrace: purgeGrace
    purgeMaxImages: purgeMaxImages
    durableTaskSchedulerEndpoint: useDurableTaskScheduler ? durableTaskScheduler!.outputs.endpoint : ''
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    functionPrincipalId: identities.outputs.functionPrincipalId
    jobPrincipalId: identities.outputs.jobPrincipalId
    jobName: workerJob.outputs.name
    archiveStorageAccountName: archiveStorage.outputs.name
    archiveContainerName: archiveStorage.outputs.containerName
    hostStorageAccountName: functionApp.outputs.hostStorageName
    appInsightsName: monitoring.outputs.appInsightsName
    useDurableTaskScheduler: useDurableTaskScheduler
    durableTaskSchedulerName: useDurableTaskScheduler ? durableTaskScheduler!.outputs.schedulerName : ''
    taskHubName: taskHubName
  }
}

// ---- outputs (azd stores them in the environment) -------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_HOSTNAME string = functionApp.outputs.defaultHostName
output ARCHIVE_STORAGE_ACCOUNT_NAME string = archiveStorage.outputs.name
output ARCHIVE_STORAGE_BLOB_ENDPOINT string = archiveStorage.outputs.blobEndpoint
output ARCHIVE_CONTAINER_NAME string = archiveStorage.outputs.containerName
output WORKER_JOB_NAME string = workerJob.outputs.name
output WORKER_JOB_RESOURCE_ID string = workerJob.outputs.id
output WORKER_CONTAINER_NAME string = workerJob.outputs.containerName
output SOURCE_REGISTRY_LOGIN_SERVER string = registryAccess.outputs.loginServer
output LOG_ANALYTICS_WORKSPACE_CUSTOMER_ID string = monitoring.outputs.workspaceCustomerId
output JOB_OPERATOR_ROLE_ID string = rbac.outputs.jobOperatorRoleId
