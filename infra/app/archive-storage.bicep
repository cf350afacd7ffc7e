// The archive account: Archive-tier archives, Cool sidecars, tag markers and run records (runs/<runId>/…), all in one
// container (ARCHIVE_CONTAINER). Entra ID only: shared key access is off, so no key or SAS can reach it.
param location string
param tags { *: string }
param name string

@description('The Archive tier needs LRS, GRS or RA-GRS: ZRS, GZRS and RA-GZRS accounts cannot hold Archive blobs.')
@allowed([
  'Standard_LRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string

param containerName string

@description('Whether the lifecycle rule may delete archives at all.')
param deleteArchives bool

@minValue(180)
@description('Only used when deleteArchives is true; never below the Archive tier\'s 180-day minimum.')
param archiveRetentionDays int

@minValue(0)
@description('Run summaries and worker results under runs/; 0 keeps them.')
param runRecordRetentionDays int

@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    // Online default tier for sidecars' neighbours (run records); archives are written straight into Archive.
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

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

// Lifecycle rules that are safe with the Archive tier: nothing is ever re-tiered (sidecars must stay readable, archives
// are written in Archive already), run records are online-tier blobs, and archives are deleted only when asked, and
// then never before the 180 days the Archive tier bills anyway.
var runRecordRule = {
  enabled: true
  name: 'expireRunRecords'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${containerName}/runs/'
      ]
    }
    actions: {
      baseBlob: {
        delete: {
          daysAfterCreationGreaterThan: runRecordRetentionDays
        }
      }
    }
  }
}

var archiveRule = {
  enabled: true
  name: 'expireArchives'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${containerName}/'
      ]
    }
    actions: {
      baseBlob: {
        delete: {
          daysAfterCreationGreaterThan: max(archiveRetentionDays, 180)
        }
      }
    }
  }
}

// A backstop for the app's nightly staging sweep: a staging copy (a restore's Hot copy of an archive) not written for
// 14 days is deleted. Modification, not creation: a restore marks a copy it uses by rewriting its metadata, and the
// longest a restore holds a copy unwritten is its job phase (10 attempts × 24 h at the settings' bounds). Claims
// (`staging-claims/`) are 0 bytes and do not match `staging/`.
var stagingRule = {
  enabled: true
  name: 'expireStagingCopies'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${containerName}/staging/'
      ]
    }
    actions: {
      baseBlob: {
        delete: {
          daysAfterModificationGreaterThan: 14
        }
      }
    }
  }
}

var runRecordRules = runRecordRetentionDays > 0 ? [runRecordRule] : []
var archiveRules = deleteArchives ? [archiveRule] : []
var lifecycleRules = concat(runRecordRules, archiveRules, [stagingRule])

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (!empty(lifecycleRules)) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: lifecycleRules
    }
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output containerName string = container.name
