// Package loganalytics is the sink that sends findings to a Log Analytics
// custom table (StreamhuntFindings_CL) through the Logs Ingestion API, with
// the real azlogs client: a data collection endpoint, a data collection
// rule's immutable id, and its stream Custom-StreamhuntFindings_CL. Batches
// are split so that every request stays under the API's 1 MB limit (never
// truncated); 429 (however long its Retry-After) and 5xx are retried by the
// sink itself. deploy/loganalytics holds the table and DCR definitions.
package loganalytics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/ingestion/azlogs"
	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/retry"
)

var _ sink.Sink = (*Sink)(nil)

// Defaults, in one place.
const (
	DefaultStream = "Custom-StreamhuntFindings_CL"
	// DefaultMaxRequestBytes keeps each request under the API's 1 MB limit
	// (counted in decimal to stay clear of either reading of "MB").
	DefaultMaxRequestBytes = 1_000_000
	DefaultTimeout         = 30 * time.Second
)

// Config configures the Log Analytics sink.
type Config struct {
	// Endpoint is the data collection endpoint's (or the DCR's own) logs
	// ingestion URL, https://NAME.REGION.ingest.monitor.azure.com.
	Endpoint string `yaml:"endpoint"`
	// RuleID is the DCR's immutable id, dcr-<32 hex digits>.
	RuleID string `yaml:"ruleId"`
	// Stream is the DCR stream (default Custom-StreamhuntFindings_CL).
	Stream string `yaml:"stream"`
	// Cloud is AzurePublic (default), AzureChina or AzureGovernment.
	Cloud string `yaml:"cloud"`
	// MaxRequestBytes bounds one request's body (default 1000000, at most 1 MiB).
	MaxRequestBytes int `yaml:"maxRequestBytes"`
	// Timeout bounds one request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// Retry is the backoff and optional give-up.
	Retry retry.Policy `yaml:"retry"`
	// DeadLetter receives findings the API rejected for good; set by the
	// caller (fanout.Build does).
	DeadLetter sink.DeadLetterWriter `yaml:"-"`
}

// errTooLarge marks a 413: the service found the request too large.
var errTooLarge = errors.New("the service found the request too large")

var dcrID = regexp.MustCompile(`^dcr-[0-9a-f]{32}$`)

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every error at once, keys relative to the sink.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Endpoint)
	switch {
	case c.Endpoint == "":
		errs = append(errs, errors.New("endpoint: must be set to the data collection endpoint's logs ingestion URL"))
	case err != nil || u.Scheme != "https" || u.Host == "":
		errs = append(errs, errors.New("endpoint: must be an https URL like https://NAME.REGION.ingest.monitor.azure.com"))
	}
	if !dcrID.MatchString(c.RuleID) {
		errs = append(errs, errors.New("ruleId: must be the DCR's immutable id, dcr- and 32 hex digits (az monitor data-collection rule show --query immutableId)"))
	}
	if c.Stream != "" && !strings.HasPrefix(c.Stream, "Custom-") {
		errs = append(errs, errors.New("stream: a custom stream's name starts with Custom-"))
	}
	switch c.Cloud {
	case "", "AzurePublic", "AzureChina", "AzureGovernment":
	default:
		errs = append(errs, fmt.Errorf("cloud: %q is not AzurePublic, AzureChina or AzureGovernment", c.Cloud))
	}
	if c.MaxRequestBytes < 0 || c.MaxRequestBytes > 1<<20 {
		errs = append(errs, errors.New("maxRequestBytes: must be between 1 and 1048576 (the API's limit)"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("retry.%w", err))
	}
	return errors.Join(errs...)
}

// Sink uploads findings to Log Analytics.
type Sink struct {
	name   string
	cfg    Config
	client *azlogs.Client
	logger *zap.Logger
	now    func() time.Time
}

// New returns a sink authenticating with DefaultAzureCredential (workload
// or managed identity, az login). The identity needs the "Monitoring
// Metrics Publisher" role on the DCR.
func New(cfg Config, logger *zap.Logger) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("no Entra ID credential for the Logs Ingestion API (%w): use a managed or workload identity, or az login", err)
	}
	return newSink(cfg, cred, nil, logger)
}

// newSink builds the sink with a given credential and transport (tests
// pass a fake credential and their TLS server's client).
func newSink(cfg Config, cred azcore.TokenCredential, transport policy.Transporter, logger *zap.Logger) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = zap.NewNop()
	}
	opts := &azlogs.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: transport,
		// The sink retries itself: azcore would give up on a Retry-After
		// longer than its MaxRetryDelay, and one policy is easier to reason about.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}}
	switch cfg.Cloud {
	case "AzureChina":
		opts.Cloud = cloud.AzureChina
	case "AzureGovernment":
		opts.Cloud = cloud.AzureGovernment
	}
	c, err := azlogs.NewClient(cfg.Endpoint, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	return &Sink{name: "loganalytics", cfg: cfg, client: c, logger: logger, now: time.Now}, nil
}

// SetName renames the sink for metrics and logs.
func (s *Sink) SetName(name string) { s.name = name }

// Name returns "loganalytics" or the name given with SetName.
func (s *Sink) Name() string { return s.name }

// Close does nothing: every write was already delivered.
func (s *Sink) Close(context.Context) error { return nil }

// chunk is one request's worth of rows.
type chunk struct {
	body     []byte
	findings []pipeline.Finding
}

// Write uploads the batch in requests of at most MaxRequestBytes each,
// returning nil once every request got 204 or its findings were
// dead-lettered (a row that alone exceeds the limit, a 400).
func (s *Sink) Write(ctx context.Context, b sink.Batch) error {
	if len(b.Findings) == 0 {
		return nil
	}
	chunks, tooBig, err := s.split(b.Findings)
	if err != nil {
		return err
	}
	if len(tooBig) > 0 {
		cause := fmt.Errorf("the row alone exceeds the %d-byte request limit; it would be truncated, so it is not sent", s.cfg.MaxRequestBytes)
		if err := retry.DeadLetter(ctx, s.cfg.DeadLetter, tooBig, retry.ReasonSinkRejected, s.name, cause, s.logger); err != nil {
			return err
		}
	}
	for len(chunks) > 0 {
		c := chunks[0]
		chunks = chunks[1:]
		err := s.cfg.Retry.Do(ctx, s.name, s.logger, func(ctx context.Context) error { return s.upload(ctx, c.body) })
		switch {
		case err == nil:
			metrics.SinkDelivered.WithLabelValues(s.name).Add(float64(len(c.findings)))
		case errors.Is(err, errTooLarge) && len(c.findings) > 1:
			// The service measured more than we did: halve and go on.
			halves, _, err := s.splitAt(c.findings, len(c.body)/2)
			if err != nil {
				return err
			}
			chunks = append(halves, chunks...)
		case retry.IsPermanent(err):
			if err := retry.DeadLetter(ctx, s.cfg.DeadLetter, c.findings, retry.ReasonSinkRejected, s.name, err, s.logger); err != nil {
				return err
			}
		case errors.Is(err, retry.ErrGaveUp):
			if err := retry.DeadLetter(ctx, s.cfg.DeadLetter, c.findings, retry.ReasonSinkGaveUp, s.name, err, s.logger); err != nil {
				return err
			}
		default:
			return fmt.Errorf("sink %s: %w", s.name, err)
		}
	}
	return nil
}

// split groups the findings' rows into request bodies under the limit;
// a finding whose row alone is over it is returned apart.
func (s *Sink) split(fs []pipeline.Finding) ([]chunk, []pipeline.Finding, error) {
	return s.splitAt(fs, s.cfg.MaxRequestBytes)
}

func (s *Sink) splitAt(fs []pipeline.Finding, limit int) ([]chunk, []pipeline.Finding, error) {
	now := s.now()
	var chunks []chunk
	var tooBig []pipeline.Finding
	cur := chunk{body: []byte{'['}}
	var scratch []byte
	for i := range fs {
		row, err := encodeRow(scratch[:0], &fs[i], now)
		if err != nil {
			return nil, nil, fmt.Errorf("encode finding %s for Log Analytics: %w", fs[i].FindingID, err)
		}
		if len(row)+2 > s.cfg.MaxRequestBytes {
			tooBig = append(tooBig, fs[i])
			continue
		}
		if len(cur.findings) > 0 && len(cur.body)+1+len(row)+1 > limit {
			cur.body = append(cur.body, ']')
			chunks = append(chunks, cur)
			cur = chunk{body: []byte{'['}}
		}
		if len(cur.findings) > 0 {
			cur.body = append(cur.body, ',')
		}
		cur.body = append(cur.body, row...)
		cur.findings = append(cur.findings, fs[i])
		scratch = row
	}
	if len(cur.findings) > 0 {
		cur.body = append(cur.body, ']')
		chunks = append(chunks, cur)
	}
	return chunks, tooBig, nil
}

// upload sends one body and classifies the outcome for the retry loop.
// 408, 429 and 5xx are transient (honouring Retry-After); 401, 403 and 404
// are transient too, since they mean a role assignment or a DCR still
// propagating or misconfigured, which an operator fixes while the consumer
// waits; other 4xx (400: rows that do not fit the stream) are permanent.
func (s *Sink) upload(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	_, err := s.client.Upload(ctx, s.cfg.RuleID, s.cfg.Stream, body, nil)
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		reason := "network"
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "timeout"
		}
		return retry.Transient(reason, 0, fmt.Errorf("upload to Log Analytics: %w", err))
	}
	code := re.StatusCode
	reason := "http-" + strconv.Itoa(code)
	msg := fmt.Errorf("upload to Log Analytics (DCR %s, stream %s): %d %s", s.cfg.RuleID, s.cfg.Stream, code, re.ErrorCode)
	switch {
	case code == http.StatusRequestEntityTooLarge:
		return retry.Permanent(reason, fmt.Errorf("%w: %w", msg, errTooLarge))
	case code == 408 || code == 429 || code >= 500 || code == 401 || code == 403 || code == 404:
		return retry.Transient(reason, retryAfter(re.RawResponse), msg)
	}
	return retry.Permanent(reason, msg)
}

// retryAfter reads retry-after-ms, x-ms-retry-after-ms or Retry-After.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	for _, h := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := resp.Header.Get(h); v != "" {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
				return time.Duration(min(ms, int64(retry.MaxRetryAfter/time.Millisecond))) * time.Millisecond
			}
		}
	}
	v := resp.Header.Get("Retry-After")
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Duration(min(n, int64(retry.MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, retry.MaxRetryAfter)
		}
	}
	return 0
}
