package pipeline

import (
	"strings"

	"github.com/streamhunt/streamhunt/internal/table"
)

// This file says how every column of every table is derived from a record.
// Log Analytics columns are derived by column name (the five tables share
// their sources, research/column-mapping.md); the conversion follows the
// column's type (see rec.conv). Defender columns have derivations of their
// own (research/aadsignineventsbeta.md). docs/tables.md is generated from
// the doc strings here (go test ./pipeline -run TestDocs -update).

// deriv derives one column's value from an indexed record.
type deriv struct {
	get func(r *rec, c *table.Column) table.Value
	doc string
}

// Top-level record fields the decoder indexes.
const (
	fTime = iota
	fResourceID
	fOperationName
	fOperationVersion
	fCategory
	fTenantID
	fResultType
	fResultSignature
	fResultDescription
	fDurationMs
	fCallerIPAddress
	fCorrelationID
	fIdentity
	fLevelUpper
	fLevelLower
	fLocation
	fProperties
	nTop
)

// topID returns the index of a top-level field, or -1.
func topID(k []byte) int {
	switch string(k) {
	case "time":
		return fTime
	case "resourceId":
		return fResourceID
	case "operationName":
		return fOperationName
	case "operationVersion":
		return fOperationVersion
	case "category":
		return fCategory
	case "tenantId":
		return fTenantID
	case "resultType":
		return fResultType
	case "resultSignature":
		return fResultSignature
	case "resultDescription":
		return fResultDescription
	case "durationMs":
		return fDurationMs
	case "callerIpAddress":
		return fCallerIPAddress
	case "correlationId":
		return fCorrelationID
	case "identity":
		return fIdentity
	case "Level":
		return fLevelUpper
	case "level":
		return fLevelLower
	case "location":
		return fLocation
	case "properties":
		return fProperties
	}
	return -1
}

// propIDs numbers the properties.* keys the derivations read; the index of
// a record keeps one span per registered key.
var (
	propIDs   = map[string]int{}
	propNames []string
)

func propID(name string) int {
	if id, ok := propIDs[name]; ok {
		return id
	}
	propIDs[name] = len(propNames)
	propNames = append(propNames, name)
	return len(propNames) - 1
}

// Properties read by special derivations, registered up front.
var (
	pID                     = propID("id")
	pCreatedDateTime        = propID("createdDateTime")
	pStatus                 = propID("status")
	pDeviceDetail           = propID("deviceDetail")
	pLocation               = propID("location")
	pAuthenticationProtocol = propID("authenticationProtocol")
	pConditionalAccess      = propID("conditionalAccessStatus")
	pCorrelationID          = propID("correlationId")
	pHomeTenantID           = propID("homeTenantId")
	pResourceTenantID       = propID("resourceTenantId")
	pCrossTenantAccessType  = propID("crossTenantAccessType")
	pUserType               = propID("userType")
	pTokenIssuerType        = propID("tokenIssuerType")
)

// propTable is an open-addressing hash of the registered property names,
// cheaper on the hot path than a Go map (the hash reads four bytes).
var propTable = func() (t [propTableSize]int16) {
	for i := range t {
		t[i] = -1
	}
	return t
}()

const propTableSize = 1024

func propHash(k []byte) uint {
	n := uint(len(k))
	if n == 0 {
		return 0
	}
	return (n*0x9E37 ^ uint(k[0])<<3 ^ uint(k[n-1])<<7 ^ uint(k[n/2])*0x45D9 ^ uint(k[n/3])<<11) % propTableSize
}

// buildPropTable fills propTable once every derivation is registered.
func buildPropTable() {
	for id, name := range propNames {
		h := propHash([]byte(name))
		for propTable[h] >= 0 {
			h = (h + 1) % propTableSize
		}
		propTable[h] = int16(id)
	}
}

// lookupProp returns the id of a registered property name, or -1.
func lookupProp(k []byte) int {
	h := propHash(k)
	for {
		id := propTable[h]
		if id < 0 {
			return -1
		}
		if propNames[id] == string(k) {
			return int(id)
		}
		h = (h + 1) % propTableSize
	}
}

func init() { buildPropTable() }

// fromTop copies a top-level field, converted to the column's type.
func fromTop(id int, name string) deriv {
	return deriv{
		get: func(r *rec, c *table.Column) table.Value { return r.conv(r.top(id), c) },
		doc: "`" + name + "`",
	}
}

// fromProp copies properties.path, converted to the column's type.
func fromProp(path ...string) deriv {
	id := propID(path[0])
	rest := path[1:]
	return deriv{
		get: func(r *rec, c *table.Column) table.Value {
			v := r.prop(id)
			for _, k := range rest {
				v = v.get(k)
			}
			return r.conv(v, c)
		},
		doc: "`properties." + strings.Join(path, ".") + "`",
	}
}

// unknown is a column with no known source in the record: "" for strings,
// null otherwise.
func unknown(why string) deriv {
	return deriv{
		get: func(r *rec, c *table.Column) table.Value { return r.conv(val{}, c) },
		doc: "not derivable: " + why,
	}
}

func constant(v table.Value, doc string) deriv {
	return deriv{get: func(*rec, *table.Column) table.Value { return v }, doc: doc}
}

// resourceIDPart derives a column from the top-level ARM-style resourceId
// (/tenants/<tid>/providers/Microsoft.aadiam).
func resourceIDPart(part string) deriv {
	return deriv{
		get: func(r *rec, c *table.Column) table.Value {
			v := r.top(fResourceID)
			if !v.isString() {
				return table.Str("")
			}
			id := v.text()
			switch part {
			case "group": // last path segment
				return table.Str(id[strings.LastIndexByte(id, '/')+1:])
			default: // provider namespace, the segment after /providers/
				i := strings.Index(strings.ToLower(id), "/providers/")
				if i < 0 {
					return table.Str("")
				}
				p := id[i+len("/providers/"):]
				if j := strings.IndexByte(p, '/'); j >= 0 {
					p = p[:j]
				}
				return table.Str(p)
			}
		},
		doc: map[string]string{
			"group":    "last path segment of the top-level `resourceId` (`Microsoft.aadiam`); Log Analytics fills this, the value is inferred",
			"provider": "provider namespace of the top-level `resourceId` (`Microsoft.aadiam`); Log Analytics fills this, the value is inferred",
		}[part],
	}
}

var notInRecord = "no field of the Event Hubs record carries it (column-mapping.md §3); \"\" or null"

// laDerivs derives the Log Analytics columns, by column name.
var laDerivs = map[string]deriv{
	"AADTenantId":                      fromTop(fTenantID, "tenantId"),
	"Agent":                            fromProp("agent"),
	"AlternateSignInName":              fromProp("alternateSignInName"),
	"AppDisplayName":                   fromProp("appDisplayName"),
	"AppId":                            fromProp("appId"),
	"AppliedConditionalAccessPolicies": unknown("legacy twin of ConditionalAccessPolicies with no record field; \"\""),
	"AppliedEventListeners":            fromProp("appliedEventListeners"),
	"AppOwnerTenantId":                 fromProp("appOwnerTenantId"),
	"AuthenticationAppDeviceDetails":   fromProp("authenticationAppDeviceDetails"),
	"AuthenticationAppPolicyEvaluationDetails": fromProp("authenticationAppPolicyEvaluationDetails"),
	"AuthenticationContextClassReferences":     fromProp("authenticationContextClassReferences"),
	"AuthenticationDetails":                    fromProp("authenticationDetails"),
	"AuthenticationMethodsUsed":                fromProp("authenticationMethodsUsed"),
	"AuthenticationProcessingDetails":          fromProp("authenticationProcessingDetails"),
	"AuthenticationProtocol":                   fromProp("authenticationProtocol"),
	"AuthenticationRequirement":                fromProp("authenticationRequirement"),
	"AuthenticationRequirementPolicies":        fromProp("authenticationRequirementPolicies"),
	"AuthenticatorAppLocation":                 unknown(notInRecord),
	"AutonomousSystemNumber":                   fromProp("autonomousSystemNumber"),
	"Category":                                 fromTop(fCategory, "category"),
	"ClientAppUsed":                            fromProp("clientAppUsed"),
	"ClientCredentialType":                     fromProp("clientCredentialType"),
	"ClientSessionId":                          unknown(notInRecord),
	"ConditionalAccessAudiences":               fromProp("conditionalAccessAudiences"),
	"ConditionalAccessPolicies":                fromProp("appliedConditionalAccessPolicies"),
	"ConditionalAccessPoliciesV2":              unknown("seen only in a 2026 getschema dump, source unknown; null"),
	"ConditionalAccessStatus": {
		get: func(r *rec, c *table.Column) table.Value {
			v := r.prop(pConditionalAccess)
			if v.isNumber() { // the 2018 preview sent 0/1/2
				if n, ok := v.int(); ok && n >= 0 && n < int64(len(caStatusNames)) {
					return table.Str(caStatusNames[n])
				}
			}
			return r.conv(v, c)
		},
		doc: "`properties.conditionalAccessStatus`; the 2018 preview's integers 0/1/2 become success/failure/notApplied",
	},
	"CorrelationId":                 fromTop(fCorrelationID, "correlationId"),
	"CreatedDateTime":               fromProp("createdDateTime"),
	"CrossTenantAccessType":         fromProp("crossTenantAccessType"),
	"DeviceDetail":                  fromProp("deviceDetail"),
	"DurationMs":                    fromTop(fDurationMs, "durationMs"),
	"FederatedCredentialId":         fromProp("federatedCredentialId"),
	"FlaggedForReview":              fromProp("flaggedForReview"),
	"GlobalSecureAccessIpAddress":   fromProp("globalSecureAccessIpAddress"),
	"HomeTenantId":                  fromProp("homeTenantId"),
	"HomeTenantName":                fromProp("homeTenantName"),
	"Id":                            fromProp("id"),
	"Identity":                      fromTop(fIdentity, "identity"),
	"IncomingTokenType":             fromProp("incomingTokenType"),
	"IPAddress":                     fromProp("ipAddress"),
	"IPAddressFromResourceProvider": fromProp("ipAddressFromResourceProvider"),
	"IsInteractive":                 fromProp("isInteractive"),
	"IsRisky":                       unknown(notInRecord),
	"IsTenantRestricted":            fromProp("isTenantRestricted"),
	"IsThroughGlobalSecureAccess":   fromProp("isThroughGlobalSecureAccess"),
	"Level": {
		get: func(r *rec, c *table.Column) table.Value {
			if v := r.top(fLevelUpper); v.present() {
				return r.conv(v, c)
			}
			return r.conv(r.top(fLevelLower), c)
		},
		doc: "`Level`, else `level`: decimal text of a number (`4`), a string as it is (`\"4\"`, `\"Informational\"`)",
	},
	"Location":                             fromTop(fLocation, "location"),
	"LocationDetails":                      fromProp("location"),
	"ManagedServiceIdentity":               fromProp("managedServiceIdentity"),
	"MfaDetail":                            fromProp("mfaDetail"),
	"NetworkLocationDetails":               fromProp("networkLocationDetails"),
	"OperationName":                        fromTop(fOperationName, "operationName"),
	"OperationVersion":                     fromTop(fOperationVersion, "operationVersion"),
	"OriginalRequestId":                    fromProp("originalRequestId"),
	"OriginalTransferMethod":               fromProp("originalTransferMethod"),
	"ProcessingTimeInMilliseconds":         fromProp("processingTimeInMilliseconds"),
	"ProcessingTimeInMs":                   fromProp("processingTimeInMilliseconds"),
	"Requirement":                          unknown("no matching record field (perhaps a twin of AuthenticationRequirement); \"\""),
	"Resource":                             resourceIDPart("provider"),
	"ResourceDisplayName":                  fromProp("resourceDisplayName"),
	"ResourceGroup":                        resourceIDPart("group"),
	"ResourceId":                           fromTop(fResourceID, "resourceId"),
	"ResourceIdentity":                     fromProp("resourceId"),
	"ResourceOwnerTenantId":                fromProp("resourceOwnerTenantId"),
	"ResourceProvider":                     resourceIDPart("provider"),
	"ResourceServicePrincipalId":           fromProp("resourceServicePrincipalId"),
	"ResourceTenantId":                     fromProp("resourceTenantId"),
	"ResultDescription":                    fromTop(fResultDescription, "resultDescription"),
	"ResultSignature":                      fromTop(fResultSignature, "resultSignature"),
	"ResultType":                           {get: (*rec).resultType, doc: "`resultType` verbatim (a string such as `\"0\"`); when absent, `properties.status.errorCode` as decimal text"},
	"RiskDetail":                           fromProp("riskDetail"),
	"RiskEventTypes":                       fromProp("riskEventTypes"),
	"RiskEventTypes_V2":                    fromProp("riskEventTypes_v2"),
	"RiskLevel":                            unknown(notInRecord),
	"RiskLevelAggregated":                  fromProp("riskLevelAggregated"),
	"RiskLevelDuringSignIn":                fromProp("riskLevelDuringSignIn"),
	"RiskState":                            fromProp("riskState"),
	"RootActorID":                          unknown(notInRecord),
	"ServicePrincipalCredentialKeyId":      fromProp("servicePrincipalCredentialKeyId"),
	"ServicePrincipalCredentialThumbprint": fromProp("servicePrincipalCredentialThumbprint"),
	"ServicePrincipalId":                   fromProp("servicePrincipalId"),
	"ServicePrincipalName":                 fromProp("servicePrincipalName"),
	"SessionId":                            fromProp("sessionId"),
	"SessionLifetimePolicies":              fromProp("sessionLifetimePolicies"),
	"SignInEventTypes":                     fromProp("signInEventTypes"),
	"SignInIdentifier":                     fromProp("signInIdentifier"),
	"SignInIdentifierType":                 fromProp("signInIdentifierType"),
	"SourceAppClientId":                    fromProp("sourceAppClientId"),
	"SourceSystem":                         constant(table.Str("Azure AD"), "constant `Azure AD` (the value in the one exported Log Analytics row; unverified for tables other than AADServicePrincipalSignInLogs)"),
	"Status":                               fromProp("status"),
	"TimeGenerated": {
		get: func(r *rec, c *table.Column) table.Value { return r.timeGenerated() },
		doc: "top-level `time`; when absent or unparseable `properties.createdDateTime`, then the Event Hubs enqueued time (each fallback counted in streamhunt_time_fallbacks_total)",
	},
	"TokenIssuerName":              fromProp("tokenIssuerName"),
	"TokenIssuerType":              fromProp("tokenIssuerType"),
	"TokenProtectionStatusDetails": fromProp("tokenProtectionStatusDetails"),
	"Type": {
		get: func(r *rec, c *table.Column) table.Value { return table.Str(r.t.Name) },
		doc: "the table's name",
	},
	"UniqueTokenIdentifier": fromProp("uniqueTokenIdentifier"),
	"UserAgent":             fromProp("userAgent"),
	"UserDisplayName":       fromProp("userDisplayName"),
	"UserId":                fromProp("userId"),
	"UserPrincipalName":     fromProp("userPrincipalName"),
	"UserType":              fromProp("userType"),
}

var caStatusNames = []string{"success", "failure", "notApplied"}

// Defender encodings (aadsignineventsbeta.md §2).
var (
	riskLevels = map[string]int64{"none": 1, "low": 10, "medium": 50, "high": 100}
	riskStates = map[string]int64{"none": 0, "confirmedsafe": 1, "remediated": 2, "dismissed": 3, "atrisk": 4, "confirmedcompromised": 5}
	caStatuses = map[string]int64{"success": 0, "failure": 1, "notapplied": 2}
	trustTypes = map[string]string{
		"azure ad registered": "Workplace", "microsoft entra registered": "Workplace",
		"azure ad joined": "AzureAd", "microsoft entra joined": "AzureAd",
		"hybrid azure ad joined": "ServerAd", "microsoft entra hybrid joined": "ServerAd",
	}
)

// enumInt maps a string property through m (case-insensitive); absent or
// unknown values give def. A number is passed through.
func enumInt(id int, m map[string]int64, def int64, doc string) deriv {
	return deriv{
		get: func(r *rec, c *table.Column) table.Value {
			v := r.prop(id)
			if v.isNumber() {
				if n, ok := v.int(); ok {
					return table.Int(n)
				}
			}
			if v.isString() {
				if n, ok := m[strings.ToLower(v.text())]; ok {
					return table.Int(n)
				}
			}
			return table.Int(def)
		},
		doc: doc,
	}
}

// flag01 maps a boolean device property to Defender's 1/0.
func flag01(key string) deriv {
	return deriv{
		get: func(r *rec, c *table.Column) table.Value {
			v := r.prop(pDeviceDetail).get(key)
			if v.isTrue() || (v.isString() && strings.EqualFold(v.text(), "true")) {
				return table.Int(1)
			}
			return table.Int(0)
		},
		doc: "`properties.deviceDetail." + key + "`: true → 1, anything else (false, absent) → 0",
	}
}

// firstOf returns the first present value among the derivations' sources.
func firstOf(doc string, ds ...deriv) deriv {
	return deriv{
		get: func(r *rec, c *table.Column) table.Value {
			var v table.Value
			for _, d := range ds {
				if v = d.get(r, c); v.K != table.KindNull && !(v.K == table.KindString && v.S == "") {
					return v
				}
			}
			return v
		},
		doc: doc,
	}
}

// defenderDerivs derives the columns of AADSignInEventsBeta and
// EntraIdSignInEvents.
var defenderDerivs = map[string]deriv{
	"Timestamp": {
		get: func(r *rec, c *table.Column) table.Value { return r.eventTime() },
		doc: "`properties.createdDateTime`; when absent or unparseable the top-level `time`, then the enqueued time",
	},
	"TimeGenerated": {
		get: func(r *rec, c *table.Column) table.Value { return r.eventTime() },
		doc: "same value as Timestamp (Defender keeps them equal unless streamed late)",
	},
	"Application":   fromProp("appDisplayName"),
	"ApplicationId": fromProp("appId"),
	"LogonType": {
		get: func(r *rec, c *table.Column) table.Value {
			if r.la == table.SigninLogs {
				return table.Str(`["interactiveUser"]`)
			}
			return table.Str(`["nonInteractiveUser"]`)
		},
		doc: "from the category: SignInLogs → `[\"interactiveUser\"]`, NonInteractiveUserSignInLogs → `[\"nonInteractiveUser\"]` (JSON-array text)",
	},
	"EndpointCall": {
		get: func(r *rec, c *table.Column) table.Value {
			if r.la == table.SigninLogs {
				if v := r.prop(pAuthenticationProtocol); v.isString() && strings.EqualFold(v.text(), "deviceCode") {
					return table.Str(table.EndpointCallDeviceCode)
				}
			}
			return table.Str("")
		},
		doc: "`Cmsi:Cmsi` when the category is SignInLogs and `properties.authenticationProtocol` is `deviceCode` (case-insensitive), else `\"\"`. An under-approximation: every other Defender value (Login:*, OAuth2:*, SAS:*, Kmsi:kmsi, ...) is not derivable, and rules comparing with them are refused",
	},
	"ErrorCode": {
		get: func(r *rec, c *table.Column) table.Value {
			if n, ok := r.prop(pStatus).get("errorCode").int(); ok {
				return table.Int(n)
			}
			if n, ok := r.top(fResultType).int(); ok {
				return table.Int(n)
			}
			return table.Null
		},
		doc: "`properties.status.errorCode`; else the integer value of `resultType`; else null",
	},
	"CorrelationId": firstOf("top-level `correlationId`, else `properties.correlationId` (equal in real records)",
		fromTop(fCorrelationID, "correlationId"), fromProp("correlationId")),
	"SessionId":          fromProp("sessionId"),
	"AccountDisplayName": fromProp("userDisplayName"),
	"AccountObjectId":    fromProp("userId"),
	"AccountUpn":         fromProp("userPrincipalName"),
	"IsExternalUser": {
		get: func(r *rec, c *table.Column) table.Value {
			home := r.prop(pHomeTenantID)
			if !home.isString() || home.text() == "" {
				return table.Int(-1)
			}
			if res := r.prop(pResourceTenantID); res.isString() && res.text() != "" && !strings.EqualFold(res.text(), home.text()) {
				return table.Int(1)
			}
			if x := r.prop(pCrossTenantAccessType); x.isString() && x.text() != "" && !strings.EqualFold(x.text(), "none") {
				return table.Int(1)
			}
			return table.Int(0)
		},
		doc: "approximation (no such field): −1 when `properties.homeTenantId` is absent; 1 when it differs from `properties.resourceTenantId` or `properties.crossTenantAccessType` is not `none`; else 0",
	},
	"IsGuestUser": {
		get: func(r *rec, c *table.Column) table.Value {
			v := r.prop(pUserType)
			if !v.isString() || v.text() == "" {
				return table.Null
			}
			return table.Bool(strings.EqualFold(v.text(), "Guest"))
		},
		doc: "`properties.userType` equals `Guest` (case-insensitive); null when absent",
	},
	"AlternateSignInName":         fromProp("alternateSignInName"),
	"LastPasswordChangeTimestamp": unknown("a directory attribute, never in the sign-in record; null"),
	"ResourceDisplayName":         fromProp("resourceDisplayName"),
	"ResourceId":                  fromProp("resourceId"),
	"ResourceTenantId":            fromProp("resourceTenantId"),
	"DeviceName":                  fromProp("deviceDetail", "displayName"),
	"AadDeviceId":                 fromProp("deviceDetail", "deviceId"),
	"EntraIdDeviceId":             fromProp("deviceDetail", "deviceId"),
	"OSPlatform":                  fromProp("deviceDetail", "operatingSystem"),
	"DeviceTrustType": {
		get: func(r *rec, c *table.Column) table.Value {
			v := r.prop(pDeviceDetail).get("trustType")
			if !v.isString() {
				return table.Str("")
			}
			t := v.text()
			if m, ok := trustTypes[strings.ToLower(t)]; ok {
				return table.Str(m)
			}
			return table.Str(t)
		},
		doc: "`properties.deviceDetail.trustType` mapped: (Azure AD|Microsoft Entra) registered → Workplace, joined → AzureAd, hybrid joined → ServerAd; other values kept; absent → \"\" (mapping inferred from Graph)",
	},
	"IsManaged":                       flag01("isManaged"),
	"IsCompliant":                     flag01("isCompliant"),
	"AuthenticationProcessingDetails": fromProp("authenticationProcessingDetails"),
	"AuthenticationRequirement":       fromProp("authenticationRequirement"),
	"TokenIssuerType": {
		get: func(r *rec, c *table.Column) table.Value {
			v := r.prop(pTokenIssuerType)
			if c.Type == table.TypeString {
				return r.conv(v, c)
			}
			if v.isString() {
				switch strings.ToLower(v.text()) {
				case "azuread":
					return table.Int(0)
				case "adfederationservices":
					return table.Int(1)
				}
			}
			return table.Null
		},
		doc: "`properties.tokenIssuerType`: AADSignInEventsBeta (int) AzureAD → 0, ADFederationServices → 1, other values null; EntraIdSignInEvents keeps the string",
	},
	"RiskLevelAggregated": enumInt(propID("riskLevelAggregated"), riskLevels, 0,
		"`properties.riskLevelAggregated`: none → 1, low → 10, medium → 50, high → 100; hidden, unknownFutureValue or absent → 0"),
	"RiskLevelDuringSignIn": enumInt(propID("riskLevelDuringSignIn"), riskLevels, 0,
		"`properties.riskLevelDuringSignIn`: none → 1, low → 10, medium → 50, high → 100; hidden, unknownFutureValue or absent → 0"),
	"RiskDetails": unknown("Defender documents no value list for the int; null"),
	"RiskState": enumInt(propID("riskState"), riskStates, 0,
		"`properties.riskState`: none 0, confirmedSafe 1, remediated 2, dismissed 3, atRisk 4, confirmedCompromised 5; unknown or absent → 0"),
	"RiskEventTypes": firstOf("`properties.riskEventTypes_v2` as compact JSON text, else `properties.riskEventTypes`",
		fromProp("riskEventTypes_v2"), fromProp("riskEventTypes")),
	"UserAgent":                 fromProp("userAgent"),
	"ClientAppUsed":             fromProp("clientAppUsed"),
	"Browser":                   fromProp("deviceDetail", "browser"),
	"ConditionalAccessPolicies": fromProp("appliedConditionalAccessPolicies"),
	"ConditionalAccessStatus": enumInt(pConditionalAccess, caStatuses, 2,
		"`properties.conditionalAccessStatus`: success 0, failure 1, notApplied 2; absent or unknown → 2; the 2018 preview's integers pass through"),
	"IPAddress": firstOf("`properties.ipAddress`, else top-level `callerIpAddress`",
		fromProp("ipAddress"), fromTop(fCallerIPAddress, "callerIpAddress")),
	"Country": firstOf("`properties.location.countryOrRegion`, else top-level `location`",
		fromProp("location", "countryOrRegion"), fromTop(fLocation, "location")),
	"State":                  fromProp("location", "state"),
	"City":                   fromProp("location", "city"),
	"Latitude":               fromProp("location", "geoCoordinates", "latitude"),
	"Longitude":              fromProp("location", "geoCoordinates", "longitude"),
	"NetworkLocationDetails": fromProp("networkLocationDetails"),
	"RequestId":              fromProp("id"),
	"ReportId": {
		get: func(r *rec, c *table.Column) table.Value { return r.conv(r.prop(pID), c) },
		doc: "synthetic (Defender's own row id is not derivable): `properties.id`",
	},
	"GatewayJA4": unknown("the TLS fingerprint is not in the record; \"\""),
	"TenantId":   fromTop(fTenantID, "tenantId"),
	"Type": {
		get: func(r *rec, c *table.Column) table.Value { return table.Str(r.t.Name) },
		doc: "the table's name (AADSignInEventsBeta or EntraIdSignInEvents)",
	},
	"SourceSystem":                      unknown("no equivalent in the record; \"\""),
	"UniqueTokenId":                     fromProp("uniqueTokenIdentifier"),
	"IsThroughGlobalSecureAccess":       fromProp("isThroughGlobalSecureAccess"),
	"IsSignInThroughGlobalSecureAccess": fromProp("isThroughGlobalSecureAccess"),
}

// derivFor returns the derivation of column name of t.
func derivFor(t *table.Table, name string) (deriv, bool) {
	if table.IsDefender(t) {
		d, ok := defenderDerivs[name]
		return d, ok
	}
	d, ok := laDerivs[name]
	return d, ok
}

// resultType is ResultType: resultType verbatim, else status.errorCode.
func (r *rec) resultType(c *table.Column) table.Value {
	if v := r.top(fResultType); v.present() {
		return r.conv(v, c)
	}
	if v := r.prop(pStatus).get("errorCode"); v.isNumber() {
		return table.Str(v.text())
	}
	return table.Str("")
}
