package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sign returns the X-Streamhunt-Signature value for a body sent at
// timestamp ts (Unix seconds, as sent in X-Streamhunt-Timestamp):
// "sha256=" and the hex HMAC-SHA256 of "<ts>.<body>" keyed by secret.
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's signature and that its timestamp is within
// tolerance of now (replay protection). Receivers written in Go can call it;
// docs/webhook.md shows the same check in other languages.
func Verify(secret, ts, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not Unix seconds", HeaderTimestamp, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s is %s away from now, beyond the %s tolerance (replayed, or clocks apart)", HeaderTimestamp, d.Round(time.Second), tolerance)
	}
	if !strings.HasPrefix(signature, "sha256=") {
		return errors.New(HeaderSignature + " does not start with sha256=")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("signature does not match (wrong secret, or the body was changed)")
	}
	return nil
}
