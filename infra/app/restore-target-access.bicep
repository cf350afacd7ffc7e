// What the two identities may do on ONE registry a deployment names as a restore target (RESTORE_TARGET_REGISTRIES;
// none by default, and then every restore is refused). Deployed into that registry's resource group.
//   Worker job:   push the blobs, manifests and tags of the images it restores (AcrPush; it pulls too, to skip blobs
//                 the target already has and to read back the root digest).
//   Function App: read a manifest by digest (is the image already there? then no job starts) and read back the
//                 digest after a restore (AcrPull). It never pushes.
// Registries in the ABAC repository-permissions mode honour neither role: they are not supported as restore targets.
param registryName string
param functionPrincipalId string
param jobPrincipalId string

var roles = {
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec' // AcrPush
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull
}

resource targetRegistry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource jobAcrPush 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(targetRegistry.id, jobPrincipalId, roles.acrPush)
  scope: targetRegistry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPush)
    principalId: jobPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource functionAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(targetRegistry.id, functionPrincipalId, roles.acrPull)
  scope: targetRegistry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output loginServer string = targetRegistry.properties.loginServer
