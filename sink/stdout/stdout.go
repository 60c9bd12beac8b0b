// Package stdout is the sink that writes findings as JSON lines to standard
// output or to a file, rotating the file by size. It is replay's default
// sink, and the simplest way to hand findings to a log shipper.
package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/sink"
)

var _ sink.Sink = (*Sink)(nil)

// Defaults for a file sink, in one place.
const (
	DefaultMaxBytes   = 100 << 20
	DefaultMaxBackups = 10
)

// Config configures the stdout or file sink.
type Config struct {
	// Path is the file to append findings to; "" or "-" means standard output.
	Path string `yaml:"path"`
	// MaxBytes rotates the file before a write would grow it beyond this
	// size (default 100 MiB; -1 never rotates). A batch is never split, so
	// a file holds at least one whole batch.
	MaxBytes int64 `yaml:"maxBytes"`
	// MaxBackups is how many rotated files to keep (PATH.1 newest ...
	// PATH.N oldest); default 10.
	MaxBackups int `yaml:"maxBackups"`
	// NoSync skips fsync after each batch. By default a file batch is
	// acknowledged only after fsync, so a crash cannot lose it.
	NoSync bool `yaml:"noSync"`
}

// IsStdout reports whether the config writes to standard output.
func (c Config) IsStdout() bool { return c.Path == "" || c.Path == "-" }

func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxBackups == 0 {
		c.MaxBackups = DefaultMaxBackups
	}
	return c
}

// Validate reports every configuration error at once, naming the key
// relative to the sink (prefix it with the sink's place in the file).
func (c Config) Validate() error {
	var errs []error
	if c.MaxBytes < -1 {
		errs = append(errs, fmt.Errorf("maxBytes: must be a positive size in bytes, or -1 to never rotate"))
	}
	if c.MaxBackups < 0 {
		errs = append(errs, fmt.Errorf("maxBackups: must not be negative"))
	}
	if c.IsStdout() && (c.MaxBytes > 0 || c.MaxBackups > 0) {
		errs = append(errs, fmt.Errorf("maxBytes, maxBackups: only apply to a file; set path"))
	}
	return errors.Join(errs...)
}

// Sink writes findings as JSON lines, one finding per line; the lines of a
// batch are written together, so concurrent batches never interleave.
type Sink struct {
	name   string
	cfg    Config
	logger *zap.Logger

	mu     sync.Mutex
	w      io.Writer // standard output, or a caller's writer
	f      *os.File  // the open file, for a file sink
	size   int64     // bytes in f
	closed bool
}

// New returns a sink writing to standard output or to cfg.Path (created
// with mode 0600 when absent, appended to otherwise; findings hold
// personal data). The file is opened at once so a bad path fails at start.
func New(cfg Config, logger *zap.Logger) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	if cfg.IsStdout() {
		return &Sink{name: "stdout", cfg: cfg, logger: logger, w: os.Stdout}, nil
	}
	cfg = cfg.withDefaults()
	s := &Sink{name: "file", cfg: cfg, logger: logger}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// NewWriter returns a sink writing JSON lines to w (replay's stdout, a test
// buffer). It never closes w.
func NewWriter(w io.Writer, logger *zap.Logger) *Sink {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Sink{name: "stdout", logger: logger, w: w}
}

// SetName renames the sink (for metrics and logs; fanout names sinks
// after their configuration entry).
func (s *Sink) SetName(name string) { s.name = name }

// Name returns "stdout", "file", or the name given with SetName.
func (s *Sink) Name() string { return s.name }

func (s *Sink) open() error {
	// Its directory is created, like replay's --output and dead-letter
	// files: a sink that would fail for a missing directory only once run
	// starts, after run --check passed, helps nobody.
	if err := os.MkdirAll(filepath.Dir(s.cfg.Path), 0o700); err != nil {
		return fmt.Errorf("create the findings file's directory: %w (check that it can be created and written)", err)
	}
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open findings file: %w (check that the directory is writable)", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat findings file %s: %w", s.cfg.Path, err)
	}
	s.f, s.w, s.size = f, f, fi.Size()
	return nil
}

// Write appends the batch's findings, one JSON line each; for a file it
// rotates first when needed and fsyncs before returning. A write error is
// returned (the batch is not acknowledged) rather than retried: a full disk
// or a closed pipe needs a person, and the caller's retry will try again.
func (s *Sink) Write(ctx context.Context, b sink.Batch) error {
	if len(b.Findings) == 0 {
		return nil
	}
	buf, err := Encode(nil, b)
	if err != nil {
		return err
	}
	metrics.SinkAttempts.WithLabelValues(s.name).Inc()
	start := time.Now()
	s.mu.Lock()
	err = s.writeLocked(buf)
	s.mu.Unlock()
	metrics.SinkLatency.WithLabelValues(s.name).Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.SinkFailures.WithLabelValues(s.name, "write").Inc()
		return err
	}
	metrics.SinkDelivered.WithLabelValues(s.name).Add(float64(len(b.Findings)))
	return nil
}

func (s *Sink) writeLocked(buf []byte) error {
	if s.closed {
		return fmt.Errorf("%s sink: write after Close", s.name)
	}
	if s.f != nil && s.cfg.MaxBytes > 0 && s.size > 0 && s.size+int64(len(buf)) > s.cfg.MaxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.w.Write(buf)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("%s sink: write findings: %w", s.name, err)
	}
	if s.f != nil && !s.cfg.NoSync {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("%s sink: fsync %s: %w", s.name, s.cfg.Path, err)
		}
	}
	return nil
}

// rotate closes the file, shifts PATH.i to PATH.i+1 (dropping the oldest
// beyond MaxBackups), renames PATH to PATH.1 and opens a fresh PATH.
func (s *Sink) rotate() error {
	p := s.cfg.Path
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("rotate %s: close: %w", p, err)
	}
	s.f, s.w = nil, nil
	if s.cfg.MaxBackups > 0 {
		_ = os.Remove(fmt.Sprintf("%s.%d", p, s.cfg.MaxBackups))
		for i := s.cfg.MaxBackups - 1; i >= 1; i-- {
			if err := os.Rename(fmt.Sprintf("%s.%d", p, i), fmt.Sprintf("%s.%d", p, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotate %s: %w", p, err)
			}
		}
		if err := os.Rename(p, p+".1"); err != nil {
			return fmt.Errorf("rotate %s: %w", p, err)
		}
	} else if err := os.Remove(p); err != nil {
		return fmt.Errorf("rotate %s: %w", p, err)
	}
	s.logger.Info("rotated findings file", zap.String("path", p), zap.Int("keep", s.cfg.MaxBackups))
	return s.open()
}

// Close closes the file (standard output and callers' writers stay open).
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f != nil {
		if err := s.f.Close(); err != nil {
			return fmt.Errorf("close %s: %w", s.cfg.Path, err)
		}
	}
	return nil
}

// Encode appends the batch's findings to dst as JSON lines.
func Encode(dst []byte, b sink.Batch) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	for i := range b.Findings {
		if err := enc.Encode(b.Findings[i]); err != nil {
			return nil, fmt.Errorf("encode finding %s: %w", b.Findings[i].FindingID, err)
		}
	}
	return buf.Bytes(), nil
}
