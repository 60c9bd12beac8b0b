// Package deadletter stores dead letters durably: input that could not be
// decoded and findings a sink rejected for good, as JSON lines in the form
// DESIGN.md gives (time, reason, error, source, raw). A dead letter goes to
// a file (replay), a directory or a blob container (run).
package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink"
)

var (
	_ sink.DeadLetterWriter = (*File)(nil)
	_ sink.DeadLetterWriter = (*Dir)(nil)
)

// Encode appends dead letters to dst as JSON lines.
func Encode(dst []byte, dls []pipeline.DeadLetter) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	for i := range dls {
		if err := enc.Encode(dls[i]); err != nil {
			return nil, fmt.Errorf("encode dead letter (%s): %w", dls[i].Reason, err)
		}
	}
	return buf.Bytes(), nil
}

func count(dls []pipeline.DeadLetter) {
	for i := range dls {
		metrics.DeadLetters.WithLabelValues(dls[i].Reason).Inc()
	}
}

// File appends dead letters to one file, created (mode 0600, with its
// directory) only when the first dead letter arrives. Each write is
// fsynced before it returns.
type File struct {
	path string

	mu     sync.Mutex
	f      *os.File
	n      int
	closed bool
}

// NewFile returns a writer to path; nothing is created until a dead letter
// is written.
func NewFile(path string) *File { return &File{path: path} }

// Where returns the file's path.
func (w *File) Where() string { return w.path }

// Count returns how many dead letters this writer stored.
func (w *File) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// WriteDeadLetters appends the dead letters and fsyncs the file.
func (w *File) WriteDeadLetters(_ context.Context, dls []pipeline.DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	buf, err := Encode(nil, dls)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("dead letter file %s: write after Close", w.path)
	}
	if w.f == nil {
		if w.f, err = openAppend(w.path); err != nil {
			return err
		}
	}
	if err := appendSync(w.f, buf); err != nil {
		return err
	}
	w.n += len(dls)
	count(dls)
	return nil
}

// Close closes the file if it was opened.
func (w *File) Close(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close dead letter file %s: %w", w.path, err)
	}
	return nil
}

func openAppend(path string) (*os.File, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create dead letter directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open dead letter file: %w (check that the place is writable)", err)
	}
	return f, nil
}

func appendSync(f *os.File, buf []byte) error {
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("write dead letters to %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync dead letters in %s: %w", f.Name(), err)
	}
	return nil
}

// Dir writes dead letters into a directory, one file per hour and process:
// DIR/deadletter-YYYYMMDDTHH-HOST-PID.jsonl, so that several replicas can
// share the directory (an Azure Files mount) without clobbering each other.
// The directory is created when the first dead letter arrives.
type Dir struct {
	dir      string
	instance string
	now      func() time.Time

	mu      sync.Mutex
	f       *os.File
	curName string
	n       int
	closed  bool
}

// NewDir returns a writer into dir.
func NewDir(dir string) *Dir {
	return &Dir{dir: dir, instance: Instance(), now: time.Now}
}

// Instance names this process for file and blob names: host name and pid.
func Instance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Where returns the directory.
func (w *Dir) Where() string { return w.dir }

// Count returns how many dead letters this writer stored.
func (w *Dir) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// WriteDeadLetters appends the dead letters to the current hour's file and
// fsyncs it.
func (w *Dir) WriteDeadLetters(_ context.Context, dls []pipeline.DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	buf, err := Encode(nil, dls)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("dead letter directory %s: write after Close", w.dir)
	}
	name := filepath.Join(w.dir, "deadletter-"+w.now().UTC().Format("20060102T15")+"-"+w.instance+".jsonl")
	if name != w.curName {
		if w.f != nil {
			_ = w.f.Close()
			w.f = nil
		}
		if w.f, err = openAppend(name); err != nil {
			return err
		}
		w.curName = name
	}
	if err := appendSync(w.f, buf); err != nil {
		return err
	}
	w.n += len(dls)
	count(dls)
	return nil
}

// Close closes the current file.
func (w *Dir) Close(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close dead letter file in %s: %w", w.dir, err)
	}
	return nil
}
