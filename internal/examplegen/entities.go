package main

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"
)

// The fictional tenant. Its domain and ids are invented; every IP address is
// from a documentation range (RFC 5737 and RFC 3849) and every AS number
// from the documentation AS range (RFC 5398).
const (
	tenantID     = "8f2c4b1e-5d3a-4c7e-9a61-0b7d2e4f9c35"
	tenantDomain = "contoso.example"
	// microsoftTenantID owns Microsoft's first-party applications.
	microsoftTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	mabAppID          = "29d9ed98-a469-4536-ade2-f981bc1d605e"
)

// day is the scenario's morning (UTC).
var day = time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)

// at returns the scenario time hh:mm:ss on day.
func at(h, m, s int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

// app is a client application (first-party ids are Microsoft's real ones).
type app struct{ id, name string }

var (
	appOffice       = app{"d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"}
	appTeams        = app{"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"}
	appPortal       = app{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"}
	appCLI          = app{"04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Microsoft Azure CLI"}
	appMAB          = app{mabAppID, "Microsoft Authentication Broker"}
	appOfficeHome   = app{"4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"}
	appOWA          = app{"9199bf20-a13f-4107-85dc-02114787ef48", "One Outlook Web"}
	appWindows      = app{"38aa3b87-a06d-4817-b275-7a316988d93b", "Windows Sign In"}
	appOutlookMob   = app{"27922004-5251-4030-b22d-91ecd9a37ea4", "Outlook Mobile"}
	appOneDrive     = app{"ab9b8c07-8f02-4f72-87fa-80105867a763", "OneDrive SyncEngine"}
	appCompanyPortl = app{"9ba1a5c7-f17a-4de9-a1f1-6178c8d51223", "Microsoft Intune Company Portal"}
	appEXO          = app{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"}
)

// resource is an API a token is issued for; spID is its service principal's
// object id in the tenant (invented, fixed by the seed).
type resource struct{ id, name, spID string }

var (
	resGraph, resEXO, resSPO, resTeams, resARM, resDRS, resAAD, resKeyVault, resStorage, resIntune resource
)

// place is where a sign-in comes from.
type place struct {
	ip                   string
	asn                  int
	city, state, country string
	lat, lon             float64
	named                string // trusted named location, "" if none
}

var (
	officeAMS  = place{"192.0.2.10", 64500, "Amsterdam", "Noord-Holland", "NL", 52.3740, 4.8897, "Contoso Amsterdam HQ"}
	officeAMS2 = place{"192.0.2.11", 64500, "Amsterdam", "Noord-Holland", "NL", 52.3740, 4.8897, "Contoso Amsterdam HQ"}
	officeUTR  = place{"192.0.2.40", 64500, "Utrecht", "Utrecht", "NL", 52.0907, 5.1214, "Contoso Utrecht"}
	serverDC   = place{"192.0.2.20", 64500, "Amsterdam", "Noord-Holland", "NL", 52.3740, 4.8897, "Contoso Amsterdam HQ"}

	// The attacker's egress points (STORM-2372 used rented VPS and proxies).
	attackUS = place{"198.51.100.23", 64510, "Ashburn", "Virginia", "US", 39.0437, -77.4875, ""}
	attackDE = place{"203.0.113.54", 64511, "Frankfurt am Main", "Hessen", "DE", 50.1109, 8.6821, ""}
	attackRO = place{"203.0.113.77", 64512, "Bucharest", "Bucuresti", "RO", 44.4268, 26.1025, ""}
	attackNL = place{"198.51.100.140", 64510, "Amsterdam", "Noord-Holland", "NL", 52.3740, 4.8897, ""}
)

// homeTowns are where home-working users are; their addresses come from
// the IPv6 documentation prefix or the upper half of 192.0.2.0/24.
var homeTowns = []struct {
	city, state string
	lat, lon    float64
}{
	{"Haarlem", "Noord-Holland", 52.3874, 4.6462},
	{"Rotterdam", "Zuid-Holland", 51.9225, 4.4792},
	{"Leiden", "Zuid-Holland", 52.1601, 4.4970},
	{"Amersfoort", "Utrecht", 52.1561, 5.3878},
	{"Almere", "Flevoland", 52.3508, 5.2647},
	{"Zaandam", "Noord-Holland", 52.4420, 4.8292},
}

// device is a user's device as deviceDetail shows it.
type device struct {
	id, name, os, browser string
	compliant, managed    *bool
	trust                 string
}

var (
	yes = ptr(true)
	no  = ptr(false)
)

func ptr[T any](v T) *T { return &v }

// unmanaged is a browser on a device Entra does not know.
func unmanaged(os, browser string) device { return device{os: os, browser: browser} }

// user is a member of the tenant.
type user struct {
	id, name, upn string
	laptop        device
	phone         *device
	home          place
	worksFromHome bool
	personal      device // browser on a personal computer at home
}

// gen holds the generator's random source and what it has produced.
type gen struct {
	r       *rand.Rand
	records []*record
}

// newGen returns a generator with the scenario's fixed seed.
func newGen() *gen {
	return &gen{r: rand.New(rand.NewPCG(0x5717_2372, 0x0de7_1ce5))}
}

// uuid returns a random version-4 GUID.
func (g *gen) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// requestID returns a sign-in id: Entra's request ids end in a zero byte
// (…2e00, …b000, …0100 in real records).
func (g *gen) requestID() string {
	s := g.uuid()
	return s[:len(s)-2] + "00"
}

// tokenID returns a uniqueTokenIdentifier: 16 bytes, base64url, no padding.
func (g *gen) tokenID() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// between returns a random duration in [lo, hi).
func (g *gen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)))
}

// frac adds a random sub-second part with 100 ns resolution.
func (g *gen) frac(t time.Time) time.Time {
	return t.Add(time.Duration(g.r.Int64N(10_000_000)) * 100)
}

// pick returns a random element.
func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// chance is true with probability p.
func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// laptop returns a new managed company laptop.
func (g *gen) laptop(n int, hybrid bool) device {
	trust := "Azure AD joined"
	if hybrid {
		trust = "Hybrid Azure AD joined"
	}
	return device{id: g.uuid(), name: fmt.Sprintf("CTS-LT-%04d", n), os: "Windows10", browser: "Edge 154.0.0", compliant: yes, managed: yes, trust: trust}
}

// iphone returns a new company-registered phone.
func (g *gen) iphone(first string) *device {
	return &device{id: g.uuid(), name: first + "'s iPhone", os: "Ios 26.1", browser: "Mobile Safari", compliant: yes, managed: yes, trust: "Azure AD registered"}
}

// homePlace returns a home connection in one of the home towns.
func (g *gen) homePlace(i int) place {
	t := homeTowns[i%len(homeTowns)]
	ip := fmt.Sprintf("2001:db8:%x:%x::%x", 0x4a00+i, g.r.IntN(0xffff), 1+g.r.IntN(0xfff))
	asn := 64501
	if i%3 == 0 {
		ip = fmt.Sprintf("192.0.2.%d", 130+i)
		asn = 64502
	}
	return place{ip: ip, asn: asn, city: t.city, state: t.state, country: "NL", lat: t.lat, lon: t.lon}
}

// The people of the story.
var (
	anna, mark, sophie, pieter *user // phished
	lotte, daan, emma          *user // benign device code
	room                       *user // Teams Rooms resource account
	staff                      []*user
)

var staffNames = []string{
	"Anna de Vries", "Mark Jansen", "Sophie Bakker", "Pieter Visser", "Lotte Smit", "Daan Mulder", "Emma de Boer",
	"Thomas van Dijk", "Julia Meijer", "Lucas de Graaf", "Sanne Hendriks", "Bram Peters", "Fleur van Leeuwen",
	"Ruben Dekker", "Eva Brouwer", "Jesse de Wit", "Noor Dijkstra", "Sem Vos", "Lisa Kok", "Tim Jacobs",
	"Iris van den Berg", "Milan Willems", "Sara Hoekstra", "Kevin Schouten",
}

// upnOf makes "anna.devries@contoso.example" from "Anna de Vries".
func upnOf(name string) string {
	first, rest := "", ""
	for i, c := range name {
		if c == ' ' {
			first, rest = name[:i], name[i+1:]
			break
		}
	}
	last := make([]byte, 0, len(rest))
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c == ' ' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		last = append(last, c)
	}
	f := []byte(first)
	if f[0] >= 'A' && f[0] <= 'Z' {
		f[0] += 'a' - 'A'
	}
	return string(f) + "." + string(last) + "@" + tenantDomain
}

// setup creates the tenant's fixed ids, people and devices.
func (g *gen) setup() {
	mk := func(id, name string) resource { return resource{id, name, g.uuid()} }
	resGraph = mk("00000003-0000-0000-c000-000000000000", "Microsoft Graph")
	resEXO = mk("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online")
	resSPO = mk("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online")
	resTeams = mk("cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "Microsoft Teams Services")
	resARM = mk("797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API")
	resDRS = mk("01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9", "Device Registration Service")
	resAAD = mk("00000002-0000-0000-c000-000000000000", "Windows Azure Active Directory")
	resKeyVault = mk("cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "Azure Key Vault")
	resStorage = mk("e406a681-f3d4-42a8-90b6-c2b029497af1", "Azure Storage")
	resIntune = mk("0000000a-0000-0000-c000-000000000000", "Microsoft Intune")

	staff = nil
	for i, name := range staffNames {
		u := &user{id: g.uuid(), name: name, upn: upnOf(name)}
		u.laptop = g.laptop(1100+7*i, i%4 == 1)
		if i%3 != 2 {
			first := name[:indexSpace(name)]
			u.phone = g.iphone(first)
		}
		u.home = g.homePlace(i)
		u.worksFromHome = g.chance(0.3)
		u.personal = unmanaged("Windows10", "Chrome 154.0.0")
		if i%5 == 3 {
			u.personal = unmanaged("MacOs", "Safari 26.1")
		}
		staff = append(staff, u)
	}
	anna, mark, sophie, pieter = staff[0], staff[1], staff[2], staff[3]
	lotte, daan, emma = staff[4], staff[5], staff[6]
	// The victims were in the office or at home when the lure arrived; the
	// sign-ins that matter come from the attacker's devices anyway.
	anna.worksFromHome, mark.worksFromHome, sophie.worksFromHome, pieter.worksFromHome = false, true, false, false
	daan.worksFromHome, lotte.worksFromHome, emma.worksFromHome = false, false, false
	room = &user{id: g.uuid(), name: "Boardroom 3.01", upn: "mtr-boardroom301@" + tenantDomain}
}

func indexSpace(s string) int {
	for i, c := range s {
		if c == ' ' {
			return i
		}
	}
	return len(s)
}
