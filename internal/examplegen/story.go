package main

import (
	"fmt"
	"time"
)

// User agents.
const (
	uaEdge       = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36 Edg/154.0.0.0"
	uaChrome     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/154.0.0.0 Safari/537.36"
	uaSafariMac  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15"
	uaWindows    = "Windows-AzureAD-Authentication-Provider/1.0"
	uaOutlookIOS = "Outlook-iOS/5.2546.0 (iPhone; iOS 26.1)"
	uaPython     = "python-requests/2.32.5"
	uaAzCLI      = "python/3.12.10 (Windows-11-10.0.26100-SP0) AZURECLI/2.80.0 (MSI)"
	uaTeamsRoom  = "Dalvik/2.1.0 (Linux; U; Android 12; TC10 Build/2.1.0)"
)

// Planted roles: the records the story is about.
const (
	roleVictimOffice    = "phish-anna-office"
	roleVictimTeams     = "phish-mark-teams"
	roleVictimBroker    = "phish-sophie-broker"
	roleVictimOffice2   = "phish-pieter-office"
	roleOnboarding      = "benign-emma-broker-onboarding"
	roleJoinedBroker    = "benign-lotte-broker-joined"
	roleAdminCLI        = "benign-daan-azure-cli"
	roleRoomInterrupted = "benign-room-interrupted"
	roleInterrupt       = "-cmsi-interrupt" // suffix of the 50199 before a planted success
	roleRedemption      = "-redemption"     // suffix of the attacker's token redemptions
)

// background is every ordinary sign-in of the morning.
func (g *gen) background() {
	start := at(6, 45, 0)
	end := at(11, 30, 0)

	for i, u := range staff {
		arrive := start.Add(g.between(0, 150*time.Minute))
		pl := officeAMS
		if i%4 == 2 {
			pl = officeUTR
		}
		if u.worksFromHome {
			pl = u.home
		}
		// Windows logon with Windows Hello: the device gets its PRT (the
		// others unlocked a session that already had one).
		if i%2 == 0 {
			g.add(signIn{interactive: true, at: arrive, u: u, app: appWindows, res: resAAD, pl: pl, dev: u.laptop,
				ua: uaWindows, clientApp: "Mobile Apps and Desktop clients", auth: authWHfB, mfa: true, ca: caMFAOnly})
		}
		// Desktop apps start with SSO from the PRT.
		t := arrive.Add(g.between(30*time.Second, 3*time.Minute))
		desktop := pick(g, []app{appTeams, appOffice})
		g.add(signIn{interactive: true, at: t, u: u, app: desktop, res: pick(g, []resource{resGraph, resTeams, resEXO}), pl: pl,
			dev: u.laptop, ua: uaEdge, clientApp: "Mobile Apps and Desktop clients", incoming: "primaryRefreshToken",
			auth: authPRT, mfa: true, ca: caMFAOnly})
		// A browser visit to the portal of Microsoft 365, sometimes with the
		// "stay signed in?" interrupt first.
		if g.chance(0.35) || i%6 == 4 {
			t = t.Add(g.between(2*time.Minute, 40*time.Minute))
			sess := g.uuid()
			corr := g.uuid()
			if i%6 == 4 {
				g.add(signIn{interactive: true, at: t, u: u, app: appOfficeHome, res: resGraph, pl: pl, dev: u.laptop, ua: uaEdge,
					clientApp: "Browser", errCode: 50140, auth: authPRT, mfa: true, ca: caMFAOnly, corr: corr, sess: sess})
				t = t.Add(g.between(3*time.Second, 12*time.Second))
			}
			g.add(signIn{interactive: true, at: t, u: u, app: pick(g, []app{appOfficeHome, appOWA}), res: pick(g, []resource{resGraph, resEXO}),
				pl: pl, dev: u.laptop, ua: uaEdge, clientApp: "Browser", auth: authPRT, mfa: true, ca: caMFAOnly, corr: corr, sess: sess})
		}
		// Token refreshes of the desktop apps for the rest of the morning.
		sess := g.uuid()
		for t := arrive.Add(g.between(5*time.Minute, 20*time.Minute)); t.Before(end); t = t.Add(g.between(18*time.Minute, 50*time.Minute)) {
			a, res, scope := pick(g, refreshes)()
			g.add(signIn{at: t, u: u, app: a, res: res, pl: pl, dev: u.laptop, ua: uaEdge, clientApp: "Mobile Apps and Desktop clients",
				incoming: pick(g, []string{"primaryRefreshToken", "refreshToken"}), mfa: true, ca: caMFAOnly, sess: sess, scope: scope})
		}
		// Outlook on the company phone.
		if u.phone != nil && g.chance(0.6) {
			for t := arrive.Add(-g.between(10*time.Minute, 40*time.Minute)); t.Before(end); t = t.Add(g.between(45*time.Minute, 90*time.Minute)) {
				g.add(signIn{at: t, u: u, app: appOutlookMob, res: resEXO, pl: u.home, dev: *u.phone, ua: uaOutlookIOS,
					clientApp: "Mobile Apps and Desktop clients", incoming: "refreshToken", mfa: true, ca: caMFAOnly,
					scope: `["EWS.AccessAsUser.All"]`})
			}
		}
	}

	// Failures and what followed them.
	julia, bram, fleur, ruben, eva, jesse, sem, tim, sara := staff[8], staff[11], staff[12], staff[13], staff[14], staff[15], staff[17], staff[19], staff[22]
	for k, u := range []*user{julia, sem, tim} { // mistyped passwords
		t := at(7, 20+31*k, 5+k)
		pl := u.home
		g.add(signIn{interactive: true, at: t, u: u, app: appOWA, res: resEXO, pl: pl, dev: u.personal, ua: uaChrome, clientApp: "Browser",
			errCode: 50126, auth: authBadPassword})
		g.add(signIn{interactive: true, at: t.Add(g.between(15*time.Second, 50*time.Second)), u: u, app: appOWA, res: resEXO, pl: pl,
			dev: u.personal, ua: uaChrome, clientApp: "Browser", auth: authPasswordMFA, mfa: true, ca: caMFAOnly})
	}
	for k, u := range []*user{fleur, ruben, eva} { // MFA required, then done
		t := at(8, 3+47*k, 40)
		corr, sess := g.uuid(), g.uuid()
		g.add(signIn{interactive: true, at: t, u: u, app: appOfficeHome, res: resGraph, pl: u.home, dev: u.personal, ua: uaChrome,
			clientApp: "Browser", errCode: 50074, auth: authPassword, mfa: true, corr: corr, sess: sess})
		g.add(signIn{interactive: true, at: t.Add(g.between(12*time.Second, 40*time.Second)), u: u, app: appOfficeHome, res: resGraph,
			pl: u.home, dev: u.personal, ua: uaChrome, clientApp: "Browser", auth: authPasswordMFA, mfa: true, ca: caMFAOnly, corr: corr, sess: sess})
	}
	for k, u := range []*user{bram, jesse} { // Azure portal from a personal computer: CA003 blocks
		g.add(signIn{interactive: true, at: at(9, 14+63*k, 2), u: u, app: appPortal, res: resARM, pl: u.home, dev: u.personal,
			ua: uaChrome, clientApp: "Browser", errCode: 53003, auth: authPasswordMFA, mfa: true, ca: caBlocked})
	}
	// A user travelling: a low-risk sign-in (unfamiliar location), not device code.
	london := place{"192.0.2.201", 64503, "London", "England", "GB", 51.5072, -0.1276, ""}
	g.add(signIn{interactive: true, at: at(7, 41, 19), u: sara, app: appOWA, res: resEXO, pl: london, dev: sara.laptop, ua: uaEdge,
		clientApp: "Browser", auth: authPasswordMFA, mfa: true, ca: caMFAOnly,
		risk: risk{"low", "low", "atRisk", []string{"unfamiliarFeatures"}}})

	// Service principals.
	sps := []servicePrincipal{
		{g.uuid(), g.uuid(), "contoso-hr-sync", "clientSecret", g.uuid(), "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.20348.2849", resGraph, 20 * time.Minute},
		{g.uuid(), g.uuid(), "Contoso Backup Agent", "clientAssertion", g.uuid(), "azsdk-net-Identity/1.13.1 (.NET 8.0.11; Microsoft Windows 10.0.20348)", resStorage, 30 * time.Minute},
		{g.uuid(), g.uuid(), "contoso-ticketing-connector", "clientSecret", g.uuid(), "okhttp/4.12.0", resEXO, 30 * time.Minute},
	}
	for k, sp := range sps {
		for t := start.Add(g.between(0, sp.every)); t.Before(end); t = t.Add(sp.every + g.between(-40*time.Second, 40*time.Second)) {
			errCode := 0
			if k == 2 && t.After(at(9, 0, 0)) && t.Before(at(9, 41, 0)) {
				errCode = 7000215 // an expired secret until someone rotated it
			}
			g.addServicePrincipal(sp, t, errCode)
		}
	}

	// Managed identities.
	mis := []managedIdentity{
		{g.uuid(), g.uuid(), "func-contoso-invoices", []resource{resKeyVault, resStorage}, 12 * time.Minute},
		{g.uuid(), g.uuid(), "vm-contoso-build01", []resource{resARM, resStorage}, 20 * time.Minute},
	}
	for _, mi := range mis {
		for t := start.Add(g.between(0, mi.every)); t.Before(end); t = t.Add(mi.every + g.between(-30*time.Second, 30*time.Second)) {
			g.addManagedIdentity(mi, pick(g, mi.res), t)
		}
	}
}

// refreshes are the non-interactive token requests desktop apps make.
var refreshes = []func() (app, resource, string){
	func() (app, resource, string) { return appTeams, resTeams, `["user_impersonation"]` },
	func() (app, resource, string) { return appTeams, resGraph, `["User.Read","Files.ReadWrite.All"]` },
	func() (app, resource, string) { return appOffice, resEXO, `["EWS.AccessAsUser.All"]` },
	func() (app, resource, string) { return appOffice, resSPO, `["AllSites.Write"]` },
	func() (app, resource, string) { return appOneDrive, resSPO, `["AllSites.Write","MyFiles.Write"]` },
}

// victim describes one phished user and the attacker's use of the code.
type victim struct {
	u       *user
	at      time.Time
	app     app
	res     resource
	pl      place
	browser device
	ua      string
	risk    risk
	role    string
}

// deviceCode plays one device code flow: optionally the CMSI interrupt
// (50199), then (when complete) the successful interactive sign-in, and the
// polling client's token redemption and refreshes. It returns the success
// record (nil when the flow never completed).
func (g *gen) deviceCode(v victim, complete bool, redeemFrom place, redeemDev device, redeemUA string, follow []resource) *record {
	corr, sess := g.uuid(), g.uuid()
	base := signIn{interactive: true, u: v.u, app: v.app, res: v.res, pl: v.pl, dev: v.browser, ua: v.ua,
		clientApp: "Mobile Apps and Desktop clients", protocol: "deviceCode", auth: authPasswordMFA, mfa: true,
		risk: v.risk, corr: corr, sess: sess}
	intr := base
	intr.at, intr.errCode, intr.ca, intr.role = v.at, 50199, caNone, v.role+roleInterrupt
	intr.mfa = false
	intr.auth = authPassword
	g.add(intr)
	if !complete {
		return nil
	}
	ok := base
	ok.at, ok.ca, ok.role = v.at.Add(g.between(20*time.Second, 55*time.Second)), caMFAOnly, v.role
	if v.u == daan {
		ok.ca = caMgmt
	}
	succ := g.add(ok)
	// The polling client redeems the device code: a non-interactive sign-in
	// from wherever the client runs, same correlation and session.
	t := ok.at.Add(g.between(2*time.Second, 6*time.Second))
	incoming := "none"
	for i, res := range append([]resource{v.res}, follow...) {
		g.add(signIn{at: t, u: v.u, app: v.app, res: res, pl: redeemFrom, dev: redeemDev, ua: redeemUA,
			clientApp: "Mobile Apps and Desktop clients", transfer: "deviceCodeFlow", incoming: incoming, mfa: true,
			risk: risk{"none", v.risk.aggregated, v.risk.state, nil}, ca: caMFAOnly, corr: corr, sess: sess,
			scope: `[".default"]`, role: fmt.Sprintf("%s%s-%d", v.role, roleRedemption, i)})
		incoming = "refreshToken"
		t = t.Add(g.between(6*time.Minute, 28*time.Minute))
	}
	return succ
}

// attack plays the STORM-2372-style device code phishing and the benign
// device code sign-ins around it.
func (g *gen) attack() {
	medium := risk{"medium", "medium", "atRisk", []string{"unfamiliarFeatures"}}
	high := risk{"high", "high", "atRisk", []string{"anonymizedIPAddress", "unfamiliarFeatures"}}
	py := unmanaged("", "Python Requests 2.32")

	// Benign, 07:52: an admin runs `az login --use-device-code` on his
	// managed laptop (CLI inside WSL, so device code).
	g.deviceCode(victim{u: daan, at: at(7, 52, 13), app: appCLI, res: resARM, pl: officeAMS, browser: daan.laptop, ua: uaAzCLI,
		role: roleAdminCLI}, true, officeAMS, daan.laptop, uaAzCLI, []resource{resARM, resGraph})

	// 08:12 Anna (Finance) enters the attacker's code for Microsoft Office.
	g.deviceCode(victim{u: anna, at: at(8, 12, 10), app: appOffice, res: resGraph, pl: attackUS,
		browser: unmanaged("Windows10", "Chrome 154.0.0"), ua: uaChrome, risk: noRisk, role: roleVictimOffice},
		true, attackUS, py, uaPython, []resource{resEXO, resSPO, resGraph})

	// 08:27 Mark (Sales) after a fake Teams meeting invite: Microsoft Teams.
	g.deviceCode(victim{u: mark, at: at(8, 27, 44), app: appTeams, res: resGraph, pl: attackDE,
		browser: unmanaged("MacOs", "Safari 26.1"), ua: uaSafariMac, risk: medium, role: roleVictimTeams},
		true, attackDE, py, uaPython, []resource{resEXO, resTeams})

	// 08:45 and 10:31: a Teams Rooms console waits for a code nobody enters.
	for k, t := range []time.Time{at(8, 45, 20), at(10, 31, 2)} {
		g.deviceCode(victim{u: room, at: t, app: appTeams, res: resTeams, pl: officeAMS,
			browser: unmanaged("Android", "Teams Rooms 5.2"), ua: uaTeamsRoom, risk: noRisk,
			role: fmt.Sprintf("%s-%d", roleRoomInterrupted, k)}, false, place{}, device{}, "", nil)
	}

	// 09:03 Sophie (HR): the PRT-phishing variant. The code is for the
	// Microsoft Authentication Broker and the Device Registration Service;
	// the attacker registers a device and gets a primary refresh token.
	attackerDev := device{id: g.uuid(), name: "DESKTOP-8KQ2M1T", os: "Windows10", browser: "Rich Client 10.0.26100", compliant: no, managed: no, trust: "Azure AD registered"}
	succ := g.deviceCode(victim{u: sophie, at: at(9, 3, 31), app: appMAB, res: resDRS, pl: attackRO,
		browser: unmanaged("Windows10", "Edge 154.0.0"), ua: uaEdge, risk: high, role: roleVictimBroker},
		true, attackRO, unmanaged("Windows10", "Edge 154.0.0"), uaEdge, nil)
	corr := succ.props.(*userProperties).CorrelationID
	g.addDeviceRegistration(sophie, attackerDev, attackRO.ip, at(9, 5, 12), corr)
	// The PRT of the rogue device in use: SSO to the Microsoft 365 portal and
	// mail, with a device id, so no device code rule sees these.
	prtSess := g.uuid()
	g.add(signIn{at: at(9, 6, 40), u: sophie, app: appMAB, res: resAAD, pl: attackRO, dev: attackerDev, ua: uaWindows,
		clientApp: "Mobile Apps and Desktop clients", incoming: "primaryRefreshToken", mfa: true, ca: caMFAOnly, risk: risk{"none", "high", "atRisk", nil},
		sess: prtSess, scope: `["openid","profile"]`, role: roleVictimBroker + "-prt"})
	g.add(signIn{interactive: true, at: at(9, 11, 5), u: sophie, app: appOfficeHome, res: resGraph, pl: attackRO, dev: attackerDev, ua: uaEdge,
		clientApp: "Browser", incoming: "primaryRefreshToken", auth: authPRT, mfa: true, ca: caMFAOnly, risk: high,
		sess: prtSess, role: roleVictimBroker + "-prt-sso"})
	for k, t := range []time.Time{at(9, 15, 52), at(9, 38, 7), at(10, 4, 33)} {
		g.add(signIn{at: t, u: sophie, app: appOffice, res: resEXO, pl: attackRO, dev: attackerDev, ua: uaEdge,
			clientApp: "Mobile Apps and Desktop clients", incoming: "primaryRefreshToken", mfa: true, ca: caMFAOnly,
			risk: risk{"none", "high", "atRisk", nil}, sess: prtSess, scope: `["Mail.ReadWrite","Mail.Send"]`,
			role: fmt.Sprintf("%s-prt-%d", roleVictimBroker, k)})
	}

	// Benign, 09:40: Lotte (IT) re-registers the Company Portal on her
	// Entra-joined, compliant laptop; the broker uses device code with the
	// device's PRT, so the record carries the device id (as SEKOIA's sample).
	g.add(signIn{interactive: true, at: at(9, 40, 26), u: lotte, app: appMAB, res: resIntune, pl: officeAMS, dev: lotte.laptop,
		ua: uaEdge, clientApp: "Mobile Apps and Desktop clients", protocol: "deviceCode", incoming: "primaryRefreshToken",
		auth: authPRT, mfa: true, ca: caMFAOnly, role: roleJoinedBroker})

	// Benign, 10:02: Emma's brand-new laptop is onboarded at the service
	// desk: the broker's device code flow on a device not yet registered.
	newLaptop := g.laptop(1300, false)
	g.deviceCode(victim{u: emma, at: at(10, 2, 9), app: appMAB, res: resDRS, pl: officeAMS2,
		browser: unmanaged("Windows10", "Rich Client 10.0.26100"), ua: uaWindows, risk: noRisk, role: roleOnboarding},
		true, officeAMS2, unmanaged("Windows10", "Rich Client 10.0.26100"), uaWindows, nil)
	for k, a := range []app{appCompanyPortl, appTeams, appOffice} {
		res := []resource{resIntune, resTeams, resEXO}[k]
		g.add(signIn{at: at(10, 9+6*k, 14), u: emma, app: a, res: res, pl: officeAMS2, dev: newLaptop, ua: uaEdge,
			clientApp: "Mobile Apps and Desktop clients", incoming: "primaryRefreshToken", mfa: true, ca: caMFAOnly,
			scope: `["user_impersonation"]`})
	}

	// 10:18 Pieter (Procurement): Microsoft Office again, from a VPS in
	// Amsterdam, so the location alone looks normal.
	g.deviceCode(victim{u: pieter, at: at(10, 18, 57), app: appOffice, res: resGraph, pl: attackNL,
		browser: unmanaged("Windows10", "Chrome 154.0.0"), ua: uaChrome, risk: noRisk, role: roleVictimOffice2},
		true, attackNL, py, uaPython, []resource{resEXO, resGraph})
}
