package main

import (
	"time"
)

// servicePrincipal is an app registration of the tenant signing in with its
// own credential (client credentials grant).
type servicePrincipal struct {
	appID, spID, name, credType, keyID, ua string
	res                                    resource
	every                                  time.Duration
}

// managedIdentity is an Azure resource's managed identity.
type managedIdentity struct {
	appID, spID, name string
	res               []resource
	every             time.Duration
}

// addServicePrincipal adds one ServicePrincipalSignInLogs record.
func (g *gen) addServicePrincipal(sp servicePrincipal, t time.Time, errCode int) *record {
	created := g.frac(t)
	id := g.requestID()
	corr := g.uuid()
	caStatus, _ := policies(caNone)
	p := &servicePrincipalProperties{
		ID:                               id,
		CreatedDateTime:                  formatCreated(created),
		UserID:                           nil,
		Agent:                            agentDetail{"notAgentic", ""},
		AppID:                            sp.appID,
		IPAddress:                        serverDC.ip,
		Status:                           statusDetail{ErrorCode: errCode, FailureReason: failureReasons[errCode]},
		UserAgent:                        sp.ua,
		Location:                         locationDetail{serverDC.city, serverDC.state, serverDC.country, geoCoordinates{float64(float32(serverDC.lat)), float64(float32(serverDC.lon))}},
		CorrelationID:                    corr,
		ConditionalAccessStatus:          caStatus,
		AppliedConditionalAccessPolicies: []caPolicy{},
		IsInteractive:                    false,
		TokenIssuerType:                  "AzureAD",
		AuthenticationProcessingDetails:  []keyValue{{"Azure AD App Authentication Library", "Family: MSAL Library: MSAL.NET 4.66.2 Platform: .NET 8"}},
		NetworkLocationDetails:           []networkLocation{{"trustedNamedLocation", []string{serverDC.named}}},
		ClientCredentialType:             sp.credType,
		ProcessingTimeInMilliseconds:     g.r.IntN(60),
		RiskDetail:                       "none",
		RiskLevelAggregated:              "none",
		RiskLevelDuringSignIn:            "none",
		RiskState:                        "none",
		ResourceDisplayName:              sp.res.name,
		ResourceID:                       sp.res.id,
		ServicePrincipalName:             sp.name,
		ServicePrincipalID:               sp.spID,
		CrossTenantAccessType:            "none",
		ServicePrincipalCredentialKeyID:  sp.keyID,
		UniqueTokenIdentifier:            g.tokenID(),
		IncomingTokenType:                "none",
		AuthenticationProtocol:           "none",
		ResourceServicePrincipalID:       sp.res.spID,
		SignInTokenProtectionStatus:      "none",
		OriginalTransferMethod:           "none",
		ConditionalAccessAudiences:       []string{sp.res.id},
		SessionID:                        "",
		AppOwnerTenantID:                 tenantID,
		ResourceOwnerTenantID:            microsoftTenantID,
	}
	if errCode != 0 {
		p.UniqueTokenIdentifier = ""
		p.ConditionalAccessAudiences = []string{}
	}
	return g.keep(&record{
		category: catServicePrincipal,
		created:  created,
		id:       id,
		props:    p,
		top:      g.top(catServicePrincipal, created, errCode, serverDC.ip, corr, "", serverDC.country),
	})
}

// addManagedIdentity adds one ManagedIdentitySignInLogs record: no caller
// IP, identity or location at the top, userId null, ipAddress "".
func (g *gen) addManagedIdentity(mi managedIdentity, res resource, t time.Time) *record {
	created := g.frac(t)
	id := g.requestID()
	corr := g.uuid()
	p := &managedIdentityProperties{
		ID:                               id,
		CreatedDateTime:                  formatCreated(created),
		UserID:                           nil,
		AppID:                            mi.appID,
		IPAddress:                        "",
		Status:                           statusDetail{},
		Location:                         locationDetail{},
		CorrelationID:                    corr,
		ConditionalAccessStatus:          "notApplied",
		AppliedConditionalAccessPolicies: []caPolicy{},
		IsInteractive:                    false,
		TokenIssuerType:                  "AzureAD",
		ProcessingTimeInMilliseconds:     0,
		RiskDetail:                       "none",
		RiskLevelAggregated:              "none",
		RiskLevelDuringSignIn:            "none",
		RiskState:                        "none",
		ResourceDisplayName:              res.name,
		ResourceID:                       res.id,
		ServicePrincipalName:             mi.name,
		ServicePrincipalID:               mi.spID,
		CrossTenantAccessType:            "none",
		UniqueTokenIdentifier:            g.tokenID(),
		IncomingTokenType:                "none",
		AuthenticationProtocol:           "none",
		ResourceServicePrincipalID:       res.spID,
		SessionID:                        "",
	}
	return g.keep(&record{
		category: catManagedIdentity,
		created:  created,
		id:       id,
		props:    p,
		top:      g.top(catManagedIdentity, created, 0, "", corr, "", ""),
	})
}

// addDeviceRegistration adds the AuditLogs record of a device registration:
// Entra audit events can arrive on the sign-in hub when one diagnostic
// setting sends several categories to it.
func (g *gen) addDeviceRegistration(u *user, dev device, ip string, t time.Time, corr string) *record {
	created := g.frac(t)
	id := "Directory_" + corr + "_" + "AV0QK_" + g.tokenID()[:8]
	p := &auditProperties{
		ID:                  id,
		Category:            "Device",
		CorrelationID:       corr,
		Result:              "success",
		ResultReason:        "",
		ActivityDisplayName: "Register device",
		ActivityDateTime:    formatCreated(created),
		LoggedByService:     "Core Directory",
		OperationType:       "Add",
		InitiatedBy:         auditInitiator{auditUser{ID: u.id, DisplayName: nil, UserPrincipalName: u.upn, IPAddress: ip}},
		TargetResources: []auditTarget{{
			ID:          dev.id,
			DisplayName: dev.name,
			Type:        "Device",
			ModifiedProperties: []auditModified{
				{"AccountEnabled", "[]", "[true]"},
				{"OSType", "[]", `["Windows"]`},
				{"DeviceTrustType", "[]", `["Workplace"]`},
			},
		}},
		AdditionalDetails: []keyValue{
			{"Device Id", dev.id},
			{"Device OS", "Windows"},
			{"Device Trust Type", "Workplace"},
			{"AdditionalInfo", "MS-Organization-Access"},
		},
	}
	logged := created.Add(g.between(20*time.Second, 90*time.Second))
	r := &record{
		category: catAudit,
		created:  created,
		id:       id,
		props:    p,
		role:     "audit-device-registration",
		top: []field{
			{"time", marshal(formatTime(logged))},
			{"resourceId", marshal("/tenants/" + tenantID + "/providers/Microsoft.aadiam")},
			{"operationName", marshal("Register device")},
			{"operationVersion", marshal("1.0")},
			{"category", marshal(catAudit)},
			{"tenantId", marshal(tenantID)},
			{"resultSignature", marshal("None")},
			{"durationMs", []byte("0")},
			{"callerIpAddress", marshal("<null>")},
			{"correlationId", marshal(corr)},
			{"identity", marshal("Device Registration Service")},
			{"Level", []byte("4")},
		},
	}
	return g.keep(r)
}
