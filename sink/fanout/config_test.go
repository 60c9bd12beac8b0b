package fanout

import (
	"strings"
	"testing"
)

func TestRuleGlobsThatMatchNoLoadedRuleAreErrorsNamingTheKey(t *testing.T) {
	ids := []string{"entra-device-code-unmanaged", "entra-device-code-unmanaged-risky", "streamhunt-silence"}
	cfg := Config{
		Sinks: []Named{
			{Name: "teams", Route: Route{Rules: []string{"builtin/*", "entra-device-code-unmanaged*"}, ExcludeRules: []string{"entra-device-code-unmanged-risky"}}},
			{Name: "archive"},
			{Route: Route{Rules: []string{"*-silence"}}},
		},
		Allowlists: []Allowlist{
			{Rules: []string{"builtin/device-code-*"}, AppIDs: []string{"a"}},
			{Rules: []string{"entra-device-code-*"}, AppIDs: []string{"a"}},
		},
	}
	err := cfg.CheckRuleGlobs(ids)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`sinks.teams.route.rules: "builtin/*" matches no loaded rule; the rule ids are entra-device-code-unmanaged, entra-device-code-unmanaged-risky, streamhunt-silence`,
		`sinks.teams.route.excludeRules: "entra-device-code-unmanged-risky" matches no loaded rule;`,
		`allowlists[0].rules: "builtin/device-code-*" matches no loaded rule;`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != 3 {
		t.Errorf("%d errors, want 3 (globs that match a rule are fine):\n%s", n, msg)
	}
	if err := cfg.CheckRuleGlobs(append(ids, "builtin/x", "builtin/device-code-y", "entra-device-code-unmanged-risky")); err != nil {
		t.Errorf("every glob matches a rule, yet: %v", err)
	}
}

func TestTheKnownRuleIdsAreListedShortlyWhenThereAreMany(t *testing.T) {
	var ids []string
	for i := range 100 {
		ids = append(ids, "rule-"+strings.Repeat("x", i%7)+string(rune('a'+i%26)))
	}
	err := Config{Sinks: []Named{{Name: "s", Route: Route{Rules: []string{"nope"}}}}}.CheckRuleGlobs(ids)
	if err == nil || !strings.Contains(err.Error(), "and ") || len(err.Error()) > 600 {
		t.Fatalf("error %v: want the first ids and how many more", err)
	}
}
