package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readAll(t *testing.T, r *Reader, files ...string) []Body {
	t.Helper()
	var out []Body
	err := r.Read(context.Background(), files, func(b Body) error {
		b.Data = append([]byte(nil), b.Data...)
		out = append(out, b)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReaderSplitsFilesIntoBodies(t *testing.T) {
	dir := t.TempDir()
	pretty := "{\n  \"records\": [\n    {\"category\": \"SignInLogs\"}\n  ]\n}\n"
	ndjson := "{\"category\":\"A\"}\r\n\r\n{\"category\":\"B\"}\r\n"
	for _, tc := range []struct {
		name      string
		data      []byte
		wantLines []int
		wantFirst string
	}{
		{"a pretty-printed JSON value is one body", []byte(pretty), []int{1}, `{`},
		{"NDJSON with CRLF gives one body per non-empty line", []byte(ndjson), []int{1, 3}, `{"category":"A"}`},
		{"a UTF-8 BOM is dropped", append([]byte{0xEF, 0xBB, 0xBF}, ndjson...), []int{1, 3}, `{"category":"A"}`},
		{"gzip is recognised by its magic bytes whatever the name", gz([]byte(ndjson)), []int{1, 3}, `{"category":"A"}`},
		{"a gzip pretty value is one body", gz([]byte(pretty)), []int{1}, `{`},
		{"a one-line file without a newline is one body", []byte(`[{"category":"A"},{"category":"B"}]`), []int{1}, `[{"category":"A"}`},
		{"a file that is neither one value nor lines of values is read as lines", []byte("{\"a\":\n1}\n{bad\n"), []int{1, 2, 3}, `{"a":`},
		{"leading blank lines move the body's line", []byte("\n\n{\n\"records\":[]}\n"), []int{3}, `{`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".log", tc.data)
			got := readAll(t, &Reader{}, p)
			var lines []int
			for _, b := range got {
				lines = append(lines, b.Line)
				if b.File != p {
					t.Errorf("file = %q", b.File)
				}
			}
			if len(lines) != len(tc.wantLines) {
				t.Fatalf("bodies on lines %v, want %v", lines, tc.wantLines)
			}
			for i := range lines {
				if lines[i] != tc.wantLines[i] {
					t.Fatalf("bodies on lines %v, want %v", lines, tc.wantLines)
				}
			}
			if !strings.HasPrefix(string(got[0].Data), tc.wantFirst) {
				t.Errorf("first body %q, want prefix %q", got[0].Data, tc.wantFirst)
			}
		})
	}
}

func TestReaderReadsStdinForDash(t *testing.T) {
	got := readAll(t, &Reader{Stdin: strings.NewReader("{\"x\":1}\n{\"x\":2}\n")}, "-")
	if len(got) != 2 || got[1].Line != 2 || got[1].File != "-" {
		t.Fatalf("got %+v", got)
	}
}

func TestReaderRefusesAnOverlongLine(t *testing.T) {
	p := write(t, t.TempDir(), "big.ndjson", []byte("{\"a\":1}\n"+strings.Repeat("x", 100)+"\n"))
	err := (&Reader{MaxLineBytes: 50}).Read(context.Background(), []string{p}, func(Body) error { return nil })
	if err == nil || !strings.Contains(err.Error(), ":2: line longer than 50 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestExpandWalksDirectoriesAndGlobs(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "b/2.json", []byte("{}"))
	write(t, dir, "a.json", []byte("{}"))
	write(t, dir, "b/.hidden", []byte("{}"))
	got, err := Expand([]string{dir, filepath.Join(dir, "*.json"), "-"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b/2.json"), filepath.Join(dir, "a.json"), "-"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Expand = %v, want %v", got, want)
	}
}

func TestExpandReportsMissingPathsAsPathErrors(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "nope.json"), filepath.Join(dir, "*.gz")} {
		_, err := Expand([]string{p})
		var pe *PathError
		if !errors.As(err, &pe) || pe.Path != p {
			t.Errorf("Expand(%s) = %v, want a PathError", p, err)
		}
	}
}

func TestATruncatedGzipGivesTheBodiesBeforeTheCutAndAReadError(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := 0; i < 2000; i++ {
		lines = append(lines, `{"records":[{"category":"SignInLogs","n":`+strings.Repeat("1", i%50+1)+`}]}`)
	}
	full := gz([]byte(strings.Join(lines, "\n") + "\n"))
	p := write(t, dir, "a.ndjson.gz", full[:len(full)/2])
	var got []Body
	err := (&Reader{}).Read(context.Background(), []string{p}, func(b Body) error {
		got = append(got, Body{Data: append([]byte(nil), b.Data...), File: b.File, Line: b.Line})
		return nil
	})
	var re *ReadError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *ReadError", err)
	}
	if len(got) == 0 || len(got) >= 2000 {
		t.Fatalf("%d bodies before the cut", len(got))
	}
	for i, b := range got {
		if b.Line != i+1 || string(b.Data) != lines[i] {
			t.Fatalf("body %d: line %d %q, want line %d %q (a partial line must not be a body)", i, b.Line, b.Data, i+1, lines[i])
		}
	}
	if re.File != p || re.Line != len(got)+1 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadError = %+v (%v), want file %s line %d, unexpected EOF", re, re, p, len(got)+1)
	}
	if !strings.HasPrefix(lines[len(got)], string(re.Partial)) {
		t.Errorf("partial line %q is not the start of line %d", re.Partial, re.Line)
	}
	if !strings.Contains(re.Error(), p+":") {
		t.Errorf("message %q does not name the file", re.Error())
	}
}

func TestFilesThatCannotBeOpenedOrDecompressedAreReadErrorsAndCallbackErrorsAreNot(t *testing.T) {
	dir := t.TempDir()
	corrupt := write(t, dir, "corrupt.gz", []byte("\x1f\x8bnot gzip at all"))
	stop := errors.New("stop")
	good := write(t, dir, "good.ndjson", []byte("{}\n{}\n"))
	for _, tc := range []struct {
		name string
		file string
		fn   func(Body) error
		read bool
	}{
		{"a corrupt gzip header", corrupt, func(Body) error { return nil }, true},
		{"a directory", dir, func(Body) error { return nil }, true},
		{"stdin without a reader", "-", func(Body) error { return nil }, true},
		{"the callback's own error", good, func(Body) error { return stop }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Reader{}).Read(context.Background(), []string{tc.file}, tc.fn)
			var re *ReadError
			if errors.As(err, &re) != tc.read {
				t.Fatalf("err = %v (%T); a read error: %v", err, err, tc.read)
			}
			if !tc.read && err != stop {
				t.Errorf("the callback's error came back as %v", err)
			}
			if tc.read && re.File != tc.file {
				t.Errorf("ReadError.File = %q", re.File)
			}
		})
	}
}

func TestExpandLogsReadsOnlyLogNamesInDirectoriesButEveryNamedFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.json", "b.NDJSON", "c.jsonl", "d.json.gz", "e.log", "PT1H", "README.md", "notes.txt", "rule.kql", "cfg.yaml", "x.go", "run.sh",
		".hidden.json", ".git/objects/x.json", "sub/f.json", "sub/.cache/g.json"} {
		write(t, dir, n, []byte("{}"))
	}
	named := filepath.Join(dir, "notes.txt")
	got, err := ExpandLogs([]string{dir, named, filepath.Join(dir, "*.md")})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range []string{"PT1H", "a.json", "b.NDJSON", "c.jsonl", "d.json.gz", "e.log", "sub/f.json"} {
		want = append(want, filepath.Join(dir, n))
	}
	want = append(want, named, filepath.Join(dir, "README.md"))
	if strings.Join(got.Files, "\n") != strings.Join(want, "\n") {
		t.Errorf("Files:\n%s\nwant:\n%s", strings.Join(got.Files, "\n"), strings.Join(want, "\n"))
	}
	var skipped []string
	for _, n := range []string{"cfg.yaml", "rule.kql", "run.sh", "x.go"} { // README.md and notes.txt are named
		skipped = append(skipped, filepath.Join(dir, n))
	}
	if strings.Join(got.Skipped, "\n") != strings.Join(skipped, "\n") {
		t.Errorf("Skipped:\n%s\nwant:\n%s", strings.Join(got.Skipped, "\n"), strings.Join(skipped, "\n"))
	}
	// Expand (every file) still skips hidden entries, directories included.
	all, err := Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		if strings.Contains(f, string(filepath.Separator)+".") {
			t.Errorf("Expand returned the hidden %s", f)
		}
	}
	if len(all) != 13 {
		t.Errorf("Expand returned %d files, want the 13 that are not hidden: %v", len(all), all)
	}
	// A hidden directory named explicitly is read.
	if got, _ := ExpandLogs([]string{filepath.Join(dir, ".git")}); len(got.Files) != 1 {
		t.Errorf("an explicitly named hidden directory: %v", got.Files)
	}
}

// A file still being written ends in a line without a line break that is
// not yet JSON: that last line, and only it, is Partial, so that replay
// --resume does not count it as read. A complete last line without a
// line break is not Partial.
func TestALastLineWithoutALineBreakIsPartialOnlyWhenItIsNotJSON(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, data string
		partial    []bool
	}{
		{"a line being written", "{\"x\":1}\n{\"x\":2}\n{\"records\": [", []bool{false, false, true}},
		{"the only line, being written", "{\"records\": [{\"x\"", []bool{true}},
		{"a complete last line without a line break", "{\"x\":1}\n{\"x\":2}", []bool{false, false}},
		{"the only line, complete, without a line break", "{\"x\":1}", []bool{false}},
		{"every line ends with a line break", "{\"x\":1}\n{\"records\": [\n", []bool{false, false}},
		{"CRLF lines, the last being written", "{\"x\":1}\r\n{\"x\":", []bool{false, true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, dir, strings.Repeat("f", i+1)+".ndjson", []byte(tt.data))
			got := readAll(t, &Reader{}, p)
			var partial []bool
			for _, b := range got {
				partial = append(partial, b.Partial)
			}
			if len(partial) != len(tt.partial) {
				t.Fatalf("bodies %+v, want %d", got, len(tt.partial))
			}
			for j := range partial {
				if partial[j] != tt.partial[j] {
					t.Errorf("body %d (%q) Partial = %v, want %v", j, got[j].Data, partial[j], tt.partial[j])
				}
			}
		})
	}
	// Through a gzip file too.
	p := write(t, dir, "z.ndjson.gz", gz([]byte("{\"x\":1}\n{\"x\"")))
	if got := readAll(t, &Reader{}, p); len(got) != 2 || got[0].Partial || !got[1].Partial {
		t.Errorf("gzip: %+v, want the last of two bodies partial", got)
	}
}
