// The Durable Task Scheduler backend (durableBackend = 'durableTaskScheduler' in main.bicep): a scheduler and the one
// task hub the app's orchestrations run in (named TASKHUB_NAME, which host.json's hubName reads). Access is by identity
// only: the Function App's identity gets Durable Task Data Contributor on this task hub (app/rbac.bicep); there is no
// key. The Function App selects this backend through its app settings (app/function-app.bicep), not host.json.
param location string
param tags { *: string }
param name string
param taskHubName string

@description('Consumption (pay per use, bursty nightly runs) or Dedicated (reserved capacity units).')
@allowed(['Consumption', 'Dedicated'])
param skuName string = 'Consumption'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
    }
    // An empty list denies every caller; access is still by Entra ID and the task hub's role assignment only.
    ipAllowlist: ['0.0.0.0/0']
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output schedulerName string = scheduler.name
output taskHubName string = taskHub.name
output endpoint string = scheduler.properties.endpoint
