package main

import (
	"bytes"
	"encoding/json"
	"time"
)

// The property structs below list their fields in the order Entra writes them
// into a diagnostic-settings record (taken from records of 2025, see
// research/signin-schema.md §3); encoding/json keeps struct order, so the
// generated properties object is byte-for-byte in Azure's native layout.

// statusDetail is properties.status.
type statusDetail struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
}

// deviceDetail is properties.deviceDetail. Entra leaves displayName,
// isCompliant, isManaged and trustType out (rather than false) for a device
// it does not know.
type deviceDetail struct {
	DeviceID        string `json:"deviceId"`
	DisplayName     string `json:"displayName,omitempty"`
	OperatingSystem string `json:"operatingSystem"`
	Browser         string `json:"browser"`
	IsCompliant     *bool  `json:"isCompliant,omitempty"`
	IsManaged       *bool  `json:"isManaged,omitempty"`
	TrustType       string `json:"trustType,omitempty"`
}

// geoCoordinates is properties.location.geoCoordinates.
type geoCoordinates struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// locationDetail is properties.location.
type locationDetail struct {
	City            string         `json:"city"`
	State           string         `json:"state"`
	CountryOrRegion string         `json:"countryOrRegion"`
	GeoCoordinates  geoCoordinates `json:"geoCoordinates"`
}

// mfaDetail is properties.mfaDetail ({} when no MFA happened).
type mfaDetail struct {
	AuthMethod string `json:"authMethod,omitempty"`
	AuthDetail string `json:"authDetail,omitempty"`
}

// caPolicy is one item of properties.appliedConditionalAccessPolicies.
type caPolicy struct {
	ID                      string   `json:"id"`
	DisplayName             string   `json:"displayName"`
	EnforcedGrantControls   []string `json:"enforcedGrantControls"`
	EnforcedSessionControls []string `json:"enforcedSessionControls"`
	Result                  string   `json:"result"`
	ConditionsSatisfied     int      `json:"conditionsSatisfied"`
	ConditionsNotSatisfied  int      `json:"conditionsNotSatisfied"`
}

// keyValue is one item of properties.authenticationProcessingDetails.
type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// networkLocation is one item of properties.networkLocationDetails.
type networkLocation struct {
	NetworkType  string   `json:"networkType"`
	NetworkNames []string `json:"networkNames"`
}

// authStep is one item of properties.authenticationDetails; the last two
// keys are PascalCase in the real records.
type authStep struct {
	AuthenticationStepDateTime     string `json:"authenticationStepDateTime"`
	AuthenticationMethod           string `json:"authenticationMethod"`
	AuthenticationMethodDetail     string `json:"authenticationMethodDetail,omitempty"`
	Succeeded                      bool   `json:"succeeded"`
	AuthenticationStepResultDetail string `json:"authenticationStepResultDetail"`
	AuthenticationStepRequirement  string `json:"authenticationStepRequirement"`
	StatusSequence                 int    `json:"StatusSequence"`
	RequestSequence                int    `json:"RequestSequence"`
}

// requirementPolicy is one item of properties.authenticationRequirementPolicies.
type requirementPolicy struct {
	RequirementProvider string `json:"requirementProvider"`
	Detail              string `json:"detail"`
}

// agentDetail is properties.agent (added to the records in 2025).
type agentDetail struct {
	AgentType   string `json:"agentType"`
	ParentAppID string `json:"parentAppId"`
}

// tokenProtection is properties.tokenProtectionStatusDetails.
type tokenProtection struct {
	SignInSessionStatus     string `json:"signInSessionStatus"`
	SignInSessionStatusCode int    `json:"signInSessionStatusCode"`
}

// userProperties is properties of a SignInLogs or NonInteractiveUserSignInLogs
// record. The interactive record carries alternateSignInName and
// signInIdentifier; the non-interactive one globalSecureAccessIpAddress.
type userProperties struct {
	ID                                   string              `json:"id"`
	CreatedDateTime                      string              `json:"createdDateTime"`
	UserDisplayName                      string              `json:"userDisplayName"`
	UserPrincipalName                    string              `json:"userPrincipalName"`
	UserID                               string              `json:"userId"`
	Agent                                agentDetail         `json:"agent"`
	AppID                                string              `json:"appId"`
	AppDisplayName                       string              `json:"appDisplayName"`
	IPAddress                            string              `json:"ipAddress"`
	Status                               statusDetail        `json:"status"`
	ClientAppUsed                        string              `json:"clientAppUsed"`
	UserAgent                            string              `json:"userAgent"`
	DeviceDetail                         deviceDetail        `json:"deviceDetail"`
	Location                             locationDetail      `json:"location"`
	MfaDetail                            mfaDetail           `json:"mfaDetail"`
	CorrelationID                        string              `json:"correlationId"`
	ConditionalAccessStatus              string              `json:"conditionalAccessStatus"`
	AppliedConditionalAccessPolicies     []caPolicy          `json:"appliedConditionalAccessPolicies"`
	AuthenticationContextClassReferences []string            `json:"authenticationContextClassReferences"`
	OriginalRequestID                    string              `json:"originalRequestId"`
	IsInteractive                        bool                `json:"isInteractive"`
	TokenIssuerName                      string              `json:"tokenIssuerName"`
	TokenIssuerType                      string              `json:"tokenIssuerType"`
	AuthenticationProcessingDetails      []keyValue          `json:"authenticationProcessingDetails"`
	NetworkLocationDetails               []networkLocation   `json:"networkLocationDetails"`
	ClientCredentialType                 string              `json:"clientCredentialType"`
	ProcessingTimeInMilliseconds         int                 `json:"processingTimeInMilliseconds"`
	RiskDetail                           string              `json:"riskDetail"`
	RiskLevelAggregated                  string              `json:"riskLevelAggregated"`
	RiskLevelDuringSignIn                string              `json:"riskLevelDuringSignIn"`
	RiskState                            string              `json:"riskState"`
	RiskEventTypes                       []string            `json:"riskEventTypes"`
	RiskEventTypesV2                     []string            `json:"riskEventTypes_v2"`
	ResourceDisplayName                  string              `json:"resourceDisplayName"`
	ResourceID                           string              `json:"resourceId"`
	ResourceTenantID                     string              `json:"resourceTenantId"`
	HomeTenantID                         string              `json:"homeTenantId"`
	TenantID                             string              `json:"tenantId"`
	AuthenticationDetails                []authStep          `json:"authenticationDetails"`
	AuthenticationRequirementPolicies    []requirementPolicy `json:"authenticationRequirementPolicies"`
	SessionLifetimePolicies              []keyValue          `json:"sessionLifetimePolicies"`
	AuthenticationRequirement            string              `json:"authenticationRequirement"`
	AlternateSignInName                  string              `json:"alternateSignInName,omitempty"`
	SignInIdentifier                     string              `json:"signInIdentifier,omitempty"`
	ServicePrincipalID                   string              `json:"servicePrincipalId"`
	UserType                             string              `json:"userType"`
	FlaggedForReview                     bool                `json:"flaggedForReview"`
	IsTenantRestricted                   bool                `json:"isTenantRestricted"`
	AutonomousSystemNumber               int                 `json:"autonomousSystemNumber"`
	CrossTenantAccessType                string              `json:"crossTenantAccessType"`
	PrivateLinkDetails                   struct{}            `json:"privateLinkDetails"`
	SsoExtensionVersion                  string              `json:"ssoExtensionVersion"`
	UniqueTokenIdentifier                string              `json:"uniqueTokenIdentifier"`
	AuthenticationStrengths              []string            `json:"authenticationStrengths"`
	IncomingTokenType                    string              `json:"incomingTokenType"`
	AuthenticationProtocol               string              `json:"authenticationProtocol"`
	AppServicePrincipalID                *string             `json:"appServicePrincipalId"`
	ResourceServicePrincipalID           string              `json:"resourceServicePrincipalId"`
	RngcStatus                           int                 `json:"rngcStatus"`
	SignInTokenProtectionStatus          string              `json:"signInTokenProtectionStatus"`
	TokenProtectionStatusDetails         tokenProtection     `json:"tokenProtectionStatusDetails"`
	OriginalTransferMethod               string              `json:"originalTransferMethod"`
	IsThroughGlobalSecureAccess          bool                `json:"isThroughGlobalSecureAccess"`
	GlobalSecureAccessIPAddress          *string             `json:"globalSecureAccessIpAddress,omitempty"`
	ConditionalAccessAudiences           []string            `json:"conditionalAccessAudiences"`
	SessionID                            string              `json:"sessionId"`
	AppOwnerTenantID                     string              `json:"appOwnerTenantId"`
	ResourceOwnerTenantID                string              `json:"resourceOwnerTenantId"`
}

// servicePrincipalProperties is properties of a ServicePrincipalSignInLogs record.
type servicePrincipalProperties struct {
	ID                               string            `json:"id"`
	CreatedDateTime                  string            `json:"createdDateTime"`
	UserID                           *string           `json:"userId"`
	Agent                            agentDetail       `json:"agent"`
	AppID                            string            `json:"appId"`
	IPAddress                        string            `json:"ipAddress"`
	Status                           statusDetail      `json:"status"`
	UserAgent                        string            `json:"userAgent"`
	Location                         locationDetail    `json:"location"`
	CorrelationID                    string            `json:"correlationId"`
	ConditionalAccessStatus          string            `json:"conditionalAccessStatus"`
	AppliedConditionalAccessPolicies []caPolicy        `json:"appliedConditionalAccessPolicies"`
	IsInteractive                    bool              `json:"isInteractive"`
	TokenIssuerType                  string            `json:"tokenIssuerType"`
	AuthenticationProcessingDetails  []keyValue        `json:"authenticationProcessingDetails"`
	NetworkLocationDetails           []networkLocation `json:"networkLocationDetails"`
	ClientCredentialType             string            `json:"clientCredentialType"`
	ProcessingTimeInMilliseconds     int               `json:"processingTimeInMilliseconds"`
	RiskDetail                       string            `json:"riskDetail"`
	RiskLevelAggregated              string            `json:"riskLevelAggregated"`
	RiskLevelDuringSignIn            string            `json:"riskLevelDuringSignIn"`
	RiskState                        string            `json:"riskState"`
	ResourceDisplayName              string            `json:"resourceDisplayName"`
	ResourceID                       string            `json:"resourceId"`
	ServicePrincipalName             string            `json:"servicePrincipalName"`
	ServicePrincipalID               string            `json:"servicePrincipalId"`
	FlaggedForReview                 bool              `json:"flaggedForReview"`
	IsTenantRestricted               bool              `json:"isTenantRestricted"`
	CrossTenantAccessType            string            `json:"crossTenantAccessType"`
	ServicePrincipalCredentialKeyID  string            `json:"servicePrincipalCredentialKeyId"`
	UniqueTokenIdentifier            string            `json:"uniqueTokenIdentifier"`
	IncomingTokenType                string            `json:"incomingTokenType"`
	AuthenticationProtocol           string            `json:"authenticationProtocol"`
	AppServicePrincipalID            *string           `json:"appServicePrincipalId"`
	ResourceServicePrincipalID       string            `json:"resourceServicePrincipalId"`
	SignInTokenProtectionStatus      string            `json:"signInTokenProtectionStatus"`
	OriginalTransferMethod           string            `json:"originalTransferMethod"`
	IsThroughGlobalSecureAccess      bool              `json:"isThroughGlobalSecureAccess"`
	ConditionalAccessAudiences       []string          `json:"conditionalAccessAudiences"`
	SessionID                        string            `json:"sessionId"`
	AppOwnerTenantID                 string            `json:"appOwnerTenantId"`
	ResourceOwnerTenantID            string            `json:"resourceOwnerTenantId"`
}

// managedIdentityProperties is properties of a ManagedIdentitySignInLogs
// record: no user, no device, an empty IP address and an empty location.
type managedIdentityProperties struct {
	ID                               string         `json:"id"`
	CreatedDateTime                  string         `json:"createdDateTime"`
	UserID                           *string        `json:"userId"`
	AppID                            string         `json:"appId"`
	IPAddress                        string         `json:"ipAddress"`
	Status                           statusDetail   `json:"status"`
	Location                         locationDetail `json:"location"`
	CorrelationID                    string         `json:"correlationId"`
	ConditionalAccessStatus          string         `json:"conditionalAccessStatus"`
	AppliedConditionalAccessPolicies []caPolicy     `json:"appliedConditionalAccessPolicies"`
	IsInteractive                    bool           `json:"isInteractive"`
	TokenIssuerType                  string         `json:"tokenIssuerType"`
	ProcessingTimeInMilliseconds     int            `json:"processingTimeInMilliseconds"`
	RiskDetail                       string         `json:"riskDetail"`
	RiskLevelAggregated              string         `json:"riskLevelAggregated"`
	RiskLevelDuringSignIn            string         `json:"riskLevelDuringSignIn"`
	RiskState                        string         `json:"riskState"`
	ResourceDisplayName              string         `json:"resourceDisplayName"`
	ResourceID                       string         `json:"resourceId"`
	ServicePrincipalName             string         `json:"servicePrincipalName"`
	ServicePrincipalID               string         `json:"servicePrincipalId"`
	FlaggedForReview                 bool           `json:"flaggedForReview"`
	IsTenantRestricted               bool           `json:"isTenantRestricted"`
	CrossTenantAccessType            string         `json:"crossTenantAccessType"`
	UniqueTokenIdentifier            string         `json:"uniqueTokenIdentifier"`
	IncomingTokenType                string         `json:"incomingTokenType"`
	AuthenticationProtocol           string         `json:"authenticationProtocol"`
	ResourceServicePrincipalID       string         `json:"resourceServicePrincipalId"`
	SessionID                        string         `json:"sessionId"`
}

// auditInitiator, auditTarget and auditProperties shape the one AuditLogs
// record that rides along on the sign-in hub.
type auditUser struct {
	ID                string  `json:"id"`
	DisplayName       *string `json:"displayName"`
	UserPrincipalName string  `json:"userPrincipalName"`
	IPAddress         string  `json:"ipAddress"`
}

type auditInitiator struct {
	User auditUser `json:"user"`
}

type auditModified struct {
	DisplayName string `json:"displayName"`
	OldValue    string `json:"oldValue"`
	NewValue    string `json:"newValue"`
}

type auditTarget struct {
	ID                 string          `json:"id"`
	DisplayName        string          `json:"displayName"`
	Type               string          `json:"type"`
	ModifiedProperties []auditModified `json:"modifiedProperties"`
}

type auditProperties struct {
	ID                  string         `json:"id"`
	Category            string         `json:"category"`
	CorrelationID       string         `json:"correlationId"`
	Result              string         `json:"result"`
	ResultReason        string         `json:"resultReason"`
	ActivityDisplayName string         `json:"activityDisplayName"`
	ActivityDateTime    string         `json:"activityDateTime"`
	LoggedByService     string         `json:"loggedByService"`
	OperationType       string         `json:"operationType"`
	InitiatedBy         auditInitiator `json:"initiatedBy"`
	TargetResources     []auditTarget  `json:"targetResources"`
	AdditionalDetails   []keyValue     `json:"additionalDetails"`
}

// field is one top-level key of a record, its value already JSON.
type field struct {
	key   string
	value []byte
}

// record is one generated diagnostic record with what the scenario knows about it.
type record struct {
	// category is the record's category, which also picks its hub.
	category string
	// created is properties.createdDateTime; logged is the top-level time.
	created, logged time.Time
	// id is properties.id.
	id string
	// top holds the top-level keys in order, properties excluded.
	top []field
	// props is the properties object.
	props any
	// role names a planted record of the story ("" for background).
	role string
}

// formatCreated prints properties.createdDateTime as Entra does: seven
// fractional digits and an explicit +00:00.
func formatCreated(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000") + "+00:00"
}

// formatTime prints the top-level time: seven fractional digits and Z.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// marshal encodes v compactly without HTML escaping (Entra writes "<" and
// "&" as they are).
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only fixed, known types are encoded
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// encode writes the record the way a diagnostic setting emits it: a space
// after "{" and after each ":" and "," of the top level, the properties object
// compact, and no space before the closing brace.
func (r *record) encode() []byte {
	var b bytes.Buffer
	b.WriteString("{ ")
	for i, f := range r.top {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(marshal(f.key))
		b.WriteString(": ")
		b.Write(f.value)
	}
	b.WriteString(`, "properties": `)
	b.Write(marshal(r.props))
	b.WriteString("}")
	return b.Bytes()
}
