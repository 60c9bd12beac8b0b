package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
)

// A misspelt table name is the commonest first mistake (the category is
// SignInLogs, the table SigninLogs): the error names the table meant.
func TestAMisspeltTableIsAnErrorThatNamesTheTableMeant(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{"SignInLogs | where ResultType == 0", "SigninLogs"},
		{"AADSignInEventBeta | where ErrorCode == 0", "AADSignInEventsBeta"},
		{"AADNonInteractiveUserSigninLogs | where ResultType == 0", "AADNonInteractiveUserSignInLogs"},
	} {
		_, err := pipeline.New([]rules.Rule{{ID: "r", File: "r.kql", Line: 1, Query: tt.query}}, pipeline.Options{})
		var ces pipeline.CompileErrors
		if !errors.As(err, &ces) || len(ces) != 1 {
			t.Fatalf("%q: err %v, want one compile error", tt.query, err)
		}
		if msg := ces[0].Error(); !strings.Contains(msg, "unknown table") || !strings.Contains(msg, "did you mean "+tt.want) {
			t.Errorf("%q: %s; want unknown table and did you mean %s", tt.query, msg, tt.want)
		}
	}
}
