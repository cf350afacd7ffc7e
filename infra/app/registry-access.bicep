// What the two identities may do on the existing source registry. Deployed into the registry's own resource group.
//   Function App: list repositories and tags (the /v2/_catalog, /v2/<repo>/tags/list and /acr/v1 listing endpoints,
//                 with an Entra ID token exchanged for a registry token) and resolve a registry name or resource id to
//                 its login server through Azure Resource Manager.
//   Worker job:   pull manifests and blobs of the images it archives, and its own image.
//   Purge (purgeEnabled only): the Function App deletes manifests and tags it archived and verified, and sets their
//                 changeable attributes (the brown-out before a delete): a custom role with ACR's content/delete and
//                 metadata/write data actions (and the legacy mode's artifacts/delete), nothing else; no role otherwise.
// In the registry's LegacyRegistryPermissions mode AcrPull is what grants pull and catalog listing with Entra tokens.
// In AbacRepositoryPermissions mode AcrPull is not honoured: repository reads need Container Registry Repository
// Reader, and listing the catalog needs Container Registry Repository Catalog Lister.
param registryName string
param functionPrincipalId string
param jobPrincipalId string
param useAbacRoles bool
@description('PURGE_ENABLED: the Function App may brown out and delete images (issue 23); only then does it get the purger role.')
param purgeEnabled bool = false

var roles = {
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader
  repositoryReader: 'b93aa761-3e63-49ed-ac28-beffa264f7ac' // Container Registry Repository Reader
  catalogLister: 'bfdb9389-c9a5-478a-bb2f-ba9ca092c3c7' // Container Registry Repository Catalog Lister
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

// Function App: registry metadata through Resource Manager (name or resource id -> login server).
resource functionRegistryReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, functionPrincipalId, roles.reader)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Function App: list repositories and tags over the registry data plane.
resource functionAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!useAbacRoles) {
  name: guid(registry.id, functionPrincipalId, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionRepositoryReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useAbacRoles) {
  name: guid(registry.id, functionPrincipalId, roles.repositoryReader)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.repositoryReader)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionCatalogLister 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useAbacRoles) {
  name: guid(registry.id, functionPrincipalId, roles.catalogLister)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.catalogLister)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Worker job: pull the image being archived, and the worker image itself.
resource jobAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!useAbacRoles) {
  name: guid(registry.id, jobPrincipalId, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: jobPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource jobRepositoryReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useAbacRoles) {
  name: guid(registry.id, jobPrincipalId, roles.repositoryReader)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.repositoryReader)
    principalId: jobPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// No built-in role deletes and sets attributes without also pushing (Container Registry Repository Contributor writes
// content; AcrPush overwrites tags): this one deletes manifests and tags and changes their changeable attributes, and
// nothing else. The ABAC repository-permissions mode reads its data actions; the legacy mode reads artifacts/delete
// (AcrDelete's one action) and documents attribute changes only with AcrPush, which is not given: there a brown-out may
// be refused, and the image is kept. Assignable in the registry's resource group only, assigned on the one registry.
resource purgerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (purgeEnabled) {
  name: guid(resourceGroup().id, 'acr-cold-archive-purger')
  properties: {
    roleName: 'ACR Cold Archive purger ${uniqueString(resourceGroup().id)}'
    description: 'Delete manifests and tags of container registries, and change their changeable attributes (lock, brown-out). No push, no pull, no registry configuration.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.ContainerRegistry/registries/artifacts/delete'
        ]
        notActions: []
        dataActions: [
          'Microsoft.ContainerRegistry/registries/repositories/content/delete'
          'Microsoft.ContainerRegistry/registries/repositories/metadata/write'
        ]
        notDataActions: []
      }
    ]
  }
}

// Function App: the purge's brown-out, cancel and delete (src/purge/purgeImage.ts), only with purgeEnabled.
resource functionPurger 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (purgeEnabled) {
  name: guid(registry.id, functionPrincipalId, 'acr-cold-archive-purger')
  scope: registry
  properties: {
    // Custom roles are subscription-level objects whatever the deployment scope: reference it that way.
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', purgerRole.name)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = registry.id
output loginServer string = registry.properties.loginServer
