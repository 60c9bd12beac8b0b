package ops

import (
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// LoggerOption changes how NewLogger builds its logger.
type LoggerOption func(*loggerOptions)

type loggerOptions struct {
	out     io.Writer
	secrets []string
}

// WithOutput sends the log to w instead of stderr.
func WithOutput(w io.Writer) LoggerOption {
	return func(o *loggerOptions) { o.out = w }
}

// WithSecrets names values (connection strings, keys, client secrets, SAS
// tokens) that must never appear in the log: each is replaced by REDACTED
// wherever it occurs, in messages, fields and errors. Empty values are
// ignored. Connection-string keys, SAS signatures, bearer tokens and JWTs are
// redacted whether or not they are named here.
func WithSecrets(values ...string) LoggerOption {
	return func(o *loggerOptions) { o.secrets = append(o.secrets, values...) }
}

// NewLogger builds the process logger from cfg: JSON in containers, console
// on a terminal (LogFormat auto), at cfg.LogLevel, with every line passed
// through the secret redactor.
func NewLogger(cfg Config, opts ...LoggerOption) (*zap.Logger, error) {
	cfg = cfg.withDefaults()
	o := loggerOptions{out: os.Stderr}
	for _, opt := range opts {
		opt(&o)
	}
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("cannot build the logger: ops.logLevel: %w", err)
	}
	format := strings.ToLower(cfg.LogFormat)
	if format == "auto" {
		format = "json"
		if isTerminal(o.out) {
			format = "console"
		}
	}

	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.TimeKey = "time"
	ec.MessageKey = "msg"
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("cannot build the logger: ops.logFormat: %q is not auto, json or console", cfg.LogFormat)
	}
	enc = &redactingEncoder{Encoder: enc, r: NewRedactor(o.secrets...)}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(o.out)), level)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.DPanicLevel)), nil
}

func parseLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info", "":
		return zapcore.InfoLevel, nil
	case "warn", "warning":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return zapcore.InfoLevel, fmt.Errorf("%q is not debug, info, warn or error", s)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// redactingEncoder redacts each encoded log line as a whole, so that secrets
// are caught wherever they hide: message, fields, With() context, errors,
// stack traces.
type redactingEncoder struct {
	zapcore.Encoder
	r *Redactor
}

func (e *redactingEncoder) Clone() zapcore.Encoder {
	return &redactingEncoder{Encoder: e.Encoder.Clone(), r: e.r}
}

func (e *redactingEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	buf, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return buf, err
	}
	line := buf.String()
	red := e.r.Redact(line)
	if red == line {
		return buf, nil
	}
	buf.Reset()
	buf.AppendString(red)
	return buf, nil
}
