package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	cpfile "github.com/streamhunt/streamhunt/checkpoint/file"
	"github.com/streamhunt/streamhunt/consumer/file"
	"github.com/streamhunt/streamhunt/internal/config"
	"github.com/streamhunt/streamhunt/internal/kql"
	"github.com/streamhunt/streamhunt/internal/ops"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/deadletter"
	"github.com/streamhunt/streamhunt/sink/retry"
	"github.com/streamhunt/streamhunt/sink/stdout"
)

func init() {
	register(command{name: "replay", summary: "run the rules over sign-in logs in files or stdin", run: runReplay})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type replayFlags struct {
	rules      stringList
	onlyRules  stringList
	deadLetter string
	output     string
	config     string
	resume     string
	now        string
	progress   time.Duration
	paths      []string
	// set names the flags given on the command line.
	set map[string]bool
}

const replayUsage = `Usage: streamhunt replay [flags] PATH...

Reads Entra ID sign-in logs as Event Hubs delivers them ({"records":[...]}
bodies, bare arrays, single records, NDJSON, gzip) from files, directories,
globs or - (stdin), runs the detection rules on every record, and writes
findings as JSON lines to stdout (or --output FILE). Flags may come before
or after the paths. In directories, hidden entries are skipped, and so are
files whose names do not look like logs: only .json, .ndjson, .jsonl, .gz,
.log and names without an extension are read there (the summary lists the
others); a file named on the command line or matched by a glob is always
read.

With --config FILE (the run configuration), findings go to the sinks it
configures instead, with their routing, allowlists, minimisation and storm
control, and dead letters to its deadLetter place (--dead-letter overrides
it); its rules section chooses the rules (--rules adds to them, --only-rules
replaces them). Its source and checkpoints sections are ignored (their
variables need not be set), and so is ops. --output cannot be combined with
--config: add a file sink to the configuration instead. A sink that retries
forever makes replay wait for it (Ctrl-C stops it).

With --resume FILE, replay records in FILE (JSON; created with its directory)
how far it got in each input file, by absolute path, once the findings of
those bodies were delivered, and the next replay with the same FILE skips
them: a file that grew is read from where it stopped; a file that is
smaller, older or rewritten is read again from the start, with a warning.
stdin is not tracked. Delete FILE to start over (FILE.lock keeps two replays
from sharing it).

A file that cannot be read to its end (unreadable, a truncated or corrupt
gzip) does not stop the replay: the bodies before the error are processed,
the error becomes a dead letter (reason read-error, with the file, the line
and what was read of it), the summary lists it, and the other files are
read.

Exit status: 0 when the input was processed (also with dead letters, read
errors or no findings); 1 when no input could be read at all (every file
failed), when writing findings or dead letters failed, or when a sink did
not deliver every finding (rejected, or given up on per its retry policy:
those findings are in the dead letter); 2 for a usage error.
`

// errUsageShown is a usage error whose message and usage text were
// already printed.
var errUsageShown = usageError{errors.New("usage error")}

// parseReplayFlags parses flags that may come before or after the paths.
func parseReplayFlags(args []string, stderr io.Writer) (*replayFlags, error) {
	f := &replayFlags{}
	fs := cliFlagSet("replay")
	fs.Var(&f.rules, "rules", "add the rules in `PATH` (file, directory or glob; .kql, Sentinel .yaml, .md); repeatable")
	fs.Var(&f.onlyRules, "only-rules", "use only the rules in `PATH`, leaving the built-in pack out; repeatable")
	fs.StringVar(&f.deadLetter, "dead-letter", "streamhunt-deadletter.jsonl", "write undecodable input to `FILE` (created only when needed)")
	fs.StringVar(&f.output, "output", "", "write findings to `FILE` instead of stdout (appended; created with its directory)")
	fs.StringVar(&f.config, "config", "", "deliver findings to the sinks of the run configuration `FILE` (see above)")
	fs.StringVar(&f.resume, "resume", "", "record in `FILE` how far each input file was delivered, and skip that next time (see above)")
	fs.StringVar(&f.now, "now", "", "fix the clock of ago()/now() at `TIME` (RFC 3339)")
	fs.DurationVar(&f.progress, "progress", 5*time.Second, "print progress to stderr this often (0 disables)")
	paths, err := cliParse(fs, args)
	if err != nil {
		if cliFlagError(err, "replay", replayUsage, fs, stderr, stderr) == exitOK {
			return nil, flag.ErrHelp
		}
		return nil, errUsageShown
	}
	f.paths = paths
	if len(f.paths) == 0 {
		cliFlagError(errors.New("give at least one PATH (a file, directory, glob, or - for stdin)"), "replay", replayUsage, fs, stderr, stderr)
		return nil, errUsageShown
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.config != "" && f.set["output"] {
		return nil, usagef("--output and --config: with --config findings go to the configuration's sinks; add a file sink there (sinks: [{name: local, file: {path: %s}}]) or drop --config", f.output)
	}
	return f, nil
}

func parseNow(s string) (func() time.Time, error) {
	if s == "" {
		return time.Now, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return func() time.Time { return t }, nil
		}
	}
	return nil, usagef("--now %q: want an RFC 3339 time such as 2025-02-14T09:30:00Z", s)
}

func runReplay(ctx context.Context, args []string, stdin io.Reader, stdoutW, stderr io.Writer) int {
	f, err := parseReplayFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if errors.Is(err, errUsageShown) {
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt replay: %v\n", err)
		return exitCode(err)
	}
	err = replay(ctx, f, stdin, stdoutW, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt replay: %v\n", err)
	}
	return exitCode(err)
}

func replay(ctx context.Context, f *replayFlags, stdin io.Reader, stdoutW, stderr io.Writer) error {
	now, err := parseNow(f.now)
	if err != nil {
		return err
	}
	var cfg *config.Config
	if f.config != "" {
		dl := ""
		if f.set["dead-letter"] {
			dl = f.deadLetter
		}
		if cfg, err = loadReplayConfig(f.config, dl, len(f.onlyRules) > 0); err != nil {
			return usageError{err}
		}
	}
	// Rules first: a rule that does not compile stops the command before
	// any input is read.
	var rs []rules.Rule
	switch {
	case cfg == nil || len(f.onlyRules) > 0:
		rs, err = loadRuleSet("replay", true, f.rules, f.onlyRules, stderr)
	default:
		rs, err = loadRuleSet("replay", *cfg.Rules.Builtin, append(append([]string(nil), cfg.Rules.Paths...), f.rules...), nil, stderr)
	}
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return usagef("no rules to run")
	}
	if cfg != nil {
		ids := make([]string, len(rs))
		for i, r := range rs {
			ids[i] = r.ID
		}
		if err := config.CheckRuleGlobs(cfg, ids); err != nil {
			return usagef("configuration %s:\n%v", f.config, err)
		}
	}
	p, err := pipeline.New(rs, pipeline.Options{Now: now})
	if err != nil {
		return usageError{fmt.Errorf("rules do not compile:\n%w", err)}
	}
	printRuleWarnings(stderr, p)
	if f.now == "" {
		if ids := rulesReadingTheClock(p.Rules()); len(ids) > 0 {
			if len(ids) == 1 {
				fmt.Fprintf(stderr, "streamhunt replay: rule %s uses ago()/now(); replay evaluates it against the current clock; pass --now TIME to replay old logs as of their time\n", ids[0])
			} else {
				fmt.Fprintf(stderr, "streamhunt replay: rules %s use ago()/now(); replay evaluates them against the current clock; pass --now TIME to replay old logs as of their time\n", strings.Join(ids, ", "))
			}
		}
	}
	input, err := file.ExpandLogs(f.paths)
	files := input.Files
	if err != nil {
		var pe *file.PathError
		if errors.As(err, &pe) {
			return usageError{err}
		}
		return err
	}

	var prog *cpfile.Progress
	if f.resume != "" {
		if prog, err = cpfile.OpenProgress(f.resume); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		defer prog.Close()
	}
	out, dl, sinkNames, err := replayOutputs(f, cfg, stdoutW, stderr)
	if err != nil {
		return err
	}

	r := &replayRun{ctx: ctx, f: f, p: p, out: out, dl: dl, prog: prog, stderr: stderr,
		st: newReplayStats(p), reader: &file.Reader{Stdin: stdin, Valid: pipeline.ValidOrRepairable}}
	r.st.resumeFrom = f.resume
	r.st.skippedFiles = input.Skipped
	r.start = time.Now()
	r.lastProgress = r.start
	runErr := r.files(files)
	if runErr == nil && len(r.st.readErrors) > 0 && r.st.filesRead == 0 && r.st.resumedFiles == 0 && r.st.bodies == 0 {
		runErr = fmt.Errorf("no input could be read (%d files failed; see the dead letters at %s)", len(r.st.readErrors), dl.Where())
	}
	if prog != nil {
		// Positions are set only after delivery: what was set is saved,
		// also when the replay stopped early.
		if err := prog.Save(); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	// Close the sinks (they may still dead-letter what they could not
	// deliver), then the dead letters; not with ctx, which may be over.
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	closeErr := out.Close(cctx)
	closeErr = errors.Join(closeErr, dl.Close(cctx))
	r.st.print(stderr, time.Since(r.start), dl, sinkNames)
	return errors.Join(runErr, closeErr, dl.undelivered())
}

// replayRun is one replay's state while it reads the files.
type replayRun struct {
	ctx    context.Context
	f      *replayFlags
	p      *pipeline.Pipeline
	out    sink.Sink
	dl     *countingDeadLetters
	prog   *cpfile.Progress
	reader *file.Reader
	stderr io.Writer
	st     *replayStats

	start, lastProgress time.Time
	pending             sink.Batch
	lastSave            time.Time
}

// flush delivers the pending findings; once it returns nil, everything
// processed so far is delivered.
func (r *replayRun) flush() error {
	if len(r.pending.Findings) == 0 {
		r.pending = sink.Batch{}
		return nil
	}
	if err := r.out.Write(r.ctx, r.pending); err != nil {
		return fmt.Errorf("writing findings: %w", err)
	}
	r.pending = sink.Batch{}
	return nil
}

// files reads every file; it stops at the first error that is not the
// input's own (a sink or the dead letter failing, an interrupt).
func (r *replayRun) files(files []string) error {
	for _, name := range files {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.file(name); err != nil {
			return err
		}
	}
	return nil
}

// resumeFile is where --resume records a file.
type resumeFile struct {
	key  string // absolute path
	size int64
	mod  time.Time
	upto int // bodies starting on lines up to upto are done
}

func (r *replayRun) file(name string) error {
	var rf *resumeFile
	if r.prog != nil && name == "-" {
		fmt.Fprintf(r.stderr, "streamhunt replay: --resume does not track stdin; it is read in full\n")
	}
	if r.prog != nil && name != "-" {
		key, kerr := filepath.Abs(name)
		fi, serr := os.Stat(name)
		if kerr == nil && serr == nil {
			rf = &resumeFile{key: key, size: fi.Size(), mod: fi.ModTime()}
			if fp, ok := r.prog.Get(key); ok {
				line, all, changed := fp.Resume(rf.size, rf.mod)
				switch {
				case changed:
					fmt.Fprintf(r.stderr, "streamhunt replay: %s changed since the last replay (smaller, older or rewritten): reading it from the start\n", name)
				case all:
					r.st.resumedFiles++
					return nil
				case line > 0:
					r.st.resumedPartly++
				}
				rf.upto = line
			}
		}
	}
	skip := 0
	if rf != nil {
		skip = rf.upto
	}
	mark := func(complete bool) error {
		if rf == nil {
			return nil
		}
		r.prog.Set(rf.key, cpfile.FileProgress{Line: rf.upto, Complete: complete, Size: rf.size, ModTime: rf.mod})
		if time.Since(r.lastSave) < time.Second {
			return nil
		}
		r.lastSave = time.Now()
		return r.prog.Save()
	}
	sinceMark, lastMark := 0, time.Now()
	leftPartial := false
	err := r.reader.Read(r.ctx, []string{name}, func(b file.Body) error {
		if b.Line <= skip {
			r.st.resumedBodies++
			return nil
		}
		if rf != nil && b.Partial {
			// Still being written, most likely: the next replay reads it
			// once it is whole. Without --resume it is read (and what
			// cannot be decoded of it dead-lettered) like any other body.
			leftPartial = true
			fmt.Fprintf(r.stderr, "streamhunt replay: %s:%d: the last line has no line break and is not JSON yet (still being written?); left for the next replay with --resume\n", b.File, b.Line)
			return nil
		}
		res := r.p.Process(pipeline.Event{Body: b.Data, Source: pipeline.Source{File: b.File, Line: b.Line}})
		r.st.add(b, res)
		if len(res.DeadLetters) > 0 {
			if err := r.dl.WriteDeadLetters(r.ctx, res.DeadLetters); err != nil {
				return fmt.Errorf("writing dead letters to %s: %w", r.dl.Where(), err)
			}
		}
		if len(res.Findings) > 0 {
			if r.pending.Range.File == "" {
				r.pending.Range = sink.Range{File: b.File, FirstLine: b.Line}
			}
			r.pending.Range.LastLine = b.Line
			r.pending.Findings = append(r.pending.Findings, res.Findings...)
		}
		if rf != nil {
			rf.upto = b.Line
		}
		sinceMark++
		// Deliver every 500 findings, and (with --resume) record the
		// position every 10000 bodies or 5 seconds.
		if len(r.pending.Findings) >= 500 || (rf != nil && (sinceMark >= 10000 || time.Since(lastMark) >= 5*time.Second)) {
			if err := r.flush(); err != nil {
				return err
			}
			if err := mark(false); err != nil {
				return err
			}
			sinceMark, lastMark = 0, time.Now()
		}
		if r.f.progress > 0 && time.Since(r.lastProgress) >= r.f.progress {
			r.lastProgress = time.Now()
			fmt.Fprintf(r.stderr, "streamhunt replay: %s so far\n", r.st.short(time.Since(r.start)))
		}
		return nil
	})
	var re *file.ReadError
	if errors.As(err, &re) {
		// The file's own problem: what was read before it is processed and
		// delivered, the error is a dead letter, and the other files go on.
		if err := r.flush(); err != nil {
			return err
		}
		// Done as far as it can be read: an unchanged file would give the
		// same error (and dead letter) again; one that changes is read on.
		if err := mark(true); err != nil {
			return err
		}
		fmt.Fprintf(r.stderr, "streamhunt replay: %v: the rest of this file is skipped (dead letter %s)\n", re, file.ReasonReadError)
		r.st.readErrors = append(r.st.readErrors, re.Error())
		dl := pipeline.DeadLetter{Time: time.Now(), Reason: file.ReasonReadError, Error: re.Error(),
			Source: pipeline.Source{File: re.File, Line: re.Line}, Raw: re.Partial}
		if err := r.dl.WriteDeadLetters(r.ctx, []pipeline.DeadLetter{dl}); err != nil {
			return fmt.Errorf("writing dead letters to %s: %w", r.dl.Where(), err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	r.st.filesRead++
	if err := r.flush(); err != nil {
		return err
	}
	return mark(!leftPartial)
}

// replayOutputs opens where findings and dead letters go: the configured
// sinks and dead letter place (--config), or stdout (--output FILE) and the
// --dead-letter file. sinks names the configured sinks, for the summary.
func replayOutputs(f *replayFlags, cfg *config.Config, stdoutW, stderr io.Writer) (out sink.Sink, dl *countingDeadLetters, sinks []string, err error) {
	if cfg != nil {
		logger, err := ops.NewLogger(cfg.Ops, ops.WithSecrets(cfg.Secrets()...), ops.WithOutput(stderr))
		if err != nil {
			return nil, nil, nil, usageError{err}
		}
		fo, w, err := buildSinks(cfg, logger, func(w sink.DeadLetterWriter) sink.DeadLetterWriter {
			dl = &countingDeadLetters{DeadLetterWriter: w}
			return dl
		})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("configuration %s: %w", f.config, err)
		}
		_ = w // the same writer as dl
		return fo, dl, fo.Sinks(), nil
	}
	dl = &countingDeadLetters{DeadLetterWriter: deadletter.NewFile(f.deadLetter)}
	if f.output == "" || f.output == "-" {
		return stdout.NewWriter(stdoutW, zap.NewNop()), dl, nil, nil
	}
	// Like the dead letter file, the findings file gets its directory
	// (0700: findings hold personal data).
	if d := filepath.Dir(f.output); d != "." {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, nil, fmt.Errorf("--output: create directory: %w", err)
		}
	}
	s, err := stdout.New(stdout.Config{Path: f.output}, zap.NewNop())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--output: %w", err)
	}
	return s, dl, nil, nil
}

// countingDeadLetters counts the dead letters stored, by reason, so that the
// summary can say how many and replay can tell findings the sinks did not
// deliver.
type countingDeadLetters struct {
	sink.DeadLetterWriter
	mu       sync.Mutex
	n        int
	byReason map[string]int
}

func (c *countingDeadLetters) WriteDeadLetters(ctx context.Context, dls []pipeline.DeadLetter) error {
	if err := c.DeadLetterWriter.WriteDeadLetters(ctx, dls); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byReason == nil {
		c.byReason = map[string]int{}
	}
	for _, d := range dls {
		c.byReason[d.Reason]++
	}
	c.n += len(dls)
	return nil
}

func (c *countingDeadLetters) counts() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.byReason))
	for k, v := range c.byReason {
		m[k] = v
	}
	return c.n, m
}

// undelivered is an error when a sink put findings in the dead letter
// instead of delivering them.
func (c *countingDeadLetters) undelivered() error {
	_, m := c.counts()
	lost := map[string]int{}
	n := 0
	for _, r := range []string{retry.ReasonSinkRejected, retry.ReasonSinkGaveUp} {
		if m[r] > 0 {
			lost[r] = m[r]
			n += m[r]
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%d findings were not delivered by the sinks (%s); they are in the dead letter at %s", n, sortedCounts(lost), c.Where())
}

// loadReplayConfig loads a run configuration for replay: the sections replay
// does not use (source, checkpoints) are replaced by placeholders before
// validation, so their ${VARIABLES} need not be set; deadLetter, when
// given, replaces the configured dead letter place (and a configuration
// without one gets replay's default file).
func loadReplayConfig(path, deadLetter string, onlyRules bool) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	if data, err = replaySections(data, deadLetter, onlyRules); err != nil {
		return nil, fmt.Errorf("configuration %s:\n%w", path, err)
	}
	c, err := config.Parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("configuration %s:\n%w", path, err)
	}
	return c, nil
}

// replaySections rewrites the configuration text for replay. In the usual
// block style the replaced sections are blanked line for line, so that the
// errors config.Parse reports keep their line numbers; other shapes are
// rewritten through the YAML tree.
func replaySections(data []byte, deadLetter string, onlyRules bool) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return data, nil // config.Parse says what is wrong
	}
	m := root.Content[0]
	dlFile := deadLetter
	if dlFile == "" {
		dlFile = deadletter.DefaultFile
	}
	dlJSON, _ := json.Marshal(dlFile)
	put := map[string]string{
		"source":      "{namespace: replay.invalid, hubs: [replay]}",
		"checkpoints": "{dir: replay-unused}",
	}
	if deadLetter != "" {
		put["deadLetter"] = "{file: " + string(dlJSON) + "}"
	}
	hasDL := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		hasDL = hasDL || m.Content[i].Value == "deadLetter"
	}
	if !hasDL {
		put["deadLetter"] = "{file: " + string(dlJSON) + "}"
	}
	if onlyRules {
		// --only-rules replaces the rules section, so it is not checked.
		put["rules"] = "{}"
	}
	keys := []string{"source", "checkpoints", "deadLetter", "rules"}

	if m.Style&yaml.FlowStyle != 0 {
		var kept []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			if _, ok := put[m.Content[i].Value]; !ok {
				kept = append(kept, m.Content[i], m.Content[i+1])
			}
		}
		for _, k := range keys {
			if v, ok := put[k]; ok {
				var n yaml.Node
				if err := yaml.Unmarshal([]byte(v), &n); err != nil {
					return nil, err
				}
				kept = append(kept, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, n.Content[0])
			}
		}
		m.Content = kept
		return yaml.Marshal(&root)
	}

	lines := bytes.SplitAfter(data, []byte("\n"))
	for i := 0; i+1 < len(m.Content); i += 2 {
		if _, ok := put[m.Content[i].Value]; !ok {
			continue
		}
		start, end := m.Content[i].Line-1, len(lines)
		if i+2 < len(m.Content) {
			end = m.Content[i+2].Line - 1
		} else {
			for j := start + 1; j < len(lines); j++ {
				if bytes.HasPrefix(lines[j], []byte("---")) || bytes.HasPrefix(lines[j], []byte("...")) {
					end = j
					break
				}
			}
		}
		for j := start; j < end && j < len(lines); j++ {
			if bytes.HasSuffix(lines[j], []byte("\n")) {
				lines[j] = []byte("\n")
			} else {
				lines[j] = nil
			}
		}
	}
	// The placeholders go right after the mapping's last line, at its
	// indentation.
	last := len(lines)
	for j := m.Line; j < len(lines); j++ {
		if bytes.HasPrefix(lines[j], []byte("---")) || bytes.HasPrefix(lines[j], []byte("...")) {
			last = j
			break
		}
	}
	indent := strings.Repeat(" ", m.Column-1)
	var add []byte
	if last > 0 && len(lines[last-1]) > 0 && !bytes.HasSuffix(lines[last-1], []byte("\n")) {
		add = append(add, '\n')
	}
	for _, k := range keys {
		if v, ok := put[k]; ok {
			add = append(add, indent+k+": "+v+"\n"...)
		}
	}
	var out []byte
	for j, l := range lines {
		if j == last {
			out = append(out, add...)
		}
		out = append(out, l...)
	}
	if last == len(lines) {
		out = append(out, add...)
	}
	return out, nil
}

// replayStats is what the summary reports.
type replayStats struct {
	files     map[string]bool
	bodies    int
	bytes     int64
	records   int
	perTable  map[string]int
	skipped   map[string]int
	findings  map[string]int
	repaired  int
	ruleOrder []string
	// resumedFiles were skipped by --resume as delivered; resumedPartly
	// were read on from where the last replay stopped, skipping
	// resumedBodies.
	resumedFiles  int
	resumedPartly int
	resumedBodies int
	resumeFrom    string
	// queryRows look like rows of a Log Analytics query export.
	queryRows int
	// skippedFiles were found in directories but are not logs by name.
	skippedFiles []string
	// filesRead were read to their end; readErrors are the files that
	// could not be (dead-lettered as read-error).
	filesRead  int
	readErrors []string
}

func newReplayStats(p *pipeline.Pipeline) *replayStats {
	st := &replayStats{files: map[string]bool{}, perTable: map[string]int{}, skipped: map[string]int{}, findings: map[string]int{}}
	for _, r := range p.Rules() {
		st.ruleOrder = append(st.ruleOrder, r.ID)
		st.findings[r.ID] = 0
	}
	return st
}

func (st *replayStats) add(b file.Body, res pipeline.Result) {
	st.files[b.File] = true
	st.bodies++
	st.bytes += int64(len(b.Data))
	st.records += res.Records
	for k, v := range res.PerTable {
		st.perTable[k] += v
	}
	for k, v := range res.SkippedCategories {
		st.skipped[k] += v
	}
	for _, fd := range res.Findings {
		st.findings[fd.RuleID]++
	}
	if res.Repaired != "" {
		st.repaired++
	}
	st.queryRows += res.LogAnalyticsRows
}

func (st *replayStats) totalFindings() int {
	n := 0
	for _, v := range st.findings {
		n += v
	}
	return n
}

func (st *replayStats) short(d time.Duration) string {
	return fmt.Sprintf("%d bodies, %d records, %d findings in %s", st.bodies, st.records, st.totalFindings(), d.Round(time.Millisecond))
}

// rulesReadingTheClock returns the ids of the rules that call ago() or
// now(), found in their parsed query (so that the names in comments and
// strings do not count). The compiled program does not say whether it reads
// the clock, so the syntax tree is walked, generically, for calls.
func rulesReadingTheClock(rs []*pipeline.Rule) []string {
	var ids []string
	for _, r := range rs {
		q, err := kql.Parse(r.Query)
		if err != nil {
			continue // it compiled, so it parses; nothing to say otherwise
		}
		if callsAny(reflect.ValueOf(q), map[string]bool{"ago": true, "now": true}, map[uintptr]bool{}) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

var (
	kqlCallType = reflect.TypeOf(kql.Call{})
	kqlPkg      = kqlCallType.PkgPath()
)

// callsAny reports whether the syntax tree under v holds a kql.Call to one
// of names. It follows pointers, interfaces, slices and the structs of
// package kql (not the values of literals).
func callsAny(v reflect.Value, names map[string]bool, seen map[uintptr]bool) bool {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return false
		}
		seen[v.Pointer()] = true
		return callsAny(v.Elem(), names, seen)
	case reflect.Interface:
		return !v.IsNil() && callsAny(v.Elem(), names, seen)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if callsAny(v.Index(i), names, seen) {
				return true
			}
		}
	case reflect.Struct:
		if v.Type().PkgPath() != kqlPkg {
			return false
		}
		if v.Type() == kqlCallType && names[v.FieldByName("Name").String()] {
			return true
		}
		for i := 0; i < v.NumField(); i++ {
			if callsAny(v.Field(i), names, seen) {
				return true
			}
		}
	}
	return false
}

// listSome joins the first max items with "; " and says how many more there are.
func listSome(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:max], "; ") + fmt.Sprintf("; and %d more", len(items)-max)
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func (st *replayStats) print(w io.Writer, d time.Duration, dl *countingDeadLetters, sinks []string) {
	secs := d.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(w, "streamhunt replay: %s, %s, %s, %s in %s (%.0f records/s, %.1f MB/s)\n",
		plural(len(st.files), "file"), plural(st.bodies, "body", "bodies"), plural(st.records, "record"),
		plural(st.totalFindings(), "finding"), d.Round(time.Millisecond),
		float64(st.records)/secs, float64(st.bytes)/secs/1e6)
	st.printBreakdown(w)
	if n := len(st.skippedFiles); n > 0 {
		fmt.Fprintf(w, "  skipped %s in directories, not logs by name (name a file to read it): %s\n", plural(n, "file"), listSome(st.skippedFiles, 10))
	}
	if n := len(st.readErrors); n > 0 {
		fmt.Fprintf(w, "  read errors: %s not read to the end (dead letters %s): %s\n", plural(n, "file"), file.ReasonReadError, listSome(st.readErrors, 5))
	}
	if st.resumeFrom != "" {
		fmt.Fprintf(w, "  resumed from %s: %s skipped as delivered; %s read on from where they stopped (%s skipped)\n",
			st.resumeFrom, plural(st.resumedFiles, "file"), plural(st.resumedPartly, "file"), plural(st.resumedBodies, "body", "bodies"))
	}
	if len(sinks) > 0 {
		fmt.Fprintf(w, "  sinks: %s\n", strings.Join(sinks, ", "))
	}
	if n, byReason := dl.counts(); n > 0 {
		fmt.Fprintf(w, "  dead letters: %d, written to %s (%s)\n", n, dl.Where(), sortedCounts(byReason))
	} else {
		fmt.Fprintf(w, "  dead letters: 0\n")
	}
}

// printBreakdown writes the summary lines replay and rules test share:
// records per table, other categories, findings per rule, repairs.
func (st *replayStats) printBreakdown(w io.Writer) {
	la, defender := map[string]int{}, map[string]int{}
	for name, n := range st.perTable {
		if t, ok := table.Lookup(name); ok && table.IsDefender(t) {
			defender[name] = n
		} else {
			la[name] = n
		}
	}
	if len(la) > 0 {
		fmt.Fprintf(w, "  records per table: %s\n", sortedCounts(la))
	}
	if len(defender) > 0 {
		fmt.Fprintf(w, "  also read as Defender rows: %s\n", sortedCounts(defender))
	}
	if len(st.skipped) > 0 {
		fmt.Fprintf(w, "  records of other categories (no sign-in table, not evaluated): %s\n", sortedCounts(st.skipped))
	}
	if st.queryRows > 0 {
		fmt.Fprintf(w, "  warning: %d records look like rows exported from a Log Analytics query (TimeGenerated or Type columns,\n"+
			"    no category or properties) and were not evaluated. replay reads sign-in logs as the Entra ID diagnostic\n"+
			"    setting sends them: the Event Hubs bodies ({\"records\":[...]}) or the storage-account archive\n"+
			"    (insights-logs-signinlogs/.../PT1H.json). To get that shape, add a diagnostic setting for the sign-in\n"+
			"    categories (Entra ID > Monitoring > Diagnostic settings) that archives to a storage account or streams\n"+
			"    to an event hub, and replay those files (replay does not read query results).\n", st.queryRows)
	}
	parts := make([]string, len(st.ruleOrder))
	for i, id := range st.ruleOrder {
		parts[i] = fmt.Sprintf("%s %d", id, st.findings[id])
	}
	fmt.Fprintf(w, "  findings per rule: %s\n", strings.Join(parts, ", "))
	if st.repaired > 0 {
		fmt.Fprintf(w, "  bodies repaired before decoding (invalid JSON from Azure): %d\n", st.repaired)
	}
}
