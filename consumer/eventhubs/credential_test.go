package eventhubs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"go.uber.org/zap/zaptest"

	"github.com/streamhunt/streamhunt/internal/ehtest"
	"github.com/streamhunt/streamhunt/sink/sinktest"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ehtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// tokenCredential is a TokenCredential that hands out one fixed token, as
// workload or managed identity would hand out an Entra ID token.
type tokenCredential struct {
	token  string
	scopes atomic.Value
}

func (c *tokenCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.scopes.Store(o.Scopes)
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestTheEntraCredentialPathReadsOverTLSWithAToken(t *testing.T) {
	cert, pool := selfSigned(t)
	var mu sync.Mutex
	audiences := map[string]bool{}
	srv, err := ehtest.NewServer(ehtest.Options{
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		AcceptJWT: func(token, audience string) bool {
			mu.Lock()
			audiences[audience] = true
			mu.Unlock()
			return token == "entra-token-for-tests"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hub := "insights-logs-noninteractiveusersigninlogs"
	if err := srv.CreateHub(hub, 2); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, hub: hub, sink: &sinktest.Recorder{}, dead: &sinktest.Store{}, proc: &testProcessor{}}
	f.container = newFixture(t, 1).container // Azurite for checkpoints
	f.cname = "cred" + time.Now().Format("150405") + "x" + randSuffix()
	store := f.store()
	recs := records("tok", 4)
	f.publish("1", recs...)

	cred := &tokenCredential{token: "entra-token-for-tests"}
	opts := f.options(store)
	opts.ConnectionString = ""
	opts.Namespace = srv.TLSNamespace()
	opts.Credential = cred
	// The SDK verifies the namespace "127.0.0.1:PORT" as the server name; a
	// real namespace is a DNS name, so name the certificate's explicitly.
	opts.ClientOptions.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	opts.Logger = zaptest.NewLogger(t)
	start(t, opts)
	eventually(t, "findings read with the token", func() bool { return hasAll(uniqueIDs(f.sink.FindingIDs()), recs) })
	if s, _ := cred.scopes.Load().([]string); len(s) != 1 || s[0] != "https://eventhubs.azure.net//.default" {
		t.Errorf("token requested for scopes %v, want Event Hubs' https://eventhubs.azure.net//.default", s)
	}
	// The SDK puts each token to $cbs for the entity it opens (azeventhubs
	// v2.0.2 internal/namespace.go GetEntityAudience: "amqps://" + namespace
	// + "/" + entity path): the hub's $management link and its partitions in
	// the consumer group.
	base := "amqps://" + srv.TLSNamespace() + "/" + hub
	allowed := map[string]bool{base + "/$management": true}
	for _, p := range []string{"0", "1"} {
		allowed[base+"/ConsumerGroups/$Default/Partitions/"+p] = true
	}
	mu.Lock()
	defer mu.Unlock()
	for a := range audiences {
		if !allowed[a] {
			t.Errorf("a token was put for audience %q, not one of the hub's entities %v", a, allowed)
		}
	}
	if want := base + "/ConsumerGroups/$Default/Partitions/1"; !audiences[want] {
		t.Errorf("no token was put for %s, the partition the findings were read from (audiences %v)", want, audiences)
	}
}

var randSeq atomic.Int64

func randSuffix() string { return time.Now().Format("05") + string(rune('a'+randSeq.Add(1)%26)) }
