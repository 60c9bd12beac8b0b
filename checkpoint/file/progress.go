package file

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Progress is `replay --resume FILE`: how far replay got in each input file,
// kept in one small JSON file. Replay records a file's position only after
// the findings (and dead letters) of every body up to it were delivered, so
// a replay that stops anywhere re-reads at most what was not confirmed
// (at-least-once, like the Event Hubs checkpoints).
//
// The file is {"version":1,"files":{"/abs/path":{"line":N,...}}}, written
// atomically (temporary file, fsync, rename). FILE.lock is held with an
// exclusive lock while the Progress is open, so two replays cannot share one
// progress file by accident.
type Progress struct {
	path string
	lock *os.File

	mu    sync.Mutex
	files map[string]FileProgress
	dirty bool
}

// FileProgress is one input file's position.
type FileProgress struct {
	// Line is the last line of the file whose body was processed and whose
	// findings were delivered; bodies starting on later lines are new.
	Line int `json:"line"`
	// Complete says the whole file was read.
	Complete bool `json:"complete"`
	// Size and ModTime are the file's when it was read; a file that is now
	// smaller, or older, or of the same size with another time, changed.
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
	// Updated is when the entry was written.
	Updated time.Time `json:"updated"`
}

// Resume says where to continue in a file that now has size and modTime:
// after line (bodies starting on lines up to it were delivered), or nowhere
// when the file is complete and unchanged (skipAll). A file that is smaller
// than recorded, older, or of the same size with another time is not the
// one recorded (replaced, truncated, rewritten): changed is true and line 0,
// it is read from the start. A file that only grew continues after line.
func (fp FileProgress) Resume(size int64, modTime time.Time) (line int, skipAll, changed bool) {
	switch {
	case size < fp.Size, modTime.Before(fp.ModTime), size == fp.Size && !modTime.Equal(fp.ModTime):
		return 0, false, true
	case size == fp.Size && fp.Complete:
		return fp.Line, true, false
	}
	return fp.Line, false, false
}

type progressFile struct {
	Version int                     `json:"version"`
	Files   map[string]FileProgress `json:"files"`
}

// ErrProgressInUse is returned by OpenProgress when another process holds
// the progress file.
var ErrProgressInUse = errors.New("the progress file is in use by another replay")

// OpenProgress opens (or starts) the progress file at path, creating its
// directory, and locks it.
func OpenProgress(path string) (*Progress, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("progress file %s: %w", path, err)
	}
	lf, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("progress file lock: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrProgressInUse)
		}
		return nil, fmt.Errorf("progress file lock: %w", err)
	}
	p := &Progress{path: path, lock: lf, files: map[string]FileProgress{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return p, nil
	case err != nil:
		p.Close()
		return nil, fmt.Errorf("progress file: %w", err)
	}
	var pf progressFile
	if err := json.Unmarshal(b, &pf); err != nil || pf.Version != 1 {
		p.Close()
		if err == nil {
			err = fmt.Errorf("version %d, want 1", pf.Version)
		}
		return nil, fmt.Errorf("%s is not a replay progress file (%v); remove it to start over", path, err)
	}
	for k, v := range pf.Files {
		p.files[k] = v
	}
	return p, nil
}

// Where returns the progress file's path.
func (p *Progress) Where() string { return p.path }

// Get returns the position recorded for file (an absolute path).
func (p *Progress) Get(file string) (FileProgress, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fp, ok := p.files[file]
	return fp, ok
}

// Set records the position of file (an absolute path) in memory; Save
// writes it.
func (p *Progress) Set(file string, fp FileProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fp.Updated.IsZero() {
		fp.Updated = time.Now().UTC()
	}
	p.files[file] = fp
	p.dirty = true
}

// Save writes the positions when they changed since the last Save.
func (p *Progress) Save() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dirty {
		return nil
	}
	pf := progressFile{Version: 1, Files: p.files}
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	if err := writeSync(p.path, append(b, '\n')); err != nil {
		return fmt.Errorf("write progress file %s: %w", p.path, err)
	}
	p.dirty = false
	return nil
}

// Files returns the recorded files, sorted.
func (p *Progress) Files() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.files))
	for k := range p.files {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Close releases the lock; it does not save.
func (p *Progress) Close() error {
	if p.lock == nil {
		return nil
	}
	err := p.lock.Close() // closing releases the flock
	p.lock = nil
	return err
}

// writeSync replaces path with data atomically and durably.
func writeSync(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-progress-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
