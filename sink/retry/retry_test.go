package retry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/sink/sinktest"
)

var fast = Policy{InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}

// failing returns an op that fails with err for the first n calls.
func failing(n int, err error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= n {
			return err
		}
		return nil
	}, &calls
}

func TestDo(t *testing.T) {
	tests := []struct {
		name      string
		policy    Policy
		failures  int
		err       error
		wantCalls int
		wantErr   func(error) bool
	}{
		{"a transient failure is retried until it succeeds", fast, 5, Transient("http-503", 0, errors.New("503")), 6, func(e error) bool { return e == nil }},
		{"a failure without a reason counts as transient", fast, 2, errors.New("connection reset"), 3, func(e error) bool { return e == nil }},
		{"a permanent failure is tried once", fast, 5, Permanent("http-400", errors.New("400")), 1, IsPermanent},
		{"give-up after attempts stops at the limit", Policy{InitialBackoff: time.Millisecond, GiveUpAfterAttempts: 3}, 10, errors.New("down"), 3, func(e error) bool { return errors.Is(e, ErrGaveUp) }},
		{"give-up after an age stops before waiting past it", Policy{InitialBackoff: time.Hour, GiveUpAfter: time.Minute}, 10, errors.New("down"), 1, func(e error) bool { return errors.Is(e, ErrGaveUp) }},
		{"a Retry-After replaces a long backoff", Policy{InitialBackoff: time.Hour}, 2, Transient("http-429", time.Millisecond, errors.New("429")), 3, func(e error) bool { return e == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only a guard against a hang: no case should come near it.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			op, calls := failing(tt.failures, tt.err)
			err := tt.policy.Do(ctx, "test", zap.NewNop(), op)
			if !tt.wantErr(err) {
				t.Fatalf("Do() = %v", err)
			}
			if *calls != tt.wantCalls {
				t.Fatalf("op called %d times, want %d", *calls, tt.wantCalls)
			}
		})
	}
}

func TestDoStopsWhenTheContextEndsAndDoesNotAcknowledge(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Policy{InitialBackoff: time.Hour}.Do(ctx, "test", zap.NewNop(), func(context.Context) error {
		calls++
		cancel()
		return errors.New("down")
	})
	if err == nil || !strings.Contains(err.Error(), "stopped while retrying") {
		t.Fatalf("Do() = %v, want an error saying it stopped", err)
	}
}

func TestDeliverSettlesFindingsTheDestinationRefused(t *testing.T) {
	tests := []struct {
		name       string
		policy     Policy
		err        error
		wantReason string
	}{
		{"a permanent rejection goes to the dead letter as sink-rejected", fast, Permanent("http-400", errors.New("400 Bad Request")), ReasonSinkRejected},
		{"a give-up goes to the dead letter as sink-gave-up", Policy{InitialBackoff: time.Millisecond, GiveUpAfterAttempts: 2}, errors.New("503"), ReasonSinkGaveUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &sinktest.Store{}
			fs := sinktest.Findings(0, 3)
			err := tt.policy.Deliver(context.Background(), "webhook", fs, store, zap.NewNop(), func(context.Context) error { return tt.err })
			if err != nil {
				t.Fatalf("Deliver() = %v, want nil once dead-lettered", err)
			}
			dls := store.DeadLetters()
			if len(dls) != 3 {
				t.Fatalf("%d dead letters, want 3", len(dls))
			}
			for i, dl := range dls {
				if dl.Reason != tt.wantReason || !strings.Contains(string(dl.Raw), fs[i].FindingID) || *dl.Source.SequenceNumber != *fs[i].Source.SequenceNumber {
					t.Fatalf("dead letter %d = %+v, want reason %s with the finding and its source", i, dl, tt.wantReason)
				}
			}
		})
	}
}

func TestDeliverWithoutADeadLetterDoesNotAcknowledgeARejection(t *testing.T) {
	err := fast.Deliver(context.Background(), "webhook", sinktest.Findings(0, 1), nil, zap.NewNop(), func(context.Context) error {
		return Permanent("http-400", errors.New("400"))
	})
	if err == nil || !strings.Contains(err.Error(), "set deadLetter") {
		t.Fatalf("Deliver() = %v, want an error asking for a dead letter", err)
	}
}

func TestPolicyErrorsNameTheirKeys(t *testing.T) {
	err := Policy{InitialBackoff: -1, GiveUpAfterAttempts: -1, GiveUpAfter: -1}.Validate()
	for _, k := range []string{"initialBackoff:", "giveUpAfterAttempts:", "giveUpAfter:"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("Validate() = %v, missing %s", err, k)
		}
	}
}
