package file

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProgressSurvivesReopeningAndIsWrittenOnlyBySave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "progress.json")
	p, err := OpenProgress(path)
	if err != nil {
		t.Fatal(err)
	}
	mod := time.Date(2025, 2, 14, 9, 0, 0, 123456789, time.UTC)
	p.Set("/in/a.ndjson", FileProgress{Line: 7, Complete: true, Size: 100, ModTime: mod})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("Set wrote the file before Save: %v", err)
	}
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenProgress(path); !errors.Is(err, ErrProgressInUse) {
		t.Fatalf("a second open while the first holds it: %v, want ErrProgressInUse", err)
	}
	p.Close()
	q, err := OpenProgress(path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	fp, ok := q.Get("/in/a.ndjson")
	if !ok || fp.Line != 7 || !fp.Complete || fp.Size != 100 || !fp.ModTime.Equal(mod) {
		t.Fatalf("reopened: %+v %v", fp, ok)
	}
	if files := q.Files(); len(files) != 1 || files[0] != "/in/a.ndjson" {
		t.Errorf("Files() = %v", files)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestProgressRefusesAFileThatIsNotOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "progress.json")
	os.WriteFile(path, []byte(`{"records":[]}`), 0o644)
	if _, err := OpenProgress(path); err == nil || !strings.Contains(err.Error(), "not a replay progress file") {
		t.Fatalf("err = %v", err)
	}
}

func TestProgressResumeTellsGrownFromChangedFiles(t *testing.T) {
	mod := time.Date(2025, 2, 14, 9, 0, 0, 0, time.UTC)
	fp := FileProgress{Line: 10, Complete: true, Size: 1000, ModTime: mod}
	for _, tc := range []struct {
		name          string
		size          int64
		mod           time.Time
		line          int
		skip, changed bool
	}{
		{"unchanged and complete: skip it all", 1000, mod, 10, true, false},
		{"appended to: continue after the line", 1500, mod.Add(time.Minute), 10, false, false},
		{"smaller: replaced, start over", 900, mod.Add(time.Minute), 0, false, true},
		{"older: replaced, start over", 1500, mod.Add(-time.Minute), 0, false, true},
		{"same size, other time: rewritten, start over", 1000, mod.Add(time.Second), 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, skip, changed := fp.Resume(tc.size, tc.mod)
			if line != tc.line || skip != tc.skip || changed != tc.changed {
				t.Errorf("Resume = %d, %v, %v; want %d, %v, %v", line, skip, changed, tc.line, tc.skip, tc.changed)
			}
		})
	}
	partial := FileProgress{Line: 4, Size: 1000, ModTime: mod}
	if line, skip, changed := partial.Resume(1000, mod); line != 4 || skip || changed {
		t.Errorf("an unchanged file read in part continues after its line: %d %v %v", line, skip, changed)
	}
}
