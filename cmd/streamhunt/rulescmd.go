package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/streamhunt/streamhunt/consumer/file"
	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/sink/deadletter"
)

func init() {
	register(command{name: "rules", summary: "list, check or test detection rules", run: runRules})
}

const rulesUsage = `Usage:
  streamhunt rules list  [--rules PATH]... [--only-rules PATH]... [PATH...]
  streamhunt rules check [--rules PATH]... [--only-rules PATH]... [PATH...]
  streamhunt rules test  [--rules PATH]... [--only-rules PATH]... [--now TIME] [--dead-letter FILE] LOG...

list   lists the built-in pack plus the rules in PATH: id, severity, table, source.
check  compiles the rules in PATH (without PATH: the built-in pack) and reports
       each error as FILE:LINE:COLUMN; exit 2 on any.
test   runs the rules over sign-in log files and prints how many findings each
       rule produced (the findings themselves: use replay).

A rule PATH is a .kql, Sentinel .yaml/.yml or .md file, a directory or a glob.
Run ` + "`streamhunt rules COMMAND --help`" + ` for the flags of each.
`

const rulesListUsage = `Usage: streamhunt rules list [--rules PATH]... [--only-rules PATH]... [PATH...]

Compiles and lists the built-in pack plus the rules in each PATH (a rule file,
directory or glob, as --rules takes): id, severity, table, techniques and where
each rule comes from.
`

const rulesCheckUsage = `Usage: streamhunt rules check [--rules PATH]... [--only-rules PATH]... [PATH...]

Compiles rules and prints each one that does not compile as
FILE:LINE:COLUMN: rule ID: MESSAGE. Exit status 0 when all compile, 2 otherwise.
With PATHs (rule files, directories or globs) it checks exactly those rules and
not the built-in pack, as --only-rules does; without, the built-in pack plus
any --rules.
`

const rulesTestUsage = `Usage: streamhunt rules test [--rules PATH]... [--only-rules PATH]... [--now TIME] [--dead-letter FILE] LOG...

Runs the rules (the built-in pack plus --rules, or only --only-rules) over
sign-in logs - files, directories, globs or - for stdin, in any form replay
reads - and prints how many findings each rule produced. Use replay with the
same flags to see the findings. Records that cannot be decoded are counted and
the first few shown; they are written nowhere unless --dead-letter FILE is given.
`

// ruleFlags are the flags every rules subcommand takes.
type ruleFlags struct{ add, only stringList }

func (f *ruleFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.add, "rules", "add the rules in `PATH` (file, directory or glob); repeatable")
	fs.Var(&f.only, "only-rules", "use only the rules in `PATH`, leaving the built-in pack out; repeatable")
}

func runRules(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "streamhunt rules: name a subcommand: list, check or test\n\n"+rulesUsage)
		return exitUsage
	}
	sub := args[0]
	var usage string
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, rulesUsage)
		return exitOK
	case "list":
		usage = rulesListUsage
	case "check":
		usage = rulesCheckUsage
	case "test":
		usage = rulesTestUsage
	default:
		fmt.Fprintf(stderr, "streamhunt rules: unknown subcommand %q (want list, check or test)\n\n%s", sub, rulesUsage)
		return exitUsage
	}
	name := "rules " + sub
	var rf ruleFlags
	var now, deadLetter string
	fs := cliFlagSet(name)
	rf.register(fs)
	if sub == "test" {
		fs.StringVar(&now, "now", "", "fix the clock of ago()/now() at `TIME` (RFC 3339)")
		fs.StringVar(&deadLetter, "dead-letter", "", "write the records that cannot be decoded to `FILE` (JSON lines, appended)")
	}
	paths, err := cliParse(fs, args[1:])
	if err != nil {
		return cliFlagError(err, name, usage, fs, stdout, stderr)
	}
	switch sub {
	case "list":
		err = rulesList(stdout, stderr, rf, paths)
	case "check":
		err = rulesCheck(stdout, stderr, rf, paths)
	case "test":
		err = rulesTest(ctx, stdin, stdout, stderr, rf, now, deadLetter, paths)
	}
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt %s: %v\n", name, err)
	}
	return exitCode(err)
}

func rulesList(stdout, stderr io.Writer, rf ruleFlags, paths []string) error {
	rs, err := loadRuleSet("rules list", true, append(rf.add, paths...), rf.only, stderr)
	if err != nil {
		return err
	}
	p, err := pipeline.New(rs, pipeline.Options{})
	if err != nil {
		return usageError{fmt.Errorf("rules do not compile (see rules check):\n%w", err)}
	}
	printRuleWarnings(stderr, p)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTABLE\tTECHNIQUES\tSOURCE")
	for _, r := range p.Rules() {
		src := r.File
		if r.Builtin {
			src = "built-in"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, strings.Join(r.Tables(), ","), strings.Join(r.Techniques, ","), src)
	}
	return tw.Flush()
}

func rulesCheck(stdout, stderr io.Writer, rf ruleFlags, paths []string) error {
	rs, err := loadRuleSet("rules check", true, rf.add, append(rf.only, paths...), stderr)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return usagef("no rules to check: the paths hold no .kql, .yaml, .yml or .md rule file")
	}
	p, err := pipeline.New(rs, pipeline.Options{})
	if err == nil {
		printRuleWarnings(stderr, p)
	}
	var ces pipeline.CompileErrors
	if errors.As(err, &ces) {
		// One FILE:LINE:COLUMN line per rule, unprefixed, as compilers
		// print them for editors to jump to.
		for _, ce := range ces {
			fmt.Fprintln(stderr, ce)
		}
		verb := "do not compile"
		if len(ces) == 1 {
			verb = "does not compile"
		}
		return usagef("%d of %s %s", len(ces), plural(len(rs), "rule"), verb)
	}
	if err != nil {
		return usageError{err}
	}
	verb := "compile"
	if len(rs) == 1 {
		verb = "compiles"
	}
	fmt.Fprintf(stdout, "%s %s\n", plural(len(rs), "rule"), verb)
	return nil
}

// maxShownDeadLetters is how many dead letters rules test shows.
const maxShownDeadLetters = 3

func rulesTest(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, rf ruleFlags, now, deadLetter string, paths []string) error {
	if len(paths) == 0 {
		return usagef("give the sign-in log files to test the rules on")
	}
	clock, err := parseNow(now)
	if err != nil {
		return err
	}
	rs, err := loadRuleSet("rules test", true, rf.add, rf.only, stderr)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return usagef("no rules to test")
	}
	p, err := pipeline.New(rs, pipeline.Options{Now: clock})
	if err != nil {
		return usageError{fmt.Errorf("rules do not compile:\n%w", err)}
	}
	printRuleWarnings(stderr, p)
	files, err := file.Expand(paths)
	if err != nil {
		var pe *file.PathError
		if errors.As(err, &pe) {
			return usageError{err}
		}
		return err
	}
	var dl *deadletter.File
	if deadLetter != "" {
		dl = deadletter.NewFile(deadLetter)
	}
	st := newReplayStats(p)
	var deadLetters int
	var shown []pipeline.DeadLetter
	start := time.Now()
	reader := &file.Reader{Stdin: stdin, Valid: pipeline.ValidOrRepairable}
	readErr := reader.Read(ctx, files, func(b file.Body) error {
		res := p.Process(pipeline.Event{Body: b.Data, Source: pipeline.Source{File: b.File, Line: b.Line}})
		st.add(b, res)
		deadLetters += len(res.DeadLetters)
		for _, d := range res.DeadLetters {
			if len(shown) < maxShownDeadLetters {
				shown = append(shown, d)
			}
		}
		if dl != nil && len(res.DeadLetters) > 0 {
			if err := dl.WriteDeadLetters(ctx, res.DeadLetters); err != nil {
				return fmt.Errorf("writing dead letters to %s: %w", dl.Where(), err)
			}
		}
		return nil
	})
	var closeErr error
	if dl != nil {
		closeErr = dl.Close(ctx)
	}
	printRulesTest(stdout, st, time.Since(start), deadLetters, shown, deadLetter)
	return errors.Join(readErr, closeErr)
}

// printRulesTest writes rules test's summary: replay's counts, and the
// first dead letters when they are not written to a file.
func printRulesTest(w io.Writer, st *replayStats, d time.Duration, deadLetters int, shown []pipeline.DeadLetter, deadLetter string) {
	fmt.Fprintf(w, "streamhunt rules test: %s, %s, %s, %s in %s\n", plural(len(st.files), "file"), plural(st.bodies, "body", "bodies"),
		plural(st.records, "record"), plural(st.totalFindings(), "finding"), d.Round(time.Millisecond))
	st.printBreakdown(w)
	switch {
	case deadLetters == 0:
		fmt.Fprintln(w, "  dead letters: 0")
	case deadLetter != "":
		fmt.Fprintf(w, "  dead letters: %d, written to %s\n", deadLetters, deadLetter)
	default:
		fmt.Fprintf(w, "  dead letters: %d, not written (--dead-letter FILE keeps them); the first:\n", deadLetters)
		for _, d := range shown {
			where := d.Source.File
			if d.Source.Line > 0 {
				where = fmt.Sprintf("%s:%d", where, d.Source.Line)
			}
			if d.Source.Index != nil {
				where = fmt.Sprintf("%s (record %d)", where, *d.Source.Index+1)
			}
			fmt.Fprintf(w, "    %s: %s: %s\n", where, d.Reason, d.Error)
		}
	}
}
