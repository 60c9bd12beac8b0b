package ops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// Known secret values, shaped like the real ones.
const (
	ehKey        = "k3yEventHubsAbCdEf0123456789+/AbCdEfGhIjKlMnO="
	ehConn       = "Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=" + ehKey + ";EntityPath=insights-logs-signinlogs"
	storageKey   = "St0rageAccountKeyZZ9yXwVuTsRqPoNmLkJiHgFeDcBa0123456789+/abcdefghijklmnopqrstuvwxyz0123456789AB=="
	storageConn  = "DefaultEndpointsProtocol=https;AccountName=contosockpt;AccountKey=" + storageKey + ";EndpointSuffix=core.windows.net"
	sasSig       = "pQ7xW3%2BvT9mN2kL5jH8gF1dS4aZ6xC0vB%3D"
	sasURL       = "https://contosockpt.blob.core.windows.net/findings?sv=2022-11-02&ss=b&srt=co&sp=rwl&se=2030-01-01T00:00:00Z&sig=" + sasSig
	clientSecret = "Qx8~Zr.secret_Value-0123456789abcdefGHIJ"
	bearerToken  = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21vbml0b3IuYXp1cmUuY29tIn0.c2lnbmF0dXJlLXBhcnQ"
	webhookToken = "whk_live_4f9a8b7c6d5e4f3a2b1c"
)

func TestLoggerNeverWritesAKnownSecret(t *testing.T) {
	secrets := []string{ehKey, storageKey, sasSig, clientSecret, bearerToken, webhookToken}
	for _, format := range []string{"json", "console"} {
		for _, configured := range []bool{true, false} {
			t.Run(fmt.Sprintf("format %s, secrets configured %v", format, configured), func(t *testing.T) {
				var out bytes.Buffer
				opts := []LoggerOption{WithOutput(&out)}
				if configured {
					opts = append(opts, WithSecrets(ehConn, storageConn, clientSecret, webhookToken, sasURL))
				}
				log, err := NewLogger(Config{LogLevel: "debug", LogFormat: format}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				log = log.With(zap.String("eventHubConnection", ehConn))
				log.Info("connecting with "+storageConn, zap.String("sas", sasURL))
				log.Warn("request failed", zap.Error(fmt.Errorf("POST %s: %w", sasURL, errors.New("Authorization: Bearer "+bearerToken+" rejected"))))
				log.Debug("client", zap.Any("cfg", map[string]string{"clientSecret": "ClientSecret=" + clientSecret}))
				log.Error("webhook", zap.String("header", "Authorization: Bearer "+bearerToken))
				if configured {
					log.Info("webhook token", zap.String("token", webhookToken), zap.String("secret", clientSecret))
				}
				_ = log.Sync()

				got := out.String()
				if strings.Count(got, "\n") < 4 {
					t.Fatalf("expected the log lines, got:\n%s", got)
				}
				for _, s := range secrets {
					if !configured && (s == webhookToken || s == clientSecret) {
						continue // a bare value of no known shape is only redacted when configured
					}
					if strings.Contains(got, s) {
						t.Errorf("the log holds the secret %q:\n%s", s, got)
					}
				}
				for _, kept := range []string{"contoso-ns.servicebus.windows.net", "SharedAccessKeyName=listen", "AccountName=contosockpt", "findings?sv=2022-11-02", "request failed"} {
					if !strings.Contains(got, kept) {
						t.Errorf("redaction removed %q, which is not a secret and helps the operator:\n%s", kept, got)
					}
				}
				if !strings.Contains(got, Redacted) {
					t.Errorf("no %s marker in:\n%s", Redacted, got)
				}
			})
		}
	}
}

func TestRedactorReplacesSecretsInTheirJSONEscapedForm(t *testing.T) {
	secret := `pa"ss\word-with-quotes<&>`
	log, out := testLogger(t, "json", WithSecrets(secret))
	log.Info("login", zap.String("password", secret))
	_ = log.Sync()
	if strings.Contains(out.String(), `pa\"ss\\word`) || strings.Contains(out.String(), "quotes<&>") || !strings.Contains(out.String(), Redacted) {
		t.Errorf("the escaped secret is in the JSON log: %s", out.String())
	}
}

func TestRedactorIgnoresSecretsTooShortToTellFromText(t *testing.T) {
	r := NewRedactor("abc", "")
	if got := r.Redact("abc is fine"); got != "abc is fine" {
		t.Errorf("Redact = %q, want the text unchanged", got)
	}
}

func TestJSONLoggerWritesOneObjectPerLineWithLevelAndMessage(t *testing.T) {
	log, out := testLogger(t, "json")
	log.Info("started", zap.String("hub", "insights-logs-signinlogs"))
	_ = log.Sync()
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	if line["level"] != "info" || line["msg"] != "started" || line["hub"] != "insights-logs-signinlogs" || line["time"] == nil {
		t.Errorf("line = %v", line)
	}
}

func TestLoggerDropsLinesBelowTheConfiguredLevel(t *testing.T) {
	tests := []struct {
		level     string
		wantLines int
	}{
		{"debug", 4}, {"info", 3}, {"warn", 2}, {"error", 1},
	}
	for _, tt := range tests {
		t.Run("level "+tt.level, func(t *testing.T) {
			var out bytes.Buffer
			log, err := NewLogger(Config{LogLevel: tt.level, LogFormat: "json"}, WithOutput(&out))
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			if got := strings.Count(out.String(), "\n"); got != tt.wantLines {
				t.Errorf("%d lines, want %d:\n%s", got, tt.wantLines, out.String())
			}
		})
	}
}

func TestAutoFormatWritesJSONWhenTheOutputIsNotATerminal(t *testing.T) {
	log, out := testLogger(t, "auto")
	log.Info("hello")
	if !json.Valid(bytes.TrimSpace(out.Bytes())) {
		t.Errorf("auto format to a buffer is not JSON: %s", out.String())
	}
}

func TestNewLoggerRefusesAnUnknownLevel(t *testing.T) {
	if _, err := NewLogger(Config{LogLevel: "chatty"}); err == nil || !strings.Contains(err.Error(), "ops.logLevel") {
		t.Errorf("err = %v, want one naming ops.logLevel", err)
	}
}

func testLogger(t *testing.T, format string, opts ...LoggerOption) (*zap.Logger, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	log, err := NewLogger(Config{LogFormat: format}, append(opts, WithOutput(&out))...)
	if err != nil {
		t.Fatal(err)
	}
	return log, &out
}
