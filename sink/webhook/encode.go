package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/streamhunt/streamhunt/pipeline"
)

// encode builds a request body and its idempotency key: the findingId for
// a single finding; for a json batch, "batch-" and a hash of the batch's
// findingIds in order, so a redelivered batch repeats its key.
func (s *Sink) encode(ns []notice) ([]byte, string, error) {
	key := ns[0].f.FindingID
	if len(ns) > 1 {
		h := sha256.New()
		for _, n := range ns {
			h.Write([]byte(n.f.FindingID))
			h.Write([]byte{'\n'})
		}
		key = "batch-" + hex.EncodeToString(h.Sum(nil)[:16])
	}
	var body []byte
	var err error
	switch s.cfg.Format {
	case FormatTeams:
		body, err = teamsMessage(ns[0])
	case FormatSlack:
		body, err = slackMessage(ns[0])
	default:
		body, err = jsonBody(ns, s.cfg.BatchSize > 1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("webhook: encode finding %s: %w", ns[0].f.FindingID, err)
	}
	return body, key, nil
}

// jsonBody is the finding itself, or {"findings":[...]} in batch mode; a
// finding sent after storm control held others back carries
// "suppressedCount".
func jsonBody(ns []notice, batch bool) ([]byte, error) {
	one := func(dst []byte, n notice) ([]byte, error) {
		b, err := json.Marshal(n.f)
		if err != nil {
			return nil, err
		}
		if n.suppressed > 0 {
			b = b[:len(b)-1]
			b = append(b, `,"suppressedCount":`...)
			b = strconv.AppendInt(b, int64(n.suppressed), 10)
			b = append(b, '}')
		}
		return append(dst, b...), nil
	}
	if !batch {
		return one(nil, ns[0])
	}
	out := []byte(`{"findings":[`)
	var err error
	for i, n := range ns {
		if i > 0 {
			out = append(out, ',')
		}
		if out, err = one(out, n); err != nil {
			return nil, err
		}
	}
	return append(out, "]}"...), nil
}

// fact is one line of a notification: a label and a value.
type fact struct{ label, value string }

func colString(f *pipeline.Finding, name string) string {
	v, _ := f.Columns.Get(name)
	return v.S
}

func facts(n notice) []fact {
	f := n.f
	fs := []fact{
		{"Rule", f.RuleName + " (" + f.RuleID + ")"},
		{"Severity", f.Severity},
		{"User", colString(f, "UserPrincipalName")},
		{"IP address", colString(f, "IPAddress")},
		{"Application", colString(f, "AppDisplayName")},
		{"Event time", pipeline.FormatDateTime(f.EventTime)},
		{"MITRE", strings.Join(append(append([]string{}, f.Tactics...), f.Techniques...), ", ")},
		{"Table", f.Table},
		{"Correlation id", f.CorrelationID},
		{"Finding id", f.FindingID},
	}
	if n.suppressed > 0 {
		held := fact{"Held back", strconv.Itoa(n.suppressed) + " similar findings since the last notification"}
		fs = append(fs[:2], append([]fact{held}, fs[2:]...)...)
	}
	out := fs[:0]
	for _, x := range fs {
		if x.value != "" {
			out = append(out, x)
		}
	}
	return out
}

func title(f *pipeline.Finding) string {
	return "[" + strings.ToUpper(f.Severity) + "] " + f.RuleName
}

// teamsMessage is a Teams message with one Adaptive Card (the shape a
// Teams Workflows "post to a channel when a webhook request is received"
// flow accepts).
func teamsMessage(n notice) ([]byte, error) {
	type factJSON struct {
		Title string `json:"title"`
		Value string `json:"value"`
	}
	var fs []factJSON
	for _, x := range facts(n) {
		fs = append(fs, factJSON{x.label, x.value})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": title(n.f)},
			map[string]any{"type": "FactSet", "facts": fs},
		},
	}
	return json.Marshal(map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	})
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackMessage is a Slack incoming-webhook message in Block Kit, with a
// plain text fallback.
func slackMessage(n notice) ([]byte, error) {
	t := title(n.f)
	if len(t) > 150 {
		t = t[:147] + "..."
	}
	var fields []any
	for _, x := range facts(n) {
		if len(fields) == 10 { // Slack allows 10 fields per section
			break
		}
		fields = append(fields, map[string]any{"type": "mrkdwn", "text": "*" + x.label + "*\n" + slackEscape(x.value)})
	}
	return json.Marshal(map[string]any{
		"text": slackEscape(t + ": " + colString(n.f, "UserPrincipalName")),
		"blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": t}},
			map[string]any{"type": "section", "fields": fields},
		},
	})
}
