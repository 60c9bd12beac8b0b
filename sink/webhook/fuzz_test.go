package webhook

import (
	"strconv"
	"testing"
	"time"
)

// FuzzSignVerify: whatever the secret and body, a signed request verifies
// at its own time, and a changed body does not.
func FuzzSignVerify(f *testing.F) {
	f.Add("s3cret", int64(1_800_000_000), []byte(`{"findingId":"abc"}`))
	f.Add("", int64(0), []byte{})
	f.Add("ключ", int64(-5), []byte{0xff, 0x00, '.'})
	f.Fuzz(func(t *testing.T, secret string, sec int64, body []byte) {
		ts := strconv.FormatInt(sec, 10)
		at := time.Unix(sec, 0)
		sig := Sign(secret, ts, body)
		if err := Verify(secret, ts, sig, body, at, time.Minute); err != nil {
			t.Fatalf("a genuine signature failed: %v", err)
		}
		changed := append(append([]byte{}, body...), 'x')
		if Verify(secret, ts, sig, changed, at, time.Minute) == nil {
			t.Fatal("a changed body verified")
		}
	})
}

// FuzzRetryAfter: any header value gives a wait that is not negative.
func FuzzRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Thu, 03 Dec 2026 20:00:30 GMT")
	f.Add("-1")
	f.Add("99999999999999999999")
	f.Fuzz(func(t *testing.T, v string) {
		if d := RetryAfter(v, time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)); d < 0 {
			t.Fatalf("RetryAfter(%q) = %s", v, d)
		}
	})
}
