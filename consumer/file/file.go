// Package file reads sign-in logs from files and stdin for replay: JSON
// `{"records":[...]}` bodies, bare arrays, single records, NDJSON (one body a
// line, LF or CRLF, with or without a UTF-8 BOM), gzip recognised by its
// magic bytes whatever the file name.
package file

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Body is one event body as one Event Hubs message would carry it.
type Body struct {
	Data []byte
	// File is the path ("-" for stdin) and Line the 1-based line the body starts on.
	File string
	Line int
	// Partial marks the file's last line when it has no line break and is
	// not one JSON value: a line still being written, or one cut short.
	// Whoever records progress (replay --resume) must not count it as read.
	Partial bool
}

// PathError is a path the user gave that names nothing: a missing file or a
// glob that matches nothing. It is a usage error.
type PathError struct {
	Path   string
	Reason string
}

func (e *PathError) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Reason) }

// Expand turns the user's paths into files: files as given, directories
// recursively (sorted, hidden entries left out: names starting with ".",
// directories included), globs expanded; "-" stays "-" (stdin).
func Expand(paths []string) ([]string, error) {
	e, err := expand(paths, false)
	return e.Files, err
}

// Expanded is what ExpandLogs found.
type Expanded struct {
	// Files are the files to read, in order.
	Files []string
	// Skipped are files found in directories whose names say they are not
	// logs (README.md, rules, configuration), sorted; a file that is also
	// named (or globbed) is read, not skipped.
	Skipped []string
}

// logExts are the file name endings ExpandLogs reads in directories, besides
// names without an extension (Event Hubs Capture and storage archive blobs
// downloaded as is).
var logExts = map[string]bool{".json": true, ".ndjson": true, ".jsonl": true, ".gz": true, ".log": true}

// IsLogName reports whether a file found in a directory is read: its name
// ends in .json, .ndjson, .jsonl, .gz or .log (any case), or has no
// extension.
func IsLogName(name string) bool {
	ext := filepath.Ext(name)
	return ext == "" || logExts[strings.ToLower(ext)]
}

// ExpandLogs is Expand for replay's input: within directories it keeps
// only the files IsLogName accepts and reports the others as Skipped.
// Files named on the command line, or matched by a glob, are always read.
func ExpandLogs(paths []string) (Expanded, error) {
	return expand(paths, true)
}

func expand(paths []string, logsOnly bool) (Expanded, error) {
	var out Expanded
	for _, p := range paths {
		if p == "-" {
			out.Files = append(out.Files, p)
			continue
		}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return out, &PathError{p, "bad glob pattern: " + err.Error()}
			}
			if len(m) == 0 {
				return out, &PathError{p, "the glob matches no file"}
			}
			sub, err := expand(m, logsOnly)
			if err != nil {
				return out, err
			}
			out.Files = append(out.Files, sub.Files...)
			out.Skipped = append(out.Skipped, sub.Skipped...)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return out, &PathError{p, "no such file or directory"}
			}
			return out, fmt.Errorf("cannot read %q: %w", p, err)
		}
		if !fi.IsDir() {
			out.Files = append(out.Files, p)
			continue
		}
		var files, skipped []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			switch {
			case d.IsDir():
			case logsOnly && !IsLogName(d.Name()):
				skipped = append(skipped, path)
			default:
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("cannot walk directory %q: %w", p, err)
		}
		sort.Strings(files)
		sort.Strings(skipped)
		out.Files = append(out.Files, files...)
		out.Skipped = append(out.Skipped, skipped...)
	}
	// A file skipped in a directory but also named is not skipped.
	read := make(map[string]bool, len(out.Files))
	for _, f := range out.Files {
		read[filepath.Clean(f)] = true
	}
	kept := out.Skipped[:0]
	for _, f := range out.Skipped {
		if !read[filepath.Clean(f)] {
			kept = append(kept, f)
		}
	}
	out.Skipped = kept
	sort.Strings(out.Skipped)
	return out, nil
}

// ReasonReadError is the dead letter reason for a file that could not be
// read to its end.
const ReasonReadError = "read-error"

// ReadError is a file that could not be read to its end: it cannot be
// opened, its gzip stream is corrupt or truncated, a line is too long, the
// disk fails. The bodies before Line were passed to the callback already; a
// line cut short by the error is not a body, it is Partial.
type ReadError struct {
	File string
	// Line is the 1-based line where reading failed; 0 when the file could
	// not be opened.
	Line int
	Err  error
	// Partial is what was read of the line (or of the one JSON value the
	// file holds) that the error cut short; nil when nothing was.
	Partial []byte
}

func (e *ReadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// Reader reads bodies from files.
type Reader struct {
	// Stdin is read for the path "-".
	Stdin io.Reader
	// MaxLineBytes bounds one NDJSON line (default 64 MiB); a longer line is
	// an error naming the file and line.
	MaxLineBytes int
	// Valid, when set, decides whether a whole file is one JSON value
	// (for example a validator that also accepts repairable bodies). The
	// default is encoding/json's Valid.
	Valid func([]byte) bool
}

// Read calls fn for every body of every file, in order. It stops at the
// first error of fn (returned as is), of ctx, or of reading (a *ReadError,
// after the bodies read before it).
func (r *Reader) Read(ctx context.Context, files []string, fn func(Body) error) error {
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.readOne(ctx, f, fn); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) readOne(ctx context.Context, name string, fn func(Body) error) error {
	var src io.Reader
	if name == "-" {
		if r.Stdin == nil {
			return &ReadError{File: name, Err: errors.New("stdin is not available")}
		}
		src = r.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return &ReadError{File: name, Err: fmt.Errorf("cannot open: %w", err)}
		}
		defer f.Close()
		src = f
	}
	br := bufio.NewReaderSize(src, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &ReadError{File: name, Line: 1, Err: fmt.Errorf("gzip header: %w", err)}
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	// A UTF-8 BOM at the start of the file is not part of the JSON.
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	maxLine := r.MaxLineBytes
	if maxLine <= 0 {
		maxLine = 64 << 20
	}
	valid := r.Valid
	if valid == nil {
		valid = json.Valid
	}

	first, err := readLine(br, maxLine)
	if err != nil && !errors.Is(err, io.EOF) {
		return &ReadError{File: name, Line: 1, Err: err, Partial: nonEmpty(first)}
	}
	firstTrim := bytes.TrimSpace(first)
	rest, peekErr := br.Peek(1)
	onlyLine := errors.Is(err, io.EOF) || (len(rest) == 0 && peekErr != nil)
	if onlyLine || (len(firstTrim) > 0 && json.Valid(firstTrim)) {
		// NDJSON (or a one-line file, which is the same thing): one body per line.
		return r.lines(ctx, name, br, first, errors.Is(err, io.EOF), maxLine, valid, fn)
	}
	// The first line alone is not JSON: the file may be one (pretty-printed)
	// JSON value. Read it whole; if it is not one value, read it as lines.
	whole := bytes.NewBuffer(append(append([]byte(nil), first...), '\n'))
	if _, err := io.Copy(whole, br); err != nil {
		// A value cut short is not a body; what was read is kept for the
		// dead letter.
		return &ReadError{File: name, Line: 1 + leadingLines(whole.Bytes()), Err: err, Partial: whole.Bytes()}
	}
	data := whole.Bytes()
	if t := bytes.TrimSpace(data); len(t) > 0 && valid(t) {
		return fn(Body{Data: t, File: name, Line: 1 + leadingLines(data)})
	}
	return r.lines(ctx, name, bufio.NewReader(bytes.NewReader(data)), nil, false, maxLine, valid, fn)
}

func leadingLines(b []byte) int {
	n := 0
	for _, c := range b {
		switch c {
		case '\n':
			n++
		case ' ', '\t', '\r':
		default:
			return n
		}
	}
	return n
}

// lines calls fn for each non-empty line; first, when not nil, is line 1
// already read (firstEOF: without a line break, at the end of the file). A
// last line without a line break that valid refuses is handed over as
// Partial.
func (r *Reader) lines(ctx context.Context, name string, br *bufio.Reader, first []byte, firstEOF bool, maxLine int, valid func([]byte) bool, fn func(Body) error) error {
	n := 0
	emit := func(l []byte, last bool) error {
		n++
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			return nil
		}
		return fn(Body{Data: l, File: name, Line: n, Partial: last && !valid(l)})
	}
	if first != nil {
		if err := emit(first, firstEOF); err != nil {
			return err
		}
	}
	for {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		l, err := readLine(br, maxLine)
		if err != nil && !errors.Is(err, io.EOF) {
			// The line the error cut short is not a body.
			return &ReadError{File: name, Line: n + 1, Err: err, Partial: nonEmpty(l)}
		}
		if len(l) > 0 || err == nil {
			if e := emit(l, err != nil); e != nil {
				return e
			}
		}
		if err != nil {
			return nil
		}
	}
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// readLine reads one line without its LF (a trailing CR stays; callers trim).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return line, err
		}
		return line[:len(line)-1], nil
	}
}
