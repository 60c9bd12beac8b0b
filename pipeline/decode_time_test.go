package pipeline

import (
	"testing"
	"time"
)

// Field report 20 (open-telemetry/opentelemetry-collector-contrib#31244): `10/10/2023 13:26:34` is a time, and an empty one is refused (so the fallback applies).
// Field report 21 (open-telemetry/opentelemetry-collector-contrib#36650): US 12-hour and 24-hour forms are parsed as UTC after the ISO 8601 forms.
func TestParseTimeReadsTheFormsAzureSends(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC; "" when the text must be refused
	}{
		{"2025-03-04T10:15:42.1234567Z", "2025-03-04T10:15:42.1234567Z"},
		{"2025-03-04T10:13:02.7654321+00:00", "2025-03-04T10:13:02.7654321Z"},
		{"2007-01-09T09:41:00.535404056Z", "2007-01-09T09:41:00.5354040Z"},
		{"2007-01-09T11:41:00+02:00", "2007-01-09T09:41:00Z"},
		{"2025-06-01T04:59:58.5-05:00", "2025-06-01T09:59:58.5Z"},
		{"2025-06-01T04:59:58-0530", "2025-06-01T10:29:58Z"},
		{"2007-01-09T09:41:00", "2007-01-09T09:41:00Z"},
		{"2007-01-09 09:41:00Z", "2007-01-09T09:41:00Z"},
		{"2007-01-09", "2007-01-09T00:00:00Z"},
		{"11/14/2025 1:48:53 AM", "2025-11-14T01:48:53Z"},
		{"12/12/2025 3:03:58 PM", "2025-12-12T15:03:58Z"},
		{"12/12/2025 12:03:58 AM", "2025-12-12T00:03:58Z"},
		{"12/12/2025 12:03:58 PM", "2025-12-12T12:03:58Z"},
		{"02/20/2026 14:54:26.123", "2026-02-20T14:54:26.123Z"},
		{"10/10/2023 13:26:34", "2023-10-10T13:26:34Z"},
		{"1/9/2007 10:41:00 AM +01:00", "2007-01-09T09:41:00Z"},
		{"", ""},
		{"yesterday", ""},
		{"2025-02-30T00:00:00Z", ""},
		{"2025-13-01T00:00:00Z", ""},
		{"2025-01-01T25:00:00Z", ""},
		{"13/01/2025 10:00:00", ""},
		{"11/14/2025 13:48:53 PM", ""},
		{"2025-01-01T00:00:00Zjunk", ""},
		{"2025-01-01T00:00:00+25:00", ""},
		{"1500-01-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ns, ok := parseTime([]byte(tt.in))
			if tt.want == "" {
				if ok {
					t.Errorf("parseTime(%q) = %v, want refused", tt.in, time.Unix(0, ns).UTC())
				}
				return
			}
			want, _ := time.Parse(time.RFC3339Nano, tt.want)
			if !ok || ns != want.UnixNano() {
				t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, time.Unix(0, ns).UTC().Format(time.RFC3339Nano), ok, tt.want)
			}
		})
	}
}
