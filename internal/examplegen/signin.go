package main

import (
	"strconv"
	"time"
)

// Category names as diagnostic settings write them.
const (
	catInteractive      = "SignInLogs"
	catNonInteractive   = "NonInteractiveUserSignInLogs"
	catServicePrincipal = "ServicePrincipalSignInLogs"
	catManagedIdentity  = "ManagedIdentitySignInLogs"
	catAudit            = "AuditLogs"
)

// Failure texts of the AADSTS codes the scenario uses.
var failureReasons = map[int]string{
	50126:   "Error validating credentials due to invalid username or password.",
	50140:   "This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.",
	50074:   "Strong Authentication is required.",
	53003:   "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
	50199:   "For security reasons, user confirmation is required for this request. Please repeat the request allowing user interaction.",
	7000215: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'b7d1c4a2-5e8f-4a3b-9c6d-1e2f3a4b5c6d'.",
}

// The tenant's Conditional Access policies.
var (
	caMFA   = caPolicy{ID: "3b1f6e2a-7c4d-4e8b-a5f9-0c2d4e6f8a1b", DisplayName: "CA001 - Require MFA for all users", EnforcedGrantControls: []string{"Mfa"}}
	caAdmin = caPolicy{ID: "7f4c0e6a-1b3d-4c9f-85a8-4b6c8e0a2d5f", DisplayName: "CA003 - Require compliant device for Azure management", EnforcedGrantControls: []string{"RequireCompliantDevice"}}
)

// ca says how Conditional Access went for one sign-in.
type ca int

const (
	caNone    ca = iota // evaluation did not get that far (failed first factor, interrupts)
	caMFAOnly           // CA001 applied and satisfied
	caMgmt              // CA001 and CA003 applied and satisfied (Azure management)
	caBlocked           // CA003 blocked (53003)
)

func policies(c ca) (string, []caPolicy) {
	with := func(p caPolicy, result string) caPolicy {
		p.EnforcedSessionControls = []string{}
		p.Result = result
		switch result {
		case "success", "failure":
			p.ConditionsSatisfied, p.ConditionsNotSatisfied = 3, 0
		default:
			p.ConditionsSatisfied, p.ConditionsNotSatisfied = 1, 2
		}
		return p
	}
	switch c {
	case caMFAOnly:
		return "success", []caPolicy{with(caMFA, "success"), with(caAdmin, "notApplied")}
	case caMgmt:
		return "success", []caPolicy{with(caMFA, "success"), with(caAdmin, "success")}
	case caBlocked:
		return "failure", []caPolicy{with(caMFA, "success"), with(caAdmin, "failure")}
	}
	return "notApplied", []caPolicy{with(caMFA, "notApplied"), with(caAdmin, "notApplied")}
}

// auth is how the user proved who they are.
type auth int

const (
	authToken       auth = iota // non-interactive: no authentication steps
	authPRT                     // SSO with the primary refresh token
	authWHfB                    // Windows Hello for Business at logon
	authPassword                // password only
	authPasswordMFA             // password and Authenticator push
	authBadPassword             // wrong password
)

// risk is Identity Protection's verdict.
type risk struct {
	during, aggregated, state string
	events                    []string
}

var noRisk = risk{"none", "none", "none", nil}

// signIn describes one user sign-in (interactive or not).
type signIn struct {
	interactive bool
	at          time.Time
	u           *user
	app         app
	res         resource
	pl          place
	dev         device
	ua          string
	clientApp   string
	errCode     int
	protocol    string // authenticationProtocol
	transfer    string // originalTransferMethod
	incoming    string // incomingTokenType
	auth        auth
	mfa         bool // authenticationRequirement is MFA
	risk        risk
	ca          ca
	corr, sess  string
	scope       string // Oauth Scope Info (non-interactive)
	role        string
}

func authSteps(a auth, t time.Time) []authStep {
	ts := formatCreated(t)
	switch a {
	case authPRT:
		return []authStep{
			{AuthenticationStepDateTime: ts, AuthenticationMethod: "Previously satisfied", Succeeded: true, AuthenticationStepResultDetail: "First factor requirement satisfied by claim in the token", AuthenticationStepRequirement: "Primary authentication"},
			{AuthenticationStepDateTime: ts, AuthenticationMethod: "Previously satisfied", Succeeded: true, AuthenticationStepResultDetail: "MFA requirement satisfied by claim in the token", AuthenticationStepRequirement: "Primary authentication", RequestSequence: 1},
		}
	case authWHfB:
		return []authStep{{AuthenticationStepDateTime: ts, AuthenticationMethod: "Windows Hello for Business", Succeeded: true, AuthenticationStepResultDetail: "Correct PIN", AuthenticationStepRequirement: "Primary authentication"}}
	case authPassword:
		return []authStep{{AuthenticationStepDateTime: ts, AuthenticationMethod: "Password", AuthenticationMethodDetail: "Password in the cloud", Succeeded: true, AuthenticationStepResultDetail: "Correct password", AuthenticationStepRequirement: "Primary authentication"}}
	case authPasswordMFA:
		return []authStep{
			{AuthenticationStepDateTime: ts, AuthenticationMethod: "Password", AuthenticationMethodDetail: "Password in the cloud", Succeeded: true, AuthenticationStepResultDetail: "Correct password", AuthenticationStepRequirement: "Primary authentication"},
			{AuthenticationStepDateTime: formatCreated(t.Add(9 * time.Second)), AuthenticationMethod: "Mobile app notification", Succeeded: true, AuthenticationStepResultDetail: "MFA successfully completed", AuthenticationStepRequirement: "Multi-factor authentication", StatusSequence: 0, RequestSequence: 1},
		}
	case authBadPassword:
		return []authStep{{AuthenticationStepDateTime: ts, AuthenticationMethod: "Password", AuthenticationMethodDetail: "Password in the cloud", Succeeded: false, AuthenticationStepResultDetail: "Invalid username or password or Invalid on-premise username or password.", AuthenticationStepRequirement: "Primary authentication"}}
	}
	return []authStep{}
}

// add turns a sign-in description into a record and keeps it.
func (g *gen) add(s signIn) *record {
	created := g.frac(s.at)
	id := g.requestID()
	if s.corr == "" {
		s.corr = g.uuid()
	}
	if s.sess == "" {
		s.sess = g.uuid()
	}
	cat := catNonInteractive
	if s.interactive {
		cat = catInteractive
	}
	if s.protocol == "" {
		s.protocol = "none"
	}
	if s.transfer == "" {
		s.transfer = "none"
	}
	if s.incoming == "" {
		s.incoming = "none"
	}
	if s.risk.during == "" {
		s.risk = noRisk
	}
	st := statusDetail{ErrorCode: s.errCode, FailureReason: failureReasons[s.errCode]}
	if s.errCode == 0 {
		switch {
		case s.auth == authPasswordMFA:
			st.AdditionalDetails = "MFA completed in Azure AD"
		case s.mfa:
			st.AdditionalDetails = "MFA requirement satisfied by claim in the token"
		}
	}
	mfa := mfaDetail{}
	if s.auth == authPasswordMFA && s.errCode == 0 {
		mfa.AuthMethod = "Mobile app notification"
	}
	caStatus, caPols := policies(s.ca)
	apd := []keyValue{{"Legacy TLS (TLS 1.0, 1.1, 3DES)", "False"}}
	if !s.interactive {
		apd = append(apd, keyValue{"Oauth Scope Info", s.scope})
	}
	cae := "False"
	if !s.interactive && (s.res == resGraph || s.res == resEXO) {
		cae = "True"
	}
	apd = append(apd, keyValue{"Is CAE Token", cae})
	nets := []networkLocation{}
	if s.pl.named != "" {
		nets = append(nets, networkLocation{"trustedNamedLocation", []string{s.pl.named}})
	}
	req := "singleFactorAuthentication"
	reqPol := []requirementPolicy{}
	if s.mfa {
		req = "multiFactorAuthentication"
		if s.interactive {
			reqPol = append(reqPol, requirementPolicy{"multiConditionalAccess", "Conditional Access"})
		}
	}
	riskEvents := s.risk.events
	if riskEvents == nil {
		riskEvents = []string{}
	}
	tokenStatus := "none"
	tp := tokenProtection{"unbound", 1}
	if s.dev.id != "" && s.dev.trust != "Azure AD registered" {
		tp = tokenProtection{"bound", 0}
	}
	p := &userProperties{
		ID:                                   id,
		CreatedDateTime:                      formatCreated(created),
		UserDisplayName:                      s.u.name,
		UserPrincipalName:                    s.u.upn,
		UserID:                               s.u.id,
		Agent:                                agentDetail{"notAgentic", ""},
		AppID:                                s.app.id,
		AppDisplayName:                       s.app.name,
		IPAddress:                            s.pl.ip,
		Status:                               st,
		ClientAppUsed:                        s.clientApp,
		UserAgent:                            s.ua,
		DeviceDetail:                         deviceDetail{s.dev.id, s.dev.name, s.dev.os, s.dev.browser, s.dev.compliant, s.dev.managed, s.dev.trust},
		Location:                             locationDetail{s.pl.city, s.pl.state, s.pl.country, geoCoordinates{float64(float32(s.pl.lat)), float64(float32(s.pl.lon))}},
		MfaDetail:                            mfa,
		CorrelationID:                        s.corr,
		ConditionalAccessStatus:              caStatus,
		AppliedConditionalAccessPolicies:     caPols,
		AuthenticationContextClassReferences: []string{},
		OriginalRequestID:                    id,
		IsInteractive:                        s.interactive,
		TokenIssuerName:                      "",
		TokenIssuerType:                      "AzureAD",
		AuthenticationProcessingDetails:      apd,
		NetworkLocationDetails:               nets,
		ClientCredentialType:                 "none",
		ProcessingTimeInMilliseconds:         40 + g.r.IntN(400),
		RiskDetail:                           "none",
		RiskLevelAggregated:                  s.risk.aggregated,
		RiskLevelDuringSignIn:                s.risk.during,
		RiskState:                            s.risk.state,
		RiskEventTypes:                       riskEvents,
		RiskEventTypesV2:                     riskEvents,
		ResourceDisplayName:                  s.res.name,
		ResourceID:                           s.res.id,
		ResourceTenantID:                     tenantID,
		HomeTenantID:                         tenantID,
		TenantID:                             tenantID,
		AuthenticationDetails:                authSteps(s.auth, created),
		AuthenticationRequirementPolicies:    reqPol,
		SessionLifetimePolicies:              []keyValue{},
		AuthenticationRequirement:            req,
		ServicePrincipalID:                   "",
		UserType:                             "Member",
		AutonomousSystemNumber:               s.pl.asn,
		CrossTenantAccessType:                "none",
		UniqueTokenIdentifier:                g.tokenID(),
		AuthenticationStrengths:              []string{},
		IncomingTokenType:                    s.incoming,
		AuthenticationProtocol:               s.protocol,
		ResourceServicePrincipalID:           s.res.spID,
		SignInTokenProtectionStatus:          tokenStatus,
		TokenProtectionStatusDetails:         tp,
		OriginalTransferMethod:               s.transfer,
		ConditionalAccessAudiences:           []string{s.res.id},
		SessionID:                            s.sess,
		AppOwnerTenantID:                     microsoftTenantID,
		ResourceOwnerTenantID:                microsoftTenantID,
	}
	if s.interactive {
		p.AlternateSignInName = s.u.upn
		p.SignInIdentifier = s.u.upn
	} else {
		p.GlobalSecureAccessIPAddress = ptr("")
	}
	if s.errCode != 0 {
		p.ConditionalAccessAudiences = []string{}
		p.UniqueTokenIdentifier = ""
	}
	return g.keep(&record{
		category: cat,
		created:  created,
		id:       id,
		props:    p,
		role:     s.role,
		top:      g.top(cat, created, s.errCode, s.pl.ip, s.corr, s.u.name, s.pl.country),
	})
}

// top builds the top-level keys of a record in Azure's order. ip, identity
// and country are left out when empty (managed identities have none).
func (g *gen) top(cat string, created time.Time, errCode int, ip, corr, identity, country string) []field {
	logged := created.Add(g.between(60*time.Second, 240*time.Second))
	sig := "SUCCESS"
	if errCode != 0 {
		sig = "FAILURE"
	}
	f := []field{
		{"time", marshal(formatTime(logged))},
		{"resourceId", marshal("/tenants/" + tenantID + "/providers/Microsoft.aadiam")},
		{"operationName", marshal("Sign-in activity")},
		{"operationVersion", marshal("1.0")},
		{"category", marshal(cat)},
		{"tenantId", marshal(tenantID)},
		{"resultType", marshal(strconv.Itoa(errCode))},
		{"resultSignature", marshal(sig)},
	}
	if reason, ok := failureReasons[errCode]; ok {
		f = append(f, field{"resultDescription", marshal(reason)})
	}
	f = append(f, field{"durationMs", []byte("0")})
	if ip != "" {
		f = append(f, field{"callerIpAddress", marshal(ip)})
	}
	f = append(f, field{"correlationId", marshal(corr)})
	if identity != "" {
		f = append(f, field{"identity", marshal(identity)})
	}
	f = append(f, field{"Level", []byte("4")})
	if country != "" {
		f = append(f, field{"location", marshal(country)})
	}
	return f
}

// keep records r, setting its log time from its top-level time field.
func (g *gen) keep(r *record) *record {
	var s string
	for _, f := range r.top {
		if f.key == "time" {
			s = string(f.value[1 : len(f.value)-1])
		}
	}
	t, err := time.Parse("2006-01-02T15:04:05.0000000Z", s)
	if err != nil {
		panic(err)
	}
	r.logged = t
	g.records = append(g.records, r)
	return r
}
