// Package webhook is the sink that POSTs findings to an HTTP endpoint: as
// JSON (one finding per request, or batches), or as a Microsoft Teams
// Adaptive Card or Slack blocks message. Requests carry an idempotency key
// and an HMAC-SHA256 signature over a timestamp and the body (see
// docs/webhook.md). Network errors, 408, 429 and 5xx are retried with
// exponential backoff and jitter, honouring Retry-After; other 4xx are
// permanent and the findings go to the dead letter.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/retry"
)

var _ sink.Sink = (*Sink)(nil)

// Message formats.
const (
	FormatJSON  = "json"
	FormatTeams = "teams"
	FormatSlack = "slack"
)

// Headers set on every request.
const (
	HeaderTimestamp      = "X-Streamhunt-Timestamp"
	HeaderSignature      = "X-Streamhunt-Signature"
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Defaults, in one place.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultBatchSize      = 1
	DefaultMaxConcurrency = 4
)

// Config configures a webhook sink.
type Config struct {
	// URL receives the POSTs; it must be https unless Insecure is set.
	URL      string `yaml:"url"`
	Insecure bool   `yaml:"insecure"`
	// Format is json (default), teams (an Adaptive Card for a Teams
	// Workflows webhook) or slack (Block Kit for a Slack incoming webhook).
	Format string `yaml:"format"`
	// BatchSize is how many findings one json request carries (default 1:
	// the body is the finding; above 1: {"findings":[...]}).
	BatchSize int `yaml:"batchSize"`
	// Secret signs each request (HMAC-SHA256 over "<timestamp>.<body>");
	// never logged. Without it requests are not signed.
	Secret string `yaml:"secret"`
	// Headers are added to each request (e.g. Authorization); never logged.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one request (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string `yaml:"caFile"`
	// MaxConcurrency bounds the requests one Write has in flight (default 4).
	MaxConcurrency int `yaml:"maxConcurrency"`
	// StormControl, when its window is set, sends one notification per rule
	// and entity per window and counts the rest into the next one.
	StormControl StormConfig `yaml:"stormControl"`
	// Retry is the backoff and optional give-up.
	Retry retry.Policy `yaml:"retry"`
	// DeadLetter receives findings the endpoint rejected for good; set by
	// the caller (fanout.Build does).
	DeadLetter sink.DeadLetterWriter `yaml:"-"`
}

// StormConfig is alert-storm control.
type StormConfig struct {
	// Window is the period with at most one notification per rule and
	// entity (0: off).
	Window time.Duration `yaml:"window"`
	// MaxKeys bounds the rule-and-entity pairs remembered (default 100000);
	// beyond it findings are sent rather than suppressed.
	MaxKeys int `yaml:"maxKeys"`
}

func (c Config) withDefaults() Config {
	if c.Format == "" {
		c.Format = FormatJSON
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.StormControl.MaxKeys == 0 {
		c.StormControl.MaxKeys = 100000
	}
	return c
}

// Validate reports every error at once, keys relative to the sink.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url: must be set"))
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		errs = append(errs, errors.New("url: must be an absolute http(s) URL"))
	case u.Scheme == "http" && !c.Insecure:
		errs = append(errs, errors.New("url: must be https unless insecure: true"))
	}
	switch c.Format {
	case "", FormatJSON:
	case FormatTeams, FormatSlack:
		if c.BatchSize > 1 {
			errs = append(errs, fmt.Errorf("batchSize: %s messages carry one finding each; leave batchSize unset", c.Format))
		}
	default:
		errs = append(errs, fmt.Errorf("format: %q is not json, teams or slack", c.Format))
	}
	if c.BatchSize < 0 {
		errs = append(errs, errors.New("batchSize: must not be negative"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	if c.MaxConcurrency < 0 {
		errs = append(errs, errors.New("maxConcurrency: must not be negative"))
	}
	if c.StormControl.Window < 0 || c.StormControl.MaxKeys < 0 {
		errs = append(errs, errors.New("stormControl: window and maxKeys must not be negative"))
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			errs = append(errs, fmt.Errorf("caFile: %v", err))
		}
	}
	for k := range c.Headers {
		if http.CanonicalHeaderKey(k) == HeaderSignature || http.CanonicalHeaderKey(k) == HeaderTimestamp {
			errs = append(errs, fmt.Errorf("headers.%s: is set by the sink", k))
		}
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, prefix("retry.", err))
	}
	return errors.Join(errs...)
}

func prefix(p string, err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, fmt.Errorf("%s%w", p, e))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s%w", p, err)
}

// Sink posts findings to a webhook.
type Sink struct {
	name   string
	cfg    Config
	logger *zap.Logger
	client *http.Client
	storm  *storm
	now    func() time.Time
}

// New validates cfg and returns a webhook sink.
func New(cfg Config, logger *zap.Logger) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = zap.NewNop()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile: %s holds no PEM certificate", cfg.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	s := &Sink{
		name:   "webhook",
		cfg:    cfg,
		logger: logger,
		client: &http.Client{
			Transport: tr,
			// A redirect of a POST is a misconfigured URL, not a delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now: time.Now,
	}
	if cfg.StormControl.Window > 0 {
		s.storm = newStorm(cfg.StormControl, func() time.Time { return s.now() })
	}
	return s, nil
}

// SetName renames the sink for metrics and logs.
func (s *Sink) SetName(name string) { s.name = name }

// Name returns "webhook" or the name given with SetName.
func (s *Sink) Name() string { return s.name }

// Close releases idle connections.
func (s *Sink) Close(context.Context) error {
	s.client.CloseIdleConnections()
	return nil
}

// notice is one finding to send, with the count storm control held back
// since the last notification for its rule and entity.
type notice struct {
	f          *pipeline.Finding
	suppressed int
}

// Write sends the batch's findings (after storm control) and returns nil
// once each request was accepted (2xx) or its findings were dead-lettered.
func (s *Sink) Write(ctx context.Context, b sink.Batch) error {
	notices := make([]notice, 0, len(b.Findings))
	for i := range b.Findings {
		f := &b.Findings[i]
		if s.storm != nil {
			send, n := s.storm.admit(f)
			if !send {
				stormSuppressed(s.name, f.RuleID)
				continue
			}
			notices = append(notices, notice{f, n})
			continue
		}
		notices = append(notices, notice{f: f})
	}
	var chunks [][]notice
	for len(notices) > 0 {
		n := min(s.cfg.BatchSize, len(notices))
		chunks = append(chunks, notices[:n])
		notices = notices[n:]
	}
	if len(chunks) == 0 {
		return nil
	}
	errs := make([]error, len(chunks))
	sem := make(chan struct{}, s.cfg.MaxConcurrency)
	var wg sync.WaitGroup
	for i, ch := range chunks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.deliver(ctx, ch)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Sink) deliver(ctx context.Context, ns []notice) error {
	body, key, err := s.encode(ns)
	if err != nil {
		return err
	}
	fs := make([]pipeline.Finding, len(ns))
	for i := range ns {
		fs[i] = *ns[i].f
	}
	return s.cfg.Retry.Deliver(ctx, s.name, fs, s.cfg.DeadLetter, s.logger, func(ctx context.Context) error {
		return s.post(ctx, body, key)
	})
}

// post sends one request and classifies its outcome for the retry loop.
func (s *Sink) post(ctx context.Context, body []byte, key string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return retry.Permanent("request", fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "streamhunt")
	req.Header.Set(HeaderIdempotencyKey, key)
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	if s.cfg.Secret != "" {
		ts := strconv.FormatInt(s.now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(s.cfg.Secret, ts, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		reason := "network"
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "timeout"
		}
		// The URL may carry a token (Teams, Slack): name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return retry.Transient(reason, 0, fmt.Errorf("POST to %s: %w", hostOf(s.cfg.URL), err))
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err = fmt.Errorf("POST to %s: %s: %s", hostOf(s.cfg.URL), resp.Status, strings.TrimSpace(string(snippet)))
	reason := "http-" + strconv.Itoa(code)
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
		return retry.Transient(reason, RetryAfter(resp.Header.Get("Retry-After"), s.now()), err)
	}
	return retry.Permanent(reason, err)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the webhook"
	}
	return u.Scheme + "://" + u.Host
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date) into a
// wait, at most retry.MaxRetryAfter; 0 when absent or unparsable.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(retry.MaxRetryAfter/time.Second) {
			return retry.MaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, retry.MaxRetryAfter)
		}
	}
	return 0
}
