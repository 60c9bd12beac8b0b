package ehtest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/streamhunt/streamhunt/internal/ehtest"
)

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it.
func testCA(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ehtest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// staticCredential is an azcore.TokenCredential that hands out one token.
type staticCredential string

func (c staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestTheTLSListenerAcceptsTheJWTsATestAllowsAndRefusesOthers(t *testing.T) {
	serverTLS, pool := testCA(t)
	var mu sync.Mutex
	var audiences []string
	srv := newServer(t, ehtest.Options{TLS: serverTLS, AcceptJWT: func(token, audience string) bool {
		mu.Lock()
		defer mu.Unlock()
		audiences = append(audiences, audience)
		return token == "good-token"
	}})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	// The SDK's host name includes the port, which no certificate can name,
	// so the client names the server itself.
	consumer := func(cred azcore.TokenCredential) *azeventhubs.PartitionClient {
		c, err := azeventhubs.NewConsumerClient(srv.TLSNamespace(), "hub", azeventhubs.DefaultConsumerGroup, cred,
			&azeventhubs.ConsumerClientOptions{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, RetryOptions: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		pc, err := c.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close(context.Background()) })
		return pc
	}
	evs := receiveN(t, consumer(staticCredential("good-token")), 1)
	if string(evs[0].Body) != "over tls" {
		t.Errorf("read %q over TLS, want %q", evs[0].Body, "over tls")
	}
	want := "amqps://" + srv.TLSNamespace() + "/hub/ConsumerGroups/$Default/Partitions/0"
	mu.Lock()
	if len(audiences) == 0 || audiences[0] != want {
		t.Errorf("jwt audiences %v, want %s first", audiences, want)
	}
	mu.Unlock()

	_, err := consumer(staticCredential("forged")).ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
	var ehErr *azeventhubs.Error
	if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeUnauthorizedAccess {
		t.Fatalf("receive with a refused jwt: %v, want ErrorCodeUnauthorizedAccess", err)
	}
}

// earliest opens a partition client on partition 0 from the start.
func earliest(t *testing.T, cons *azeventhubs.ConsumerClient) *azeventhubs.PartitionClient {
	t.Helper()
	pc, err := cons.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to(true)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(context.Background()) })
	return pc
}

// readFor reads what arrives within d (a functional wait, not a timing check).
func readFor(pc *azeventhubs.PartitionClient, d time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	evs, err := pc.ReceiveEvents(ctx, 100, nil)
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	var out []string
	for _, ev := range evs {
		out = append(out, string(ev.Body))
	}
	return out, err
}

func TestAStalledPartitionDeliversNothingUntilResumed(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	pc := earliest(t, newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup))
	if err := srv.StallPartition("hub", "0", true); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("held")); err != nil {
		t.Fatal(err)
	}
	if got, err := readFor(pc, 300*time.Millisecond); len(got) != 0 || err != nil {
		t.Fatalf("stalled partition delivered %v (err %v), want nothing", got, err)
	}
	if err := srv.StallPartition("hub", "0", false); err != nil {
		t.Fatal(err)
	}
	if evs := receiveN(t, pc, 1); string(evs[0].Body) != "held" {
		t.Errorf("after resuming read %q, want held", evs[0].Body)
	}
}

func TestDetachedLinksRecoverWithoutLosingOrRepeatingEvents(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("one")); err != nil {
		t.Fatal(err)
	}
	pc := earliest(t, newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup))
	receiveN(t, pc, 1)
	n, err := srv.DetachLinks("hub", "0", "amqp:link:detach-forced", "injected by the test")
	if err != nil || n != 1 {
		t.Fatalf("DetachLinks detached %d links (err %v), want 1", n, err)
	}
	if err := srv.Publish("hub", "0", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if evs := receiveN(t, pc, 1); string(evs[0].Body) != "two" {
		t.Errorf("after the detach read %q, want two", evs[0].Body)
	}
}

func TestRefusedAttachesFailUntilTheServerAcceptsAgain(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.RefuseAttaches("amqp:not-allowed", "refused by the test")
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	_, err := earliest(t, cons).ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
	if err == nil || !strings.Contains(err.Error(), "refused by the test") {
		t.Fatalf("receive while attaches are refused: %v, want the injected error", err)
	}
	srv.RefuseAttaches("", "")
	if evs := receiveN(t, earliest(t, cons), 1); string(evs[0].Body) != "x" {
		t.Errorf("after accepting again read %q, want x", evs[0].Body)
	}
}

func TestOnlyTheNextAttachesAreRefusedWhenCounted(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("hub", "0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	srv.RefuseNextAttaches(1, "amqp:not-allowed", "refused once by the test")
	if _, err := earliest(t, cons).ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil); err == nil || !strings.Contains(err.Error(), "refused once") {
		t.Fatalf("first receive: %v, want the injected error", err)
	}
	if evs := receiveN(t, earliest(t, cons), 1); string(evs[0].Body) != "x" {
		t.Errorf("second receive read %q, want x", evs[0].Body)
	}
	// A retryable condition is retried by the SDK until it is accepted.
	srv.RefuseNextAttaches(2, "com.microsoft:server-busy", "busy for two attaches")
	if evs := receiveN(t, earliest(t, cons), 1); string(evs[0].Body) != "x" {
		t.Errorf("after two busy refusals read %q, want x", evs[0].Body)
	}
}

func TestDelayedResponsesOutlastAShortDeadline(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	if err := srv.CreateHub("hub", 1); err != nil {
		t.Fatal(err)
	}
	cons := newConsumer(t, srv, "hub", azeventhubs.DefaultConsumerGroup)
	srv.SetResponseDelay(5 * time.Second)
	_, err := cons.GetEventHubProperties(ctxFor(t, 300*time.Millisecond), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with responses delayed 5s a 300ms call returned %v, want DeadlineExceeded", err)
	}
	srv.SetResponseDelay(0)
	srv.DropConnections() // the abandoned call may have left the connection busy
	if _, err := cons.GetEventHubProperties(ctxFor(t, 10*time.Second), nil); err != nil {
		t.Fatalf("without the delay: %v", err)
	}
}

// sasToken signs a SharedAccessSignature for resource with key, as Azure
// tooling does.
func sasToken(resource, keyName, key string, expiry time.Time) string {
	sr := strings.ToLower(url.QueryEscape(resource))
	se := strconv.FormatInt(expiry.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(sr + "\n" + se))
	sig := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return fmt.Sprintf("SharedAccessSignature sr=%s&sig=%s&se=%s&skn=%s", sr, sig, se, keyName)
}

func TestPrecomputedSASTokensAreCheckedForKeyScopeAndExpiry(t *testing.T) {
	srv := newServer(t, ehtest.Options{})
	for _, hub := range []string{"hub", "other"} {
		if err := srv.CreateHub(hub, 1); err != nil {
			t.Fatal(err)
		}
		if err := srv.Publish(hub, "0", []byte(hub)); err != nil {
			t.Fatal(err)
		}
	}
	ns := srv.Namespace()
	hour := time.Now().Add(time.Hour)
	tests := []struct {
		name, token string
		ok          bool
	}{
		{"a token for the namespace is valid for every hub", sasToken(ns, ehtest.DefaultKeyName, ehtest.DefaultKey, hour), true},
		{"a token for the hub is valid for the hub", sasToken("amqp://"+ns+"/hub", ehtest.DefaultKeyName, ehtest.DefaultKey, hour), true},
		{"a token for another hub is refused", sasToken("amqp://"+ns+"/other", ehtest.DefaultKeyName, ehtest.DefaultKey, hour), false},
		{"an expired token is refused", sasToken(ns, ehtest.DefaultKeyName, ehtest.DefaultKey, time.Now().Add(-time.Minute)), false},
		{"a token signed with another key is refused", sasToken(ns, ehtest.DefaultKeyName, "b3RoZXI=", hour), false},
		{"a token naming another key is refused", sasToken(ns, "Listen", ehtest.DefaultKey, hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fmt.Sprintf("Endpoint=sb://%s;SharedAccessSignature=%s;EntityPath=hub;UseDevelopmentEmulator=true", ns, tt.token)
			cons, err := azeventhubs.NewConsumerClientFromConnectionString(cs, "", azeventhubs.DefaultConsumerGroup,
				&azeventhubs.ConsumerClientOptions{RetryOptions: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close(context.Background())
			pc := earliest(t, cons)
			evs, err := pc.ReceiveEvents(ctxFor(t, 10*time.Second), 1, nil)
			var ehErr *azeventhubs.Error
			switch {
			case tt.ok && (err != nil || string(evs[0].Body) != "hub"):
				t.Fatalf("read %v, %v; want the hub's event", evs, err)
			case !tt.ok && (!errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeUnauthorizedAccess):
				t.Fatalf("receive: %v, want ErrorCodeUnauthorizedAccess", err)
			}
		})
	}
}
