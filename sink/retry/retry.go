// Package retry is how sinks keep trying: exponential backoff with jitter,
// a server's Retry-After honoured, permanent failures told apart from
// transient ones, and an optional give-up (after N attempts or an age) that
// sends findings to the dead letter instead. By default a sink retries until
// its context ends, so a destination that is down holds the consumer back
// (backpressure) and nothing is dropped.
package retry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
)

// Defaults, in one place.
const (
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 60 * time.Second
	// MaxRetryAfter caps a server's Retry-After: past it the sink asks again
	// rather than sleep on an absurd (or overflowing) value.
	MaxRetryAfter = time.Hour
)

// Dead letter reasons for findings a sink did not deliver.
const (
	// ReasonSinkRejected: the destination refused a finding for good (a 4xx
	// other than 408 and 429, a Log Analytics 400, ...).
	ReasonSinkRejected = "sink-rejected"
	// ReasonSinkGaveUp: a sink configured to give up retried longer than it
	// was allowed to.
	ReasonSinkGaveUp = "sink-gave-up"
)

// Policy says how a sink retries. The zero value retries forever with the
// defaults.
type Policy struct {
	// InitialBackoff is the first wait (default 500ms); each failure doubles
	// it, up to MaxBackoff (default 60s), with jitter of up to half.
	InitialBackoff time.Duration `yaml:"initialBackoff"`
	MaxBackoff     time.Duration `yaml:"maxBackoff"`
	// GiveUpAfterAttempts, when above 0, stops after that many attempts
	// and dead-letters the findings.
	GiveUpAfterAttempts int `yaml:"giveUpAfterAttempts"`
	// GiveUpAfter, when above 0, stops once the first attempt is this old
	// and dead-letters the findings.
	GiveUpAfter time.Duration `yaml:"giveUpAfter"`
}

// WithDefaults fills the unset durations.
func (p Policy) WithDefaults() Policy {
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = p.InitialBackoff
	}
	return p
}

// Validate reports every error at once, keys relative to the policy.
func (p Policy) Validate() error {
	var errs []error
	if p.InitialBackoff < 0 {
		errs = append(errs, errors.New("initialBackoff: must not be negative"))
	}
	if p.MaxBackoff < 0 {
		errs = append(errs, errors.New("maxBackoff: must not be negative"))
	}
	if p.GiveUpAfterAttempts < 0 {
		errs = append(errs, errors.New("giveUpAfterAttempts: must not be negative (0 retries forever)"))
	}
	if p.GiveUpAfter < 0 {
		errs = append(errs, errors.New("giveUpAfter: must not be negative (0 retries forever)"))
	}
	return errors.Join(errs...)
}

// Failure is an attempt's error with what the retry loop needs to know.
type Failure struct {
	// Reason is a short code for the sink_failures_total metric
	// ("network", "http-503", "timeout", ...).
	Reason string
	// Permanent means no retry can succeed: the findings go to the dead letter.
	Permanent bool
	// RetryAfter is the wait the server asked for (0: none).
	RetryAfter time.Duration
	Err        error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Permanent wraps err as a permanent failure with a reason.
func Permanent(reason string, err error) error {
	return &Failure{Reason: reason, Permanent: true, Err: err}
}

// Transient wraps err as a transient failure with a reason and the wait a
// server asked for.
func Transient(reason string, retryAfter time.Duration, err error) error {
	return &Failure{Reason: reason, RetryAfter: retryAfter, Err: err}
}

// IsPermanent reports whether err is a permanent failure.
func IsPermanent(err error) bool {
	var f *Failure
	return errors.As(err, &f) && f.Permanent
}

// ErrGaveUp is wrapped by Do's error when the give-up limit was reached.
var ErrGaveUp = errors.New("gave up retrying")

// Do calls op until it returns nil, a permanent failure, the give-up limit
// is reached (the error wraps ErrGaveUp and the last failure), or ctx ends.
// It counts attempts, failures and latency for the named sink.
func (p Policy) Do(ctx context.Context, sinkName string, logger *zap.Logger, op func(ctx context.Context) error) error {
	p = p.WithDefaults()
	first := time.Now()
	backoff := p.InitialBackoff
	for attempt := 1; ; attempt++ {
		metrics.SinkAttempts.WithLabelValues(sinkName).Inc()
		start := time.Now()
		err := op(ctx)
		metrics.SinkLatency.WithLabelValues(sinkName).Observe(time.Since(start).Seconds())
		if err == nil {
			return nil
		}
		f := &Failure{Reason: "error", Err: err}
		errors.As(err, &f)
		if ctx.Err() != nil {
			metrics.SinkFailures.WithLabelValues(sinkName, "canceled").Inc()
			return fmt.Errorf("%w (stopped while retrying: %v)", err, ctx.Err())
		}
		metrics.SinkFailures.WithLabelValues(sinkName, f.Reason).Inc()
		if f.Permanent {
			return err
		}
		if p.GiveUpAfterAttempts > 0 && attempt >= p.GiveUpAfterAttempts {
			return fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempt, err)
		}
		wait := jitter(backoff)
		if f.RetryAfter > 0 {
			wait = min(f.RetryAfter, MaxRetryAfter)
		}
		if p.GiveUpAfter > 0 && time.Since(first)+wait > p.GiveUpAfter {
			return fmt.Errorf("%w after %s: %w", ErrGaveUp, time.Since(first).Round(time.Millisecond), err)
		}
		logger.Warn("sink delivery failed; retrying", zap.String("sink", sinkName), zap.Int("attempt", attempt),
			zap.String("reason", f.Reason), zap.Duration("wait", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (stopped while retrying: %v)", err, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
		if backoff > p.MaxBackoff {
			backoff = p.MaxBackoff
		}
	}
}

// Backoff returns the jittered wait before attempt+1 after attempt
// failures: InitialBackoff doubled per failure, capped at MaxBackoff.
func (p Policy) Backoff(attempt int) time.Duration {
	p = p.WithDefaults()
	d := p.InitialBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return jitter(min(d, p.MaxBackoff))
}

// jitter returns a duration between d/2 and d.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// FromFindings makes one dead letter per finding, with the finding's JSON
// as raw content, for findings a sink rejected or gave up on.
func FromFindings(fs []pipeline.Finding, reason, sinkName string, cause error, now time.Time) []pipeline.DeadLetter {
	dls := make([]pipeline.DeadLetter, 0, len(fs))
	for i := range fs {
		raw, err := json.Marshal(fs[i])
		if err != nil {
			raw = []byte(fs[i].FindingID)
		}
		dls = append(dls, pipeline.DeadLetter{
			Time:   now,
			Reason: reason,
			Error:  fmt.Sprintf("sink %s: finding %s of rule %s: %v", sinkName, fs[i].FindingID, fs[i].RuleID, cause),
			Source: fs[i].Source,
			Raw:    raw,
		})
	}
	return dls
}

// DeadLetter stores findings a sink did not deliver, retrying the dead
// letter store itself until ctx ends (it must not lose them either). With
// no writer configured it returns an error, so the batch is not
// acknowledged and will be delivered again.
func DeadLetter(ctx context.Context, w sink.DeadLetterWriter, fs []pipeline.Finding, reason, sinkName string, cause error, logger *zap.Logger) error {
	if w == nil {
		return fmt.Errorf("sink %s: %d findings need the dead letter, but none is configured (set deadLetter): %w", sinkName, len(fs), cause)
	}
	dls := FromFindings(fs, reason, sinkName, cause, time.Now())
	logger.Error("findings sent to the dead letter", zap.String("sink", sinkName), zap.String("reason", reason),
		zap.Int("findings", len(fs)), zap.String("where", w.Where()), zap.Error(cause))
	return Policy{}.Do(ctx, "deadletter", logger, func(ctx context.Context) error {
		return w.WriteDeadLetters(ctx, dls)
	})
}

// Deliver runs op under the policy and settles the outcome: nil when
// delivered; on a permanent failure or a give-up, the findings are
// dead-lettered and Deliver returns nil once they are stored; otherwise
// (ctx ended) the error, so the batch is delivered again later.
func (p Policy) Deliver(ctx context.Context, sinkName string, fs []pipeline.Finding, dlw sink.DeadLetterWriter, logger *zap.Logger, op func(ctx context.Context) error) error {
	err := p.Do(ctx, sinkName, logger, op)
	switch {
	case err == nil:
		metrics.SinkDelivered.WithLabelValues(sinkName).Add(float64(len(fs)))
		return nil
	case IsPermanent(err):
		return DeadLetter(ctx, dlw, fs, ReasonSinkRejected, sinkName, err, logger)
	case errors.Is(err, ErrGaveUp):
		return DeadLetter(ctx, dlw, fs, ReasonSinkGaveUp, sinkName, err, logger)
	}
	return fmt.Errorf("sink %s: %w", sinkName, err)
}
