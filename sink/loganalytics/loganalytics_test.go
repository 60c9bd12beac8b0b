package loganalytics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/internal/testenv"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/retry"
	"github.com/streamhunt/streamhunt/sink/sinktest"
)

const ruleID = "dcr-0123456789abcdef0123456789abcdef"

type fakeCred struct{}

func (fakeCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// ingestion is a Logs Ingestion API stand-in: it checks what the service
// checks and records the rows it accepted. answer, when set, can reply
// instead (429, 503, 413, 400).
type ingestion struct {
	t     *testing.T
	limit int
	// tight: the limit is stricter than the sink's, so 413 is expected.
	tight  bool
	mu     sync.Mutex
	sizes  []int
	rows   []map[string]json.RawMessage
	keys   [][]string
	answer func(w http.ResponseWriter, body []byte) bool
	calls  int
}

func (in *ingestion) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	in.mu.Lock()
	in.calls++
	in.mu.Unlock()
	fail := func(code int, msg string) {
		in.t.Errorf("ingestion: %s", msg)
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"code":"Bad","message":%q}}`, msg)
	}
	switch {
	case r.Method != http.MethodPost:
		fail(405, "method "+r.Method)
	case r.URL.Path != "/dataCollectionRules/"+ruleID+"/streams/Custom-StreamhuntFindings_CL":
		fail(404, "path "+r.URL.Path)
	case r.URL.Query().Get("api-version") != "2023-01-01":
		fail(400, "api-version "+r.URL.Query().Get("api-version"))
	case r.Header.Get("Authorization") != "Bearer fake-token":
		fail(401, "authorization "+r.Header.Get("Authorization"))
	case r.Header.Get("Content-Type") != "application/json":
		fail(415, "content type "+r.Header.Get("Content-Type"))
	case len(body) > in.limit && in.tight:
		w.WriteHeader(413)
		fmt.Fprint(w, `{"error":{"code":"ContentLengthLimitExceeded","message":"too large"}}`)
	case len(body) > in.limit:
		fail(413, fmt.Sprintf("body of %d bytes is over %d", len(body), in.limit))
	default:
		if in.answer != nil && in.answer(w, body) {
			return
		}
		var rows []map[string]json.RawMessage
		if err := json.Unmarshal(body, &rows); err != nil {
			fail(400, "body is not a JSON array of objects: "+err.Error())
			return
		}
		var keys []string
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.Token() // [
		dec.Token() // {
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			dec.Decode(&skip)
		}
		in.mu.Lock()
		in.sizes = append(in.sizes, len(body))
		in.rows = append(in.rows, rows...)
		in.keys = append(in.keys, keys)
		in.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (in *ingestion) findingIDs() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	ids := map[string]int{}
	for _, r := range in.rows {
		var id string
		json.Unmarshal(r["FindingId"], &id)
		ids[id]++
	}
	return ids
}

func start(t *testing.T, in *ingestion, cfg Config) (*Sink, *sinktest.Store) {
	t.Helper()
	in.t = t
	if in.limit == 0 {
		in.limit = 1 << 20
	}
	srv := httptest.NewTLSServer(in)
	t.Cleanup(srv.Close)
	store := &sinktest.Store{}
	cfg.Endpoint = srv.URL
	cfg.RuleID = ruleID
	cfg.DeadLetter = store
	if cfg.Retry == (retry.Policy{}) {
		cfg.Retry = retry.Policy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	}
	s, err := newSink(cfg, fakeCred{}, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, store
}

// bigBatch returns findings totalling about n bytes of rows, each with a
// 10 kB dynamic column as a chatty rule might output.
func bigBatch(n int) sink.Batch {
	pad := `{"note":"` + strings.Repeat("x", 10_000) + `"}`
	count := n/10_000 + 1
	b := sinktest.Batch(0, count)
	for i := range b.Findings {
		b.Findings[i].Columns = append(b.Findings[i].Columns, pipeline.Column{Name: "Extra", Type: table.TypeDynamic, Value: table.Dynamic(pad)})
	}
	return b
}

func TestThreeMegabytesArriveAsSeveralRequestsEachUnderOneMegabyte(t *testing.T) {
	in := &ingestion{}
	s, store := start(t, in, Config{})
	b := bigBatch(3 << 20)
	s.SetName("la-3mb")
	// The registry is shared by the process (and kept across -count runs):
	// compare what this write added.
	deliveredBefore := testutil.ToFloat64(metrics.SinkDelivered.WithLabelValues("la-3mb"))
	attemptsBefore := testutil.ToFloat64(metrics.SinkAttempts.WithLabelValues("la-3mb"))
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(metrics.SinkDelivered.WithLabelValues("la-3mb")) - deliveredBefore; got != float64(len(b.Findings)) {
		t.Fatalf("streamhunt_sink_findings_delivered_total rose by %v, want %d", got, len(b.Findings))
	}
	if got := testutil.ToFloat64(metrics.SinkAttempts.WithLabelValues("la-3mb")) - attemptsBefore; got != float64(len(in.sizes)) {
		t.Fatalf("streamhunt_sink_attempts_total rose by %v, want one per request (%d)", got, len(in.sizes))
	}
	if len(in.sizes) < 4 {
		t.Fatalf("%d requests for 3 MB, want at least 4 (each under 1 MB)", len(in.sizes))
	}
	total := 0
	for _, n := range in.sizes {
		total += n
		if n > DefaultMaxRequestBytes {
			t.Fatalf("a request of %d bytes is over the limit", n)
		}
	}
	if total < 3<<20 {
		t.Fatalf("only %d bytes arrived, want the whole 3 MB", total)
	}
	got := in.findingIDs()
	for _, f := range b.Findings {
		if got[f.FindingID] != 1 {
			t.Fatalf("finding %s arrived %d times, want once", f.FindingID, got[f.FindingID])
		}
	}
	if len(store.DeadLetters()) != 0 {
		t.Fatalf("dead letters: %d, want none", len(store.DeadLetters()))
	}
	t.Logf("%d findings in %d requests: %v bytes", len(b.Findings), len(in.sizes), in.sizes)
}

func TestTransientAnswersAreRetriedByTheSinkItself(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
	}{
		// azcore would give up on a Retry-After above its MaxRetryDelay; the
		// sink disables azcore's retries and waits as asked.
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "1"}},
		{"503", 503, nil},
		{"500", 500, nil},
		{"403 while a role assignment propagates", 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures := 3
			in := &ingestion{answer: func(w http.ResponseWriter, _ []byte) bool {
				if failures == 0 {
					return false
				}
				failures--
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, `{"error":{"code":"Transient","message":"try later"}}`)
				return true
			}}
			retryPolicy := retry.Policy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
			if tt.status == 429 {
				// A one-hour backoff: only honouring Retry-After lets this finish.
				retryPolicy = retry.Policy{InitialBackoff: time.Hour}
				failures = 1
			}
			s, store := start(t, in, Config{Retry: retryPolicy})
			b := sinktest.Batch(0, 5)
			if err := s.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if got := len(in.findingIDs()); got != 5 || len(store.DeadLetters()) != 0 {
				t.Fatalf("%d findings arrived and %d dead-lettered, want 5 and 0", got, len(store.DeadLetters()))
			}
		})
	}
}

func TestA413SplitsTheRequestAndEverythingArrives(t *testing.T) {
	in := &ingestion{limit: 100_000, tight: true} // the service measures more strictly than the sink
	s, store := start(t, in, Config{})
	b := bigBatch(400_000)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got := in.findingIDs()
	if len(got) != len(b.Findings) || len(store.DeadLetters()) != 0 {
		t.Fatalf("%d of %d findings arrived, %d dead-lettered", len(got), len(b.Findings), len(store.DeadLetters()))
	}
}

func TestRejectedAndOversizedFindingsGoToTheDeadLetter(t *testing.T) {
	t.Run("a 400 dead-letters the request's findings", func(t *testing.T) {
		in := &ingestion{answer: func(w http.ResponseWriter, _ []byte) bool {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"code":"InvalidStream","message":"no such column"}}`)
			return true
		}}
		s, store := start(t, in, Config{})
		if err := s.Write(context.Background(), sinktest.Batch(0, 3)); err != nil {
			t.Fatal(err)
		}
		dls := store.DeadLetters()
		if len(dls) != 3 || dls[0].Reason != retry.ReasonSinkRejected || !strings.Contains(dls[0].Error, "InvalidStream") {
			t.Fatalf("dead letters = %+v, want 3 sink-rejected naming InvalidStream", dls)
		}
	})
	t.Run("a finding whose row alone exceeds the limit is not truncated but dead-lettered", func(t *testing.T) {
		in := &ingestion{}
		s, store := start(t, in, Config{MaxRequestBytes: 20_000})
		b := bigBatch(60_000)
		huge := sinktest.Finding(99)
		huge.Columns = append(huge.Columns, pipeline.Column{Name: "Huge", Type: table.TypeString, Value: table.Str(strings.Repeat("y", 30_000))})
		b.Findings = append(b.Findings, huge)
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		dls := store.DeadLetters()
		if len(dls) != 1 || !strings.Contains(string(dls[0].Raw), huge.FindingID) || !strings.Contains(dls[0].Error, "exceeds") {
			t.Fatalf("dead letters = %d, want the one oversized finding", len(dls))
		}
		if got := len(in.findingIDs()); got != len(b.Findings)-1 {
			t.Fatalf("%d findings arrived, want %d", got, len(b.Findings)-1)
		}
	})
}

func TestTheDeployedTableAndDCRDeclareExactlyWhatTheSinkSends(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy", "loganalytics", "azuredeploy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources []struct {
			Type       string `json:"type"`
			Properties struct {
				Schema struct {
					Name    string                        `json:"name"`
					Columns []struct{ Name, Type string } `json:"columns"`
				} `json:"schema"`
				StreamDeclarations map[string]struct {
					Columns []struct{ Name, Type string } `json:"columns"`
				} `json:"streamDeclarations"`
				DataFlows []struct {
					Streams      []string `json:"streams"`
					OutputStream string   `json:"outputStream"`
				} `json:"dataFlows"`
			} `json:"properties"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	want := func() string {
		var s []string
		for _, c := range Schema {
			s = append(s, c.Name+":"+c.Type)
		}
		return strings.Join(s, " ")
	}()
	list := func(cols []struct{ Name, Type string }) string {
		var s []string
		for _, c := range cols {
			s = append(s, c.Name+":"+strings.ToLower(c.Type))
		}
		return strings.Join(s, " ")
	}
	var sawTable, sawDCR bool
	for _, r := range tmpl.Resources {
		switch r.Type {
		case "Microsoft.OperationalInsights/workspaces/tables":
			sawTable = true
			if r.Properties.Schema.Name != "StreamhuntFindings_CL" {
				t.Errorf("table name = %s", r.Properties.Schema.Name)
			}
			if got := list(r.Properties.Schema.Columns); got != want {
				t.Errorf("table columns\n got %s\nwant %s", got, want)
			}
		case "Microsoft.Insights/dataCollectionRules":
			sawDCR = true
			decl, ok := r.Properties.StreamDeclarations[DefaultStream]
			if !ok {
				t.Fatalf("the DCR declares no %s stream", DefaultStream)
			}
			if got := list(decl.Columns); got != want {
				t.Errorf("DCR stream columns\n got %s\nwant %s", got, want)
			}
			if len(r.Properties.DataFlows) != 1 || r.Properties.DataFlows[0].OutputStream != DefaultStream {
				t.Errorf("the DCR does not flow %s into the table", DefaultStream)
			}
		}
	}
	if !sawTable || !sawDCR {
		t.Fatalf("template has table %v, DCR %v; want both", sawTable, sawDCR)
	}

	// And the payload the sink sends has exactly these keys, in order.
	in := &ingestion{}
	s, _ := start(t, in, Config{})
	if err := s.Write(context.Background(), sinktest.Batch(0, 1)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range Schema {
		names = append(names, c.Name)
	}
	if got := strings.Join(in.keys[0], " "); got != strings.Join(names, " ") {
		t.Fatalf("payload keys\n got %s\nwant %s", got, strings.Join(names, " "))
	}
}

func TestRowCarriesTheFindingsValues(t *testing.T) {
	f := sinktest.Finding(3)
	r := RowOf(&f, time.Now())
	tests := []struct{ name, got, want string }{
		{"TimeGenerated is the detection time", r.TimeGenerated, "2026-12-03T19:30:06.0000000Z"},
		{"EventTime is the sign-in's time", *r.EventTime, "2026-12-03T19:30:03.0000000Z"},
		{"UserPrincipalName comes from the columns", r.UserPrincipalName, "user3@contoso.com"},
		{"IPAddress comes from the columns", r.IPAddress, "203.0.113.3"},
		{"the tenant is SourceTenantId", r.SourceTenantID, f.TenantID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestTheFastRowEncoderAgreesWithTheRowStruct(t *testing.T) {
	now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	noTimes := sinktest.Finding(4)
	noTimes.EventTime, noTimes.DetectedTime, noTimes.Tactics, noTimes.Entities = time.Time{}, time.Time{}, nil, nil
	quoted := sinktest.Finding(5)
	quoted.RuleName = "Sign-in \"from\" <odd> & unusual\u2028places"
	for _, f := range []pipeline.Finding{sinktest.Finding(3), noTimes, quoted} {
		fast, err := encodeRow(nil, &f, now)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := json.Marshal(RowOf(&f, now))
		var a, b any
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("encodeRow gave invalid JSON: %v\n%s", err, fast)
		}
		json.Unmarshal(slow, &b)
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		if string(aj) != string(bj) {
			t.Fatalf("encodeRow and RowOf disagree:\n%s\n%s", fast, slow)
		}
	}
}

func TestConfigErrorsNameTheirKeys(t *testing.T) {
	err := Config{Endpoint: "http://x.example", RuleID: "my-dcr", Stream: "Findings", MaxRequestBytes: 5 << 20}.Validate()
	for _, k := range []string{"endpoint: must be an https URL", "ruleId: must be the DCR's immutable id", "stream:", "maxRequestBytes:"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("Validate() = %v, missing %q", err, k)
		}
	}
	if err := (Config{Endpoint: "https://dce.westeurope-1.ingest.monitor.azure.com", RuleID: ruleID}).Validate(); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
}

func BenchmarkSplit3MB(b *testing.B) {
	s := &Sink{cfg: Config{}.withDefaults(), now: time.Now}
	batch := bigBatch(3 << 20)
	b.ReportAllocs()
	b.SetBytes(3 << 20)
	for b.Loop() {
		if _, _, err := s.split(batch.Findings); err != nil {
			b.Fatal(err)
		}
	}
}
