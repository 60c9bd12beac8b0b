package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/consumer/file"
	"github.com/streamhunt/streamhunt/internal/table"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
	"github.com/streamhunt/streamhunt/sink"
	"github.com/streamhunt/streamhunt/sink/deadletter"
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
	now        string
	progress   time.Duration
	paths      []string
}

const replayUsage = `Usage: streamhunt replay [flags] PATH...

Reads Entra ID sign-in logs as Event Hubs delivers them ({"records":[...]}
bodies, bare arrays, single records, NDJSON, gzip) from files, directories,
globs or - (stdin), runs the detection rules on every record, and writes
findings as JSON lines. Flags may come before or after the paths.

Flags:
`

// parseReplayFlags parses flags that may come before or after the paths.
func parseReplayFlags(args []string, stderr io.Writer) (*replayFlags, error) {
	f := &replayFlags{}
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&f.rules, "rules", "add the rules in `PATH` (file, directory or glob; .kql, Sentinel .yaml, .md); repeatable")
	fs.Var(&f.onlyRules, "only-rules", "use only the rules in `PATH`, leaving the built-in pack out; repeatable")
	fs.StringVar(&f.deadLetter, "dead-letter", "streamhunt-deadletter.jsonl", "write undecodable input to `FILE` (created only when needed)")
	fs.StringVar(&f.output, "output", "", "write findings to `FILE` instead of stdout")
	fs.StringVar(&f.now, "now", "", "fix the clock of ago()/now() at `TIME` (RFC 3339)")
	fs.DurationVar(&f.progress, "progress", 5*time.Second, "print progress to stderr this often (0 disables)")
	fs.Usage = func() {
		fmt.Fprint(stderr, replayUsage)
		fs.PrintDefaults()
	}
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			f.paths = append(f.paths, rest[1:]...)
			break
		}
		f.paths = append(f.paths, rest[0])
		rest = rest[1:]
	}
	if len(f.paths) == 0 {
		fs.Usage()
		return nil, usagef("replay: give at least one PATH (a file, directory, glob, or - for stdin)")
	}
	return f, nil
}

func loadRules(builtin bool, add, only []string) ([]rules.Rule, error) {
	var lists [][]rules.Rule
	if len(only) > 0 {
		rs, err := rules.Load(only...)
		if err != nil {
			return nil, usageError{err}
		}
		lists = append(lists, rs)
	} else if builtin {
		rs, err := rules.Builtin()
		if err != nil {
			return nil, err
		}
		lists = append(lists, rs)
	}
	if len(add) > 0 {
		rs, err := rules.Load(add...)
		if err != nil {
			return nil, usageError{err}
		}
		lists = append(lists, rs)
	}
	all, err := rules.Merge(lists...)
	if err != nil {
		return nil, usageError{err}
	}
	return all, nil
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
	// Rules first: a rule that does not compile stops the command before
	// any input is read.
	rs, err := loadRules(true, f.rules, f.onlyRules)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return usagef("no rules to run")
	}
	p, err := pipeline.New(rs, pipeline.Options{Now: now})
	if err != nil {
		return usageError{fmt.Errorf("rules do not compile:\n%w", err)}
	}
	files, err := file.Expand(f.paths)
	if err != nil {
		var pe *file.PathError
		if errors.As(err, &pe) {
			return usageError{err}
		}
		return err
	}

	var out sink.Sink
	if f.output == "" || f.output == "-" {
		out = stdout.NewWriter(stdoutW, zap.NewNop())
	} else {
		s, err := stdout.New(stdout.Config{Path: f.output}, zap.NewNop())
		if err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		out = s
	}
	dl := deadletter.NewFile(f.deadLetter)

	st := newReplayStats(p)
	start := time.Now()
	lastProgress := start
	reader := &file.Reader{Stdin: stdin, Valid: pipeline.ValidOrRepairable}
	var pending sink.Batch
	flush := func() error {
		if len(pending.Findings) == 0 {
			pending = sink.Batch{}
			return nil
		}
		if err := out.Write(ctx, pending); err != nil {
			return fmt.Errorf("writing findings: %w", err)
		}
		pending = sink.Batch{}
		return nil
	}
	readErr := reader.Read(ctx, files, func(b file.Body) error {
		if pending.Range.File != "" && pending.Range.File != b.File {
			if err := flush(); err != nil {
				return err
			}
		}
		res := p.Process(pipeline.Event{Body: b.Data, Source: pipeline.Source{File: b.File, Line: b.Line}})
		st.add(b, res)
		if len(res.DeadLetters) > 0 {
			if err := dl.WriteDeadLetters(ctx, res.DeadLetters); err != nil {
				return fmt.Errorf("writing dead letters to %s: %w", dl.Where(), err)
			}
		}
		if len(res.Findings) > 0 {
			if pending.Range.File == "" {
				pending.Range = sink.Range{File: b.File, FirstLine: b.Line}
			}
			pending.Range.LastLine = b.Line
			pending.Findings = append(pending.Findings, res.Findings...)
			if len(pending.Findings) >= 500 {
				return flush()
			}
		}
		if f.progress > 0 && time.Since(lastProgress) >= f.progress {
			lastProgress = time.Now()
			fmt.Fprintf(stderr, "streamhunt replay: %s so far\n", st.short(time.Since(start)))
		}
		return nil
	})
	flushErr := flush()
	closeErr := errors.Join(out.Close(ctx), dl.Close(ctx))
	st.print(stderr, time.Since(start), dl.Count(), dl.Where())
	return errors.Join(readErr, flushErr, closeErr)
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

func (st *replayStats) print(w io.Writer, d time.Duration, deadLetters int, where string) {
	secs := d.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(w, "streamhunt replay: %d files, %d bodies, %d records, %d findings in %s (%.0f records/s, %.1f MB/s)\n",
		len(st.files), st.bodies, st.records, st.totalFindings(), d.Round(time.Millisecond),
		float64(st.records)/secs, float64(st.bytes)/secs/1e6)
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
	parts := make([]string, len(st.ruleOrder))
	for i, id := range st.ruleOrder {
		parts[i] = fmt.Sprintf("%s %d", id, st.findings[id])
	}
	fmt.Fprintf(w, "  findings per rule: %s\n", strings.Join(parts, ", "))
	if st.repaired > 0 {
		fmt.Fprintf(w, "  bodies repaired before decoding (invalid JSON from Azure): %d\n", st.repaired)
	}
	if deadLetters > 0 {
		fmt.Fprintf(w, "  dead letters: %d, written to %s\n", deadLetters, where)
	} else {
		fmt.Fprintf(w, "  dead letters: 0\n")
	}
}
