package textdist

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"connectionString", "connectionString", 0},
		{"conectionString", "connectionString", 1}, // a missing letter
		{"AuthenticationProtocl", "AuthenticationProtocol", 1},
		{"ResutlType", "ResultType", 1}, // two letters swapped: one edit
		{"kitten", "sitting", 3},
		{"größe", "grösse", 2}, // runes, not bytes
		{"ca", "abc", 3},       // optimal string alignment, not full Damerau (2)
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
