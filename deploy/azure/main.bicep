// streamhunt's Azure resources, in one resource group:
//
//   - Event Hubs namespace, one hub per Entra ID sign-in category (named as the
//     tenant diagnostic setting names them) and streamhunt's consumer group;
//   - the authorization rule the diagnostic setting sends with
//     (diagnostic-setting.bicep, deployed at tenant scope, uses it);
//   - storage account with the checkpoint, dead-letter and findings containers;
//   - Log Analytics workspace (optional), data collection endpoint, and the
//     custom table StreamhuntFindings_CL with its data collection rule (the
//     template in ../loganalytics, shared with the loganalytics sink's tests);
//   - a user-assigned managed identity with only the roles it needs;
//   - optionally an Azure Container Apps app that runs streamhunt with a KEDA
//     Event Hubs scale rule, and federated credentials for AKS workload identity
//     (streamhunt's service account and KEDA's operator);
//   - optionally private endpoints for Event Hubs and Blob Storage.
//
// Build and deploy (docs/deploy.md):
//   az bicep build --file deploy/azure/main.bicep
//   az deployment group create -g RG --template-file deploy/azure/main.bicep --parameters prefix=contoso

targetScope = 'resourceGroup'

@description('Short lower-case prefix for resource names.')
@minLength(3)
@maxLength(11)
param prefix string = 'streamhunt'

@description('Region of every resource.')
param location string = resourceGroup().location

@description('Event Hubs namespace name (globally unique).')
param eventHubsNamespaceName string = '${prefix}-${uniqueString(resourceGroup().id)}'

@description('Event Hubs throughput units (Standard tier, 1-40). One unit takes 1 MB/s or 1000 events/s in.')
@minValue(1)
@maxValue(40)
param eventHubsCapacity int = 2

@description('The sign-in categories to stream. The tenant diagnostic setting writes each to the hub insights-logs-<category in lower case>.')
param signInCategories array = [
  'SignInLogs'
  'NonInteractiveUserSignInLogs'
  'ServicePrincipalSignInLogs'
  'ManagedIdentitySignInLogs'
]

@description('Partitions per hub: the most replicas that can share a hub. Standard tier allows up to 32; it cannot be lowered later.')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Days a hub keeps events: how far back a replay can go.')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int = 3

@description('Consumer group streamhunt reads with. Lower case, so that KEDA finds the checkpoints (it lower-cases the name).')
param consumerGroupName string = 'streamhunt'

@description('Storage account for checkpoints, dead letters and findings (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string = take('${prefix}${uniqueString(resourceGroup().id)}', 24)

@description('Blob container for checkpoints and partition ownership.')
param checkpointContainerName string = 'streamhunt-checkpoints'

@description('Blob container for dead letters (bodies that could not be decoded).')
param deadLetterContainerName string = 'streamhunt-deadletter'

@description('Blob container for findings (the blob sink).')
param findingsContainerName string = 'streamhunt-findings'

@description('Log Analytics workspace that receives the findings table. Created when createWorkspace is true; otherwise it must exist in this resource group (your Sentinel workspace, for example).')
param workspaceName string = '${prefix}-law'

@description('Create the Log Analytics workspace.')
param createWorkspace bool = true

@description('Days the findings table keeps rows.')
@minValue(4)
@maxValue(730)
param findingsRetentionInDays int = 90

@description('Run streamhunt on Azure Container Apps. Set false to run it on Kubernetes (deploy/kubernetes) with the same identity.')
param deployContainerApp bool = true

@description('Container image of streamhunt.')
param image string = 'ghcr.io/streamhunt/streamhunt:latest'

@description('Fewest replicas; keep at least 1, or nothing notices a category going silent.')
@minValue(1)
param minReplicas int = 1

@description('Most replicas; more than the partition count of a hub never helps that hub.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 8

@description('Unprocessed events per replica that make KEDA add one (its unprocessedEventThreshold).')
param unprocessedEventThreshold int = 64

@description('OIDC issuer URL of an AKS cluster running streamhunt with workload identity (az aks show --query oidcIssuerProfile.issuerUrl). Empty: no federated credential.')
param kubernetesOidcIssuerUrl string = ''

@description('Kubernetes namespace and service account of streamhunt (deploy/kubernetes/base).')
param kubernetesServiceAccount string = 'system:serviceaccount:streamhunt:streamhunt'

@description('Service account of the KEDA operator, which reads the hubs and checkpoints with the same identity (TriggerAuthentication podIdentity identityId).')
param kedaServiceAccount string = 'system:serviceaccount:keda:keda-operator'

@description('Reach Event Hubs and Blob Storage only through private endpoints in privateEndpointSubnetId; public network access is disabled.')
param enablePrivateEndpoints bool = false

@description('Subnet for the private endpoints (needed when enablePrivateEndpoints).')
param privateEndpointSubnetId string = ''

@description('Virtual network the private DNS zones are linked to (the one the consumers run in).')
param virtualNetworkId string = ''

@description('Subnet for the Container Apps environment (needed with private endpoints, so that the app reaches them). Empty: no VNet integration.')
param containerAppsSubnetId string = ''

var hubNames = [for c in signInCategories: 'insights-logs-${toLower(c)}']
var publicNetworkAccess = enablePrivateEndpoints ? 'Disabled' : 'Enabled'

// Built-in role definitions (ids are the same in every tenant).
var roles = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---------------------------------------------------------------- identity

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-identity'
  location: location
}

resource federatedCredential 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = if (!empty(kubernetesOidcIssuerUrl)) {
  parent: identity
  name: 'kubernetes'
  properties: {
    issuer: kubernetesOidcIssuerUrl
    subject: kubernetesServiceAccount
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

// KEDA's operator exchanges its own service account token for the identity.
// Credentials of one identity cannot be written concurrently: hence dependsOn.
resource kedaFederatedCredential 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = if (!empty(kubernetesOidcIssuerUrl)) {
  parent: identity
  name: 'keda-operator'
  properties: {
    issuer: kubernetesOidcIssuerUrl
    subject: kedaServiceAccount
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
  dependsOn: [
    federatedCredential
  ]
}

// ---------------------------------------------------------------- Event Hubs

resource eventHubsNamespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: eventHubsNamespaceName
  location: location
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: eventHubsCapacity
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess
    // The tenant diagnostic setting authenticates with a SAS rule, so local
    // authentication stays on; streamhunt itself uses its managed identity.
    disableLocalAuth: false
  }
}

resource hubs 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = [for name in hubNames: {
  parent: eventHubsNamespace
  name: name
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
  }
}]

resource consumerGroups 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = [for (name, i) in hubNames: {
  parent: hubs[i]
  name: consumerGroupName
  properties: {}
}]

// What the tenant diagnostic setting sends with. Azure Monitor requires
// Manage, Send and Listen on a namespace-level rule when it writes one hub per
// category.
resource diagnosticsRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: eventHubsNamespace
  name: 'entra-diagnostic-setting'
  properties: {
    rights: [
      'Listen'
      'Manage'
      'Send'
    ]
  }
}

// ---------------------------------------------------------------- Storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    // Entra ID only: streamhunt and KEDA use the managed identity.
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Soft delete and versioning make listing checkpoints slower with every
    // write (one checkpoint update per partition every few seconds).
    deleteRetentionPolicy: {
      enabled: false
    }
    isVersioningEnabled: false
  }
}

resource checkpointContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: checkpointContainerName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
}

resource findingsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: findingsContainerName
}

// ---------------------------------------------------------------- Log Analytics

resource newWorkspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = if (createWorkspace) {
  name: workspaceName
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource dataCollectionEndpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: '${prefix}-dce'
  location: location
  properties: {
    networkAcls: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

// The findings table and its data collection rule: the same template the
// loganalytics sink is tested against.
module findingsTable '../loganalytics/azuredeploy.json' = {
  name: 'streamhunt-findings-table'
  params: {
    workspaceName: workspaceName
    dataCollectionEndpointId: dataCollectionEndpoint.id
    dataCollectionRuleName: '${prefix}-findings-dcr'
    location: location
    retentionInDays: findingsRetentionInDays
  }
  dependsOn: [
    newWorkspace
  ]
}

resource findingsRule 'Microsoft.Insights/dataCollectionRules@2023-03-11' existing = {
  name: '${prefix}-findings-dcr'
}

// ---------------------------------------------------------------- roles
// Each role on the narrowest scope that works: receive on the namespace (its
// hubs), blob data on each container, publishing on the one rule.

resource receiverRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: eventHubsNamespace
  name: guid(eventHubsNamespace.id, identity.id, roles.eventHubsDataReceiver)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource checkpointRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: checkpointContainer
  name: guid(checkpointContainer.id, identity.id, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deadLetterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deadLetterContainer
  name: guid(deadLetterContainer.id, identity.id, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource findingsBlobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: findingsContainer
  name: guid(findingsContainer.id, identity.id, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource publisherRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: findingsRule
  name: guid(resourceGroup().id, '${prefix}-findings-dcr', identity.id, roles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    findingsTable
  ]
}

// ---------------------------------------------------------------- private endpoints

var privateLinks = [
  {
    name: 'eventhubs'
    id: eventHubsNamespace.id
    groupId: 'namespace'
    zone: 'privatelink.servicebus.windows.net'
  }
  {
    name: 'blob'
    id: storage.id
    groupId: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
]

resource privateDnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for link in privateLinks: if (enablePrivateEndpoints) {
  name: link.zone
  location: 'global'
}]

resource privateDnsLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (link, i) in privateLinks: if (enablePrivateEndpoints) {
  parent: privateDnsZones[i]
  name: '${prefix}-${link.name}'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [for link in privateLinks: if (enablePrivateEndpoints) {
  name: '${prefix}-${link.name}-pe'
  location: location
  properties: {
    subnet: {
      id: privateEndpointSubnetId
    }
    privateLinkServiceConnections: [
      {
        name: link.name
        properties: {
          privateLinkServiceId: link.id
          groupIds: [
            link.groupId
          ]
        }
      }
    ]
  }
}]

resource privateDnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [for (link, i) in privateLinks: if (enablePrivateEndpoints) {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: link.name
        properties: {
          privateDnsZoneId: privateDnsZones[i].id
        }
      }
    ]
  }
}]

// ---------------------------------------------------------------- Container Apps

resource containerAppsEnvironment 'Microsoft.App/managedEnvironments@2025-01-01' = if (deployContainerApp) {
  name: '${prefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: empty(containerAppsSubnetId) ? null : {
      infrastructureSubnetId: containerAppsSubnetId
      internal: true
    }
  }
  dependsOn: [
    newWorkspace
  ]
}

// The run configuration (config.yaml beside this file) names everything it
// needs through ${ENV} placeholders, filled from the container's environment.
var runConfig = loadTextContent('config.yaml')

resource containerApp 'Microsoft.App/containerApps@2025-01-01' = if (deployContainerApp) {
  name: prefix
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: containerAppsEnvironment.id
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: [
        {
          name: 'run-config'
          value: runConfig
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'streamhunt'
          image: image
          args: [
            'run'
            '--config'
            '/etc/streamhunt/config.yaml'
          ]
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          env: [
            {
              name: 'AZURE_CLIENT_ID'
              value: identity.properties.clientId
            }
            {
              name: 'EVENTHUBS_NAMESPACE'
              value: '${eventHubsNamespace.name}.servicebus.windows.net'
            }
            {
              name: 'CONSUMER_GROUP'
              value: consumerGroupName
            }
            {
              name: 'STORAGE_BLOB_ENDPOINT'
              value: storage.properties.primaryEndpoints.blob
            }
            {
              name: 'CHECKPOINT_CONTAINER'
              value: checkpointContainerName
            }
            {
              name: 'DEADLETTER_CONTAINER'
              value: deadLetterContainerName
            }
            {
              name: 'FINDINGS_CONTAINER'
              value: findingsContainerName
            }
            {
              name: 'LOGS_INGESTION_ENDPOINT'
              value: dataCollectionEndpoint.properties.logsIngestion.endpoint
            }
            {
              name: 'FINDINGS_DCR_IMMUTABLE_ID'
              value: findingsTable.outputs.dataCollectionRuleImmutableId
            }
          ]
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 9090
              }
              periodSeconds: 2
              failureThreshold: 30
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 9090
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 9090
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
          volumeMounts: [
            {
              volumeName: 'config'
              mountPath: '/etc/streamhunt'
            }
          ]
        }
      ]
      volumes: [
        {
          name: 'config'
          storageType: 'Secret'
          secrets: [
            {
              secretRef: 'run-config'
              path: 'config.yaml'
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [for (hub, i) in hubNames: {
          name: 'hub-${i}'
          custom: {
            type: 'azure-eventhub'
            // KEDA authenticates with the app's managed identity.
            identity: identity.id
            metadata: {
              eventHubNamespace: eventHubsNamespace.name
              eventHubName: hub
              consumerGroup: consumerGroupName
              storageAccountName: storage.name
              blobContainer: checkpointContainerName
              checkpointStrategy: 'blobMetadata'
              unprocessedEventThreshold: string(unprocessedEventThreshold)
              activationUnprocessedEventThreshold: '1'
            }
          }
        }]
      }
    }
  }
  dependsOn: [
    receiverRole
    checkpointRole
    deadLetterRole
    findingsBlobRole
    publisherRole
  ]
}

// ---------------------------------------------------------------- outputs

@description('Event Hubs namespace name (KEDA eventHubNamespace).')
output eventHubsNamespace string = eventHubsNamespace.name

@description('Event Hubs namespace host (run config source.namespace).')
output eventHubsNamespaceHost string = '${eventHubsNamespace.name}.servicebus.windows.net'

@description('The hubs the diagnostic setting writes to (run config source.hubs).')
output hubNames array = hubNames

@description('Resource id of the authorization rule for diagnostic-setting.bicep.')
output diagnosticsAuthorizationRuleId string = diagnosticsRule.id

@description('Storage account name (KEDA storageAccountName).')
output storageAccountName string = storage.name

@description('Blob endpoint (run config checkpoints.accountUrl, deadLetter.accountUrl).')
output storageBlobEndpoint string = storage.properties.primaryEndpoints.blob

@description('Client id of the managed identity (Kubernetes service account annotation, KEDA identityId).')
output managedIdentityClientId string = identity.properties.clientId

@description('Logs ingestion endpoint of the data collection endpoint (loganalytics sink endpoint).')
output logsIngestionEndpoint string = dataCollectionEndpoint.properties.logsIngestion.endpoint

@description('Immutable id of the findings data collection rule (loganalytics sink ruleId).')
output findingsRuleImmutableId string = findingsTable.outputs.dataCollectionRuleImmutableId
