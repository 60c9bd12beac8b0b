// The Entra ID (tenant) diagnostic setting that streams the sign-in log
// categories to Event Hubs. Without eventHubName, Azure Monitor writes each
// category to its own hub, insights-logs-<category in lower case>: the hubs
// main.bicep creates.
//
// It is a tenant-scope resource: deploy it with an account that may write
// microsoft.aadiam at the tenant root (a Global Administrator or Security
// Administrator with access elevated to the root scope):
//   az deployment tenant create --location westeurope \
//     --template-file deploy/azure/diagnostic-setting.bicep \
//     --parameters eventHubAuthorizationRuleId=<main.bicep output diagnosticsAuthorizationRuleId>
// Streaming the non-interactive, service principal and managed identity
// categories needs a Microsoft Entra ID P1 or P2 licence.

targetScope = 'tenant'

@description('Name of the diagnostic setting, as shown in Entra ID > Monitoring > Diagnostic settings.')
param name string = 'streamhunt'

@description('Resource id of the Event Hubs namespace authorization rule (main.bicep output diagnosticsAuthorizationRuleId).')
param eventHubAuthorizationRuleId string

@description('The sign-in categories to stream; keep in step with main.bicep signInCategories.')
param signInCategories array = [
  'SignInLogs'
  'NonInteractiveUserSignInLogs'
  'ServicePrincipalSignInLogs'
  'ManagedIdentitySignInLogs'
]

// The published type lists only AuditLogs and SignInLogs as categories; the
// service accepts every Entra ID log category.
resource signInDiagnostics 'microsoft.aadiam/diagnosticSettings@2017-04-01' = {
  name: name
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    logs: [for category in signInCategories: {
      category: category
      enabled: true
    }]
  }
}

@description('The hubs the categories go to.')
output hubNames array = [for category in signInCategories: 'insights-logs-${toLower(category)}']
