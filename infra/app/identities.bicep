// The two user-assigned identities: one for the Function App, one for the worker job. Each gets only its own roles
// (app/rbac.bicep, app/registry-access.bicep); neither can reach what the other is allowed to.
param location string
param tags { *: string }
param functionIdentityName string
param jobIdentityName string

resource functionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: functionIdentityName
  location: location
  tags: tags
}

resource jobIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: jobIdentityName
  location: location
  tags: tags
}

output functionIdentityId string = functionIdentity.id
output functionClientId string = functionIdentity.properties.clientId
output functionPrincipalId string = functionIdentity.properties.principalId
output jobIdentityId string = jobIdentity.id
output jobClientId string = jobIdentity.properties.clientId
output jobPrincipalId string = jobIdentity.properties.principalId
