package table

import "strings"

// The Log Analytics sign-in tables, column for column as Microsoft's schema
// gives them (research/column-mapping.md), without the columns a stream
// cannot know: the workspace TenantId, _BilledSize and _IsBillable.
var (
	// SigninLogs holds interactive user sign-ins (category SignInLogs).
	SigninLogs = NewTable("SigninLogs", signinLogsColumns())
	// AADNonInteractiveUserSignInLogs holds non-interactive user sign-ins.
	AADNonInteractiveUserSignInLogs = NewTable("AADNonInteractiveUserSignInLogs", nonInteractiveColumns())
	// AADServicePrincipalSignInLogs holds service-principal sign-ins.
	AADServicePrincipalSignInLogs = NewTable("AADServicePrincipalSignInLogs", servicePrincipalColumns())
	// AADManagedIdentitySignInLogs holds managed-identity sign-ins.
	AADManagedIdentitySignInLogs = NewTable("AADManagedIdentitySignInLogs", managedIdentityColumns())
	// ADFSSignInLogs holds AD FS sign-ins reported through Connect Health.
	ADFSSignInLogs = NewTable("ADFSSignInLogs", adfsColumns())
)

// Defender XDR's view of user sign-ins (research/aadsignineventsbeta.md). Both
// names carry the union of the AADSignInEventsBeta and EntraIdSignInEvents
// columns, so that queries written for either resolve; they differ only in
// TokenIssuerType (int in the Beta table, string in its successor).
var (
	// AADSignInEventsBeta is Defender's user sign-in table (retired 2026-10-19).
	AADSignInEventsBeta = NewTable("AADSignInEventsBeta", defenderColumns(TypeInt))
	// EntraIdSignInEvents is the successor of AADSignInEventsBeta.
	EntraIdSignInEvents = NewTable("EntraIdSignInEvents", defenderColumns(TypeString))
)

var tables = []*Table{
	SigninLogs,
	AADNonInteractiveUserSignInLogs,
	AADServicePrincipalSignInLogs,
	AADManagedIdentitySignInLogs,
	ADFSSignInLogs,
	AADSignInEventsBeta,
	EntraIdSignInEvents,
}

var byName = func() map[string]*Table {
	m := make(map[string]*Table, len(tables))
	for _, t := range tables {
		m[t.Name] = t
	}
	return m
}()

// Lookup returns the table a query names (case-sensitive, as in Kusto). It is
// the catalog the KQL compiler resolves table names in.
func Lookup(name string) (*Table, bool) {
	t, ok := byName[name]
	return t, ok
}

// Tables returns every table streamhunt can build rows of, Log Analytics
// tables first, then the Defender views. The slice is a copy.
func Tables() []*Table {
	return append([]*Table(nil), tables...)
}

// categories maps a record's category to its Log Analytics table.
// MicrosoftServicePrincipalSignInLogs (Microsoft's first-party service
// principals) has no table of its own in the research; its records carry the
// service-principal fields, so they go to AADServicePrincipalSignInLogs with
// their Category column kept verbatim. SignIn is the 2018 preview's name for
// interactive sign-ins.
var categories = map[string]*Table{
	"SignInLogs":                          SigninLogs,
	"SignIn":                              SigninLogs,
	"NonInteractiveUserSignInLogs":        AADNonInteractiveUserSignInLogs,
	"ServicePrincipalSignInLogs":          AADServicePrincipalSignInLogs,
	"MicrosoftServicePrincipalSignInLogs": AADServicePrincipalSignInLogs,
	"ManagedIdentitySignInLogs":           AADManagedIdentitySignInLogs,
	"ADFSSignInLogs":                      ADFSSignInLogs,
}

// TableForCategory returns the Log Analytics table a record of the given
// category (the record's "category" field) belongs to. The match is exact
// first, then case-insensitive. Unknown categories (AuditLogs, ...) give
// false, so that the caller counts them by name instead of dropping them.
func TableForCategory(category string) (*Table, bool) {
	if t, ok := categories[category]; ok {
		return t, true
	}
	for c, t := range categories {
		if strings.EqualFold(c, category) {
			return t, true
		}
	}
	return nil, false
}

// TablesForCategory returns every table a record of the category yields a
// row of: its Log Analytics table and, for user sign-ins (interactive and
// non-interactive), the Defender views AADSignInEventsBeta and
// EntraIdSignInEvents. It returns nil for an unknown category.
func TablesForCategory(category string) []*Table {
	t, ok := TableForCategory(category)
	if !ok {
		return nil
	}
	if IsUserSignIn(t) {
		return []*Table{t, AADSignInEventsBeta, EntraIdSignInEvents}
	}
	return []*Table{t}
}

// IsUserSignIn reports whether rows of t feed Defender's user sign-in view:
// true for SigninLogs and AADNonInteractiveUserSignInLogs.
func IsUserSignIn(t *Table) bool {
	return t == SigninLogs || t == AADNonInteractiveUserSignInLogs
}

// IsDefender reports whether t is one of Defender's sign-in views.
func IsDefender(t *Table) bool {
	return t == AADSignInEventsBeta || t == EntraIdSignInEvents
}

// EndpointCallDeviceCode is the one EndpointCall value the stream can derive:
// the interactive device-code confirmation step ("check my sign-in").
const EndpointCallDeviceCode = "Cmsi:Cmsi"

// defenderColumns lists the union of the AADSignInEventsBeta (2024-2025) and
// EntraIdSignInEvents (2026) columns, in the Beta table's order with the
// successor's additions last. tokenIssuerType is TypeInt for the Beta table
// and TypeString for EntraIdSignInEvents.
func defenderColumns(tokenIssuerType Type) []Column {
	return []Column{
		{Name: "Timestamp", Type: TypeDateTime},
		{Name: "TimeGenerated", Type: TypeDateTime},
		{Name: "Application", Type: TypeString},
		{Name: "ApplicationId", Type: TypeString},
		{Name: "LogonType", Type: TypeString},
		{Name: "EndpointCall", Type: TypeString, Known: []string{EndpointCallDeviceCode}},
		{Name: "ErrorCode", Type: TypeInt},
		{Name: "CorrelationId", Type: TypeString},
		{Name: "SessionId", Type: TypeString},
		{Name: "AccountDisplayName", Type: TypeString},
		{Name: "AccountObjectId", Type: TypeString},
		{Name: "AccountUpn", Type: TypeString},
		{Name: "IsExternalUser", Type: TypeInt},
		{Name: "IsGuestUser", Type: TypeBool},
		{Name: "AlternateSignInName", Type: TypeString},
		{Name: "LastPasswordChangeTimestamp", Type: TypeDateTime},
		{Name: "ResourceDisplayName", Type: TypeString},
		{Name: "ResourceId", Type: TypeString},
		{Name: "ResourceTenantId", Type: TypeString},
		{Name: "DeviceName", Type: TypeString},
		{Name: "AadDeviceId", Type: TypeString},
		{Name: "EntraIdDeviceId", Type: TypeString},
		{Name: "OSPlatform", Type: TypeString},
		{Name: "DeviceTrustType", Type: TypeString},
		{Name: "IsManaged", Type: TypeInt},
		{Name: "IsCompliant", Type: TypeInt},
		{Name: "AuthenticationProcessingDetails", Type: TypeString},
		{Name: "AuthenticationRequirement", Type: TypeString},
		{Name: "TokenIssuerType", Type: tokenIssuerType},
		{Name: "RiskLevelAggregated", Type: TypeInt},
		{Name: "RiskLevelDuringSignIn", Type: TypeInt},
		{Name: "RiskDetails", Type: TypeInt},
		{Name: "RiskState", Type: TypeInt},
		{Name: "RiskEventTypes", Type: TypeString},
		{Name: "UserAgent", Type: TypeString},
		{Name: "ClientAppUsed", Type: TypeString},
		{Name: "Browser", Type: TypeString},
		{Name: "ConditionalAccessPolicies", Type: TypeString},
		{Name: "ConditionalAccessStatus", Type: TypeInt},
		{Name: "IPAddress", Type: TypeString},
		{Name: "Country", Type: TypeString},
		{Name: "State", Type: TypeString},
		{Name: "City", Type: TypeString},
		{Name: "Latitude", Type: TypeString},
		{Name: "Longitude", Type: TypeString},
		{Name: "NetworkLocationDetails", Type: TypeString},
		{Name: "RequestId", Type: TypeString},
		{Name: "ReportId", Type: TypeString},
		{Name: "GatewayJA4", Type: TypeString},
		{Name: "TenantId", Type: TypeString},
		{Name: "Type", Type: TypeString},
		{Name: "SourceSystem", Type: TypeString},
		{Name: "UniqueTokenId", Type: TypeString},
		{Name: "IsThroughGlobalSecureAccess", Type: TypeBool},
		{Name: "IsSignInThroughGlobalSecureAccess", Type: TypeBool},
	}
}

// signinLogsColumns lists the SigninLogs columns (research/column-mapping.md §4), less TenantId,
// _BilledSize and _IsBillable, which the stream cannot know.
func signinLogsColumns() []Column {
	return []Column{
		{Name: "AADTenantId", Type: TypeString},
		{Name: "Agent", Type: TypeDynamic},
		{Name: "AlternateSignInName", Type: TypeString},
		{Name: "AppDisplayName", Type: TypeString},
		{Name: "AppId", Type: TypeString},
		{Name: "AppliedConditionalAccessPolicies", Type: TypeString},
		{Name: "AppliedEventListeners", Type: TypeDynamic},
		{Name: "AppOwnerTenantId", Type: TypeString},
		{Name: "AuthenticationAppDeviceDetails", Type: TypeString},
		{Name: "AuthenticationAppPolicyEvaluationDetails", Type: TypeString},
		{Name: "AuthenticationContextClassReferences", Type: TypeString},
		{Name: "AuthenticationDetails", Type: TypeString},
		{Name: "AuthenticationMethodsUsed", Type: TypeString},
		{Name: "AuthenticationProcessingDetails", Type: TypeString},
		{Name: "AuthenticationProtocol", Type: TypeString},
		{Name: "AuthenticationRequirement", Type: TypeString},
		{Name: "AuthenticationRequirementPolicies", Type: TypeString},
		{Name: "AuthenticatorAppLocation", Type: TypeString},
		{Name: "AutonomousSystemNumber", Type: TypeString},
		{Name: "Category", Type: TypeString},
		{Name: "ClientAppUsed", Type: TypeString},
		{Name: "ClientCredentialType", Type: TypeString},
		{Name: "ClientSessionId", Type: TypeString},
		{Name: "ConditionalAccessAudiences", Type: TypeString},
		{Name: "ConditionalAccessPolicies", Type: TypeDynamic},
		{Name: "ConditionalAccessStatus", Type: TypeString},
		{Name: "CorrelationId", Type: TypeString},
		{Name: "CreatedDateTime", Type: TypeDateTime},
		{Name: "CrossTenantAccessType", Type: TypeString},
		{Name: "DeviceDetail", Type: TypeDynamic},
		{Name: "DurationMs", Type: TypeLong},
		{Name: "FederatedCredentialId", Type: TypeString},
		{Name: "FlaggedForReview", Type: TypeBool},
		{Name: "GlobalSecureAccessIpAddress", Type: TypeString},
		{Name: "HomeTenantId", Type: TypeString},
		{Name: "HomeTenantName", Type: TypeString},
		{Name: "Id", Type: TypeString},
		{Name: "Identity", Type: TypeString},
		{Name: "IncomingTokenType", Type: TypeString},
		{Name: "IPAddress", Type: TypeString},
		{Name: "IPAddressFromResourceProvider", Type: TypeString},
		{Name: "IsInteractive", Type: TypeBool},
		{Name: "IsRisky", Type: TypeBool},
		{Name: "IsTenantRestricted", Type: TypeBool},
		{Name: "IsThroughGlobalSecureAccess", Type: TypeBool},
		{Name: "Level", Type: TypeString},
		{Name: "Location", Type: TypeString},
		{Name: "LocationDetails", Type: TypeDynamic},
		{Name: "MfaDetail", Type: TypeDynamic},
		{Name: "NetworkLocationDetails", Type: TypeString},
		{Name: "OperationName", Type: TypeString},
		{Name: "OperationVersion", Type: TypeString},
		{Name: "OriginalRequestId", Type: TypeString},
		{Name: "OriginalTransferMethod", Type: TypeString},
		{Name: "ProcessingTimeInMilliseconds", Type: TypeString},
		{Name: "Resource", Type: TypeString},
		{Name: "ResourceDisplayName", Type: TypeString},
		{Name: "ResourceGroup", Type: TypeString},
		{Name: "ResourceId", Type: TypeString},
		{Name: "ResourceIdentity", Type: TypeString},
		{Name: "ResourceOwnerTenantId", Type: TypeString},
		{Name: "ResourceProvider", Type: TypeString},
		{Name: "ResourceServicePrincipalId", Type: TypeString},
		{Name: "ResourceTenantId", Type: TypeString},
		{Name: "ResultDescription", Type: TypeString},
		{Name: "ResultSignature", Type: TypeString},
		{Name: "ResultType", Type: TypeString},
		{Name: "RiskDetail", Type: TypeString},
		{Name: "RiskEventTypes", Type: TypeString},
		{Name: "RiskEventTypes_V2", Type: TypeString},
		{Name: "RiskLevel", Type: TypeString},
		{Name: "RiskLevelAggregated", Type: TypeString},
		{Name: "RiskLevelDuringSignIn", Type: TypeString},
		{Name: "RiskState", Type: TypeString},
		{Name: "RootActorID", Type: TypeString},
		{Name: "ServicePrincipalId", Type: TypeString},
		{Name: "ServicePrincipalName", Type: TypeString},
		{Name: "SessionId", Type: TypeString},
		{Name: "SessionLifetimePolicies", Type: TypeString},
		{Name: "SignInIdentifier", Type: TypeString},
		{Name: "SignInIdentifierType", Type: TypeString},
		{Name: "SourceAppClientId", Type: TypeString},
		{Name: "SourceSystem", Type: TypeString},
		{Name: "Status", Type: TypeDynamic},
		{Name: "TimeGenerated", Type: TypeDateTime},
		{Name: "TokenIssuerName", Type: TypeString},
		{Name: "TokenIssuerType", Type: TypeString},
		{Name: "TokenProtectionStatusDetails", Type: TypeDynamic},
		{Name: "Type", Type: TypeString},
		{Name: "UniqueTokenIdentifier", Type: TypeString},
		{Name: "UserAgent", Type: TypeString},
		{Name: "UserDisplayName", Type: TypeString},
		{Name: "UserId", Type: TypeString},
		{Name: "UserPrincipalName", Type: TypeString},
		{Name: "UserType", Type: TypeString},
	}
}

// nonInteractiveColumns lists the AADNonInteractiveUserSignInLogs columns (research/column-mapping.md §5), less TenantId,
// _BilledSize and _IsBillable, which the stream cannot know.
func nonInteractiveColumns() []Column {
	return []Column{
		{Name: "AADTenantId", Type: TypeString},
		{Name: "Agent", Type: TypeString},
		{Name: "AlternateSignInName", Type: TypeString},
		{Name: "AppDisplayName", Type: TypeString},
		{Name: "AppId", Type: TypeString},
		{Name: "AppliedEventListeners", Type: TypeDynamic},
		{Name: "AppOwnerTenantId", Type: TypeString},
		{Name: "AuthenticationContextClassReferences", Type: TypeString},
		{Name: "AuthenticationDetails", Type: TypeString},
		{Name: "AuthenticationMethodsUsed", Type: TypeString},
		{Name: "AuthenticationProcessingDetails", Type: TypeString},
		{Name: "AuthenticationProtocol", Type: TypeString},
		{Name: "AuthenticationRequirement", Type: TypeString},
		{Name: "AuthenticationRequirementPolicies", Type: TypeString},
		{Name: "AuthenticatorAppLocation", Type: TypeString},
		{Name: "AutonomousSystemNumber", Type: TypeString},
		{Name: "Category", Type: TypeString},
		{Name: "ClientAppUsed", Type: TypeString},
		{Name: "ClientCredentialType", Type: TypeString},
		{Name: "ClientSessionId", Type: TypeString},
		{Name: "ConditionalAccessAudiences", Type: TypeString},
		{Name: "ConditionalAccessPolicies", Type: TypeString},
		{Name: "ConditionalAccessPoliciesV2", Type: TypeDynamic},
		{Name: "ConditionalAccessStatus", Type: TypeString},
		{Name: "CorrelationId", Type: TypeString},
		{Name: "CreatedDateTime", Type: TypeDateTime},
		{Name: "CrossTenantAccessType", Type: TypeString},
		{Name: "DeviceDetail", Type: TypeString},
		{Name: "DurationMs", Type: TypeLong},
		{Name: "FederatedCredentialId", Type: TypeString},
		{Name: "GlobalSecureAccessIpAddress", Type: TypeString},
		{Name: "HomeTenantId", Type: TypeString},
		{Name: "HomeTenantName", Type: TypeString},
		{Name: "Id", Type: TypeString},
		{Name: "Identity", Type: TypeString},
		{Name: "IncomingTokenType", Type: TypeString},
		{Name: "IPAddress", Type: TypeString},
		{Name: "IsInteractive", Type: TypeBool},
		{Name: "IsRisky", Type: TypeBool},
		{Name: "IsTenantRestricted", Type: TypeBool},
		{Name: "IsThroughGlobalSecureAccess", Type: TypeBool},
		{Name: "Level", Type: TypeString},
		{Name: "Location", Type: TypeString},
		{Name: "LocationDetails", Type: TypeString},
		{Name: "MfaDetail", Type: TypeString},
		{Name: "NetworkLocationDetails", Type: TypeString},
		{Name: "OperationName", Type: TypeString},
		{Name: "OperationVersion", Type: TypeString},
		{Name: "OriginalRequestId", Type: TypeString},
		{Name: "OriginalTransferMethod", Type: TypeString},
		{Name: "ProcessingTimeInMs", Type: TypeString},
		{Name: "ResourceDisplayName", Type: TypeString},
		{Name: "ResourceGroup", Type: TypeString},
		{Name: "ResourceIdentity", Type: TypeString},
		{Name: "ResourceOwnerTenantId", Type: TypeString},
		{Name: "ResourceServicePrincipalId", Type: TypeString},
		{Name: "ResourceTenantId", Type: TypeString},
		{Name: "ResultDescription", Type: TypeString},
		{Name: "ResultSignature", Type: TypeString},
		{Name: "ResultType", Type: TypeString},
		{Name: "RiskDetail", Type: TypeString},
		{Name: "RiskEventTypes", Type: TypeString},
		{Name: "RiskEventTypes_V2", Type: TypeString},
		{Name: "RiskLevelAggregated", Type: TypeString},
		{Name: "RiskLevelDuringSignIn", Type: TypeString},
		{Name: "RiskState", Type: TypeString},
		{Name: "RootActorID", Type: TypeString},
		{Name: "ServicePrincipalId", Type: TypeString},
		{Name: "SessionId", Type: TypeString},
		{Name: "SessionLifetimePolicies", Type: TypeString},
		{Name: "SignInEventTypes", Type: TypeString},
		{Name: "SignInIdentifierType", Type: TypeString},
		{Name: "SourceSystem", Type: TypeString},
		{Name: "Status", Type: TypeString},
		{Name: "TimeGenerated", Type: TypeDateTime},
		{Name: "TokenIssuerName", Type: TypeString},
		{Name: "TokenIssuerType", Type: TypeString},
		{Name: "TokenProtectionStatusDetails", Type: TypeString},
		{Name: "Type", Type: TypeString},
		{Name: "UniqueTokenIdentifier", Type: TypeString},
		{Name: "UserAgent", Type: TypeString},
		{Name: "UserDisplayName", Type: TypeString},
		{Name: "UserId", Type: TypeString},
		{Name: "UserPrincipalName", Type: TypeString},
		{Name: "UserType", Type: TypeString},
	}
}

// servicePrincipalColumns lists the AADServicePrincipalSignInLogs columns (research/column-mapping.md §6), less TenantId,
// _BilledSize and _IsBillable, which the stream cannot know.
func servicePrincipalColumns() []Column {
	return []Column{
		{Name: "AADTenantId", Type: TypeString},
		{Name: "Agent", Type: TypeString},
		{Name: "AppId", Type: TypeString},
		{Name: "AppOwnerTenantId", Type: TypeString},
		{Name: "AuthenticationContextClassReferences", Type: TypeString},
		{Name: "AuthenticationProcessingDetails", Type: TypeString},
		{Name: "AutonomousSystemNumber", Type: TypeString},
		{Name: "Category", Type: TypeString},
		{Name: "ClientCredentialType", Type: TypeString},
		{Name: "ConditionalAccessAudiences", Type: TypeString},
		{Name: "ConditionalAccessPolicies", Type: TypeString},
		{Name: "ConditionalAccessPoliciesV2", Type: TypeDynamic},
		{Name: "ConditionalAccessStatus", Type: TypeString},
		{Name: "CorrelationId", Type: TypeString},
		{Name: "CreatedDateTime", Type: TypeDateTime},
		{Name: "DurationMs", Type: TypeLong},
		{Name: "FederatedCredentialId", Type: TypeString},
		{Name: "Id", Type: TypeString},
		{Name: "Identity", Type: TypeString},
		{Name: "IPAddress", Type: TypeString},
		{Name: "Level", Type: TypeString},
		{Name: "Location", Type: TypeString},
		{Name: "LocationDetails", Type: TypeString},
		{Name: "NetworkLocationDetails", Type: TypeString},
		{Name: "OperationName", Type: TypeString},
		{Name: "OperationVersion", Type: TypeString},
		{Name: "ResourceDisplayName", Type: TypeString},
		{Name: "ResourceGroup", Type: TypeString},
		{Name: "ResourceIdentity", Type: TypeString},
		{Name: "ResourceOwnerTenantId", Type: TypeString},
		{Name: "ResourceServicePrincipalId", Type: TypeString},
		{Name: "ResultDescription", Type: TypeString},
		{Name: "ResultSignature", Type: TypeString},
		{Name: "ResultType", Type: TypeString},
		{Name: "ServicePrincipalCredentialKeyId", Type: TypeString},
		{Name: "ServicePrincipalCredentialThumbprint", Type: TypeString},
		{Name: "ServicePrincipalId", Type: TypeString},
		{Name: "ServicePrincipalName", Type: TypeString},
		{Name: "SessionId", Type: TypeString},
		{Name: "SourceSystem", Type: TypeString},
		{Name: "TimeGenerated", Type: TypeDateTime},
		{Name: "Type", Type: TypeString},
		{Name: "UniqueTokenIdentifier", Type: TypeString},
		{Name: "UserAgent", Type: TypeString},
	}
}

// managedIdentityColumns lists the AADManagedIdentitySignInLogs columns (research/column-mapping.md §7), less TenantId,
// _BilledSize and _IsBillable, which the stream cannot know.
func managedIdentityColumns() []Column {
	return []Column{
		{Name: "AADTenantId", Type: TypeString},
		{Name: "Agent", Type: TypeString},
		{Name: "AppId", Type: TypeString},
		{Name: "AppOwnerTenantId", Type: TypeString},
		{Name: "AuthenticationContextClassReferences", Type: TypeString},
		{Name: "AuthenticationProcessingDetails", Type: TypeString},
		{Name: "Category", Type: TypeString},
		{Name: "ClientCredentialType", Type: TypeString},
		{Name: "ConditionalAccessAudiences", Type: TypeString},
		{Name: "ConditionalAccessPolicies", Type: TypeString},
		{Name: "ConditionalAccessPoliciesV2", Type: TypeDynamic},
		{Name: "ConditionalAccessStatus", Type: TypeString},
		{Name: "CorrelationId", Type: TypeString},
		{Name: "CreatedDateTime", Type: TypeDateTime},
		{Name: "DurationMs", Type: TypeLong},
		{Name: "FederatedCredentialId", Type: TypeString},
		{Name: "Id", Type: TypeString},
		{Name: "Identity", Type: TypeString},
		{Name: "IPAddress", Type: TypeString},
		{Name: "Level", Type: TypeString},
		{Name: "Location", Type: TypeString},
		{Name: "LocationDetails", Type: TypeString},
		{Name: "ManagedServiceIdentity", Type: TypeString},
		{Name: "NetworkLocationDetails", Type: TypeString},
		{Name: "OperationName", Type: TypeString},
		{Name: "OperationVersion", Type: TypeString},
		{Name: "ResourceDisplayName", Type: TypeString},
		{Name: "ResourceGroup", Type: TypeString},
		{Name: "ResourceIdentity", Type: TypeString},
		{Name: "ResourceOwnerTenantId", Type: TypeString},
		{Name: "ResourceServicePrincipalId", Type: TypeString},
		{Name: "ResultDescription", Type: TypeString},
		{Name: "ResultSignature", Type: TypeString},
		{Name: "ResultType", Type: TypeString},
		{Name: "ServicePrincipalCredentialKeyId", Type: TypeString},
		{Name: "ServicePrincipalCredentialThumbprint", Type: TypeString},
		{Name: "ServicePrincipalId", Type: TypeString},
		{Name: "ServicePrincipalName", Type: TypeString},
		{Name: "SessionId", Type: TypeString},
		{Name: "SourceAppClientId", Type: TypeString},
		{Name: "SourceSystem", Type: TypeString},
		{Name: "TimeGenerated", Type: TypeDateTime},
		{Name: "Type", Type: TypeString},
		{Name: "UniqueTokenIdentifier", Type: TypeString},
		{Name: "UserAgent", Type: TypeString},
	}
}

// adfsColumns lists the ADFSSignInLogs columns (research/column-mapping.md §8), less TenantId,
// _BilledSize and _IsBillable, which the stream cannot know.
func adfsColumns() []Column {
	return []Column{
		{Name: "AlternateSignInName", Type: TypeString},
		{Name: "AppDisplayName", Type: TypeString},
		{Name: "AppId", Type: TypeString},
		{Name: "AuthenticationDetails", Type: TypeString},
		{Name: "AuthenticationProcessingDetails", Type: TypeString},
		{Name: "AuthenticationRequirement", Type: TypeString},
		{Name: "AuthenticationRequirementPolicies", Type: TypeString},
		{Name: "Category", Type: TypeString},
		{Name: "ConditionalAccessPolicies", Type: TypeString},
		{Name: "ConditionalAccessStatus", Type: TypeString},
		{Name: "CorrelationId", Type: TypeString},
		{Name: "CreatedDateTime", Type: TypeDateTime},
		{Name: "DeviceDetail", Type: TypeString},
		{Name: "DurationMs", Type: TypeLong},
		{Name: "Id", Type: TypeString},
		{Name: "Identity", Type: TypeString},
		{Name: "IPAddress", Type: TypeString},
		{Name: "IsInteractive", Type: TypeBool},
		{Name: "Level", Type: TypeString},
		{Name: "Location", Type: TypeString},
		{Name: "NetworkLocationDetails", Type: TypeString},
		{Name: "OperationName", Type: TypeString},
		{Name: "OperationVersion", Type: TypeString},
		{Name: "OriginalRequestId", Type: TypeString},
		{Name: "ProcessingTimeInMs", Type: TypeString},
		{Name: "Requirement", Type: TypeString},
		{Name: "ResourceDisplayName", Type: TypeString},
		{Name: "ResourceGroup", Type: TypeString},
		{Name: "ResourceIdentity", Type: TypeString},
		{Name: "ResourceTenantId", Type: TypeString},
		{Name: "ResultDescription", Type: TypeString},
		{Name: "ResultSignature", Type: TypeString},
		{Name: "ResultType", Type: TypeString},
		{Name: "SourceSystem", Type: TypeString},
		{Name: "Status", Type: TypeString},
		{Name: "TimeGenerated", Type: TypeDateTime},
		{Name: "TokenIssuerName", Type: TypeString},
		{Name: "TokenIssuerType", Type: TypeString},
		{Name: "Type", Type: TypeString},
		{Name: "UniqueTokenIdentifier", Type: TypeString},
		{Name: "UserAgent", Type: TypeString},
		{Name: "UserDisplayName", Type: TypeString},
		{Name: "UserId", Type: TypeString},
		{Name: "UserPrincipalName", Type: TypeString},
	}
}
