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

	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
)

func init() {
	register(command{name: "rules", summary: "list, check or test detection rules", run: runRules})
}

const rulesUsage = `Usage:
  streamhunt rules list  [--rules PATH]... [--only-rules PATH]...
  streamhunt rules check [--rules PATH]... [--only-rules PATH]...
  streamhunt rules test  [--rules PATH]... [--only-rules PATH]... [--now TIME] PATH...

list   prints every rule with its id, severity, table and source.
check  compiles every rule and reports each error as file:line:column (exit 2 on any).
test   runs the rules over sign-in log files and prints how many findings each rule
       produced (findings themselves: use replay).
`

func runRules(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, rulesUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub := args[0]
	var add, only stringList
	var now string
	fs := flag.NewFlagSet("rules "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&add, "rules", "add the rules in `PATH`; repeatable")
	fs.Var(&only, "only-rules", "use only the rules in `PATH`; repeatable")
	fs.StringVar(&now, "now", "", "fix the clock of ago()/now() at `TIME`")
	var paths []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		paths = append(paths, rest[0])
		rest = rest[1:]
	}
	err := func() error {
		rs, err := loadRules(true, add, only)
		if err != nil {
			return err
		}
		clock, err := parseNow(now)
		if err != nil {
			return err
		}
		switch sub {
		case "list":
			return listRules(stdout, rs, clock)
		case "check":
			if _, err := pipeline.New(rs, pipeline.Options{Now: clock}); err != nil {
				return usageError{err}
			}
			fmt.Fprintf(stdout, "%d rules compile\n", len(rs))
			return nil
		case "test":
			if len(paths) == 0 {
				return usagef("rules test: give the sign-in log files to test the rules on")
			}
			f := &replayFlags{rules: add, onlyRules: only, now: now, paths: paths, deadLetter: "streamhunt-deadletter.jsonl"}
			return replay(ctx, f, stdin, io.Discard, stdout)
		}
		return usagef("rules: unknown subcommand %q (want list, check or test)", sub)
	}()
	if err != nil {
		fmt.Fprintf(stderr, "streamhunt rules %s: %v\n", sub, err)
	}
	return exitCode(err)
}

func listRules(w io.Writer, rs []rules.Rule, clock func() time.Time) error {
	p, err := pipeline.New(rs, pipeline.Options{Now: clock})
	if err != nil {
		return usageError{err}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTABLE\tTECHNIQUES\tSOURCE")
	for _, r := range p.Rules() {
		src := r.File
		if r.Builtin {
			src = "built-in"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Program().Table().Name, strings.Join(r.Techniques, ","), src)
	}
	return tw.Flush()
}
