// Command streamhunt runs KQL detections on Microsoft Entra ID sign-in logs
// as they stream through Azure Event Hubs, or replays exported logs.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/streamhunt/streamhunt/pipeline"
	"github.com/streamhunt/streamhunt/rules"
)

// Exit codes, as DESIGN.md states.
const (
	exitOK    = 0
	exitIO    = 1 // reading or writing failed
	exitUsage = 2 // usage error: unknown flag, missing path, a rule that does not compile
)

// command is one subcommand: `streamhunt NAME [flags] [args]`.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands is filled by each subcommand's file (replay.go, run.go, ...).
var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// usageError marks an error as a usage error (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitCode maps an error to the exit code DESIGN.md gives.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitIO
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		printUsage(stdout)
		return exitOK
	case "help": // help [COMMAND [SUBCOMMAND]]
		if len(rest) == 0 {
			printUsage(stdout)
			return exitOK
		}
		name, rest = rest[0], append(rest[1:len(rest):len(rest)], "--help")
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "streamhunt: unknown command %q\n\n", name)
		printUsage(stderr)
		return exitUsage
	}
	if words, ok := helpRequested(rest); ok {
		// Asked-for help is output: to stdout, exit 0, whatever writer the
		// command's flag set prints usage to. A mistake found on the way
		// (`rules bogus --help`) stays on stderr.
		var buf bytes.Buffer
		code := c.run(ctx, append(words, "--help"), stdin, stdout, &buf)
		if code == exitOK {
			stdout.Write(buf.Bytes())
		} else {
			stderr.Write(buf.Bytes())
		}
		return code
	}
	return c.run(ctx, rest, stdin, stdout, stderr)
}

// helpRequested reports whether args ask for help (-h, -help or --help
// before any "--"), and returns the words before the first flag, which name
// a subcommand (`rules list --rules x -h` is `rules list --help`).
func helpRequested(args []string) (words []string, ok bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			ok = true
			break
		}
	}
	if !ok {
		return nil, false
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, a)
	}
	return words, true
}

// cliFlagSet returns a flag set that prints nothing itself: cliFlagError
// and cliUsage print usage and mistakes, each where it belongs.
func cliFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// cliParse parses flags that may come before or after the positional
// arguments, which it returns ("--" ends the flags).
func cliParse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
}

// cliUsage writes usage and then, if fs has any, its flags.
func cliUsage(w io.Writer, usage string, fs *flag.FlagSet) {
	fmt.Fprint(w, usage)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// cliFlagError answers a cliParse error of `streamhunt NAME`: for -h or
// --help the usage on stdout and exit 0; for a mistake the error and then
// the usage on stderr, each once, and exit 2.
func cliFlagError(err error, name, usage string, fs *flag.FlagSet, stdout, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		cliUsage(stdout, usage, fs)
		return exitOK
	}
	fmt.Fprintf(stderr, "streamhunt %s: %v\n\n", name, err)
	cliUsage(stderr, usage, fs)
	return exitUsage
}

// loadRuleSet loads the built-in pack (unless only is given) and the rules
// in add and only, and prints what rules.LoadWithWarnings
// warns about (a rule directory without rule files) to warn, as
// "streamhunt NAME: warning: ...".
func loadRuleSet(name string, builtin bool, add, only []string, warn io.Writer) ([]rules.Rule, error) {
	var lists [][]rules.Rule
	load := func(paths []string) error {
		rs, warnings, err := rules.LoadWithWarnings(paths...)
		for _, w := range warnings {
			fmt.Fprintf(warn, "streamhunt %s: warning: %s\n", name, w)
		}
		if err != nil {
			return usageError{err}
		}
		lists = append(lists, rs)
		return nil
	}
	if len(only) > 0 {
		if err := load(only); err != nil {
			return nil, err
		}
	} else if builtin {
		rs, err := rules.Builtin()
		if err != nil {
			return nil, err
		}
		lists = append(lists, rs)
	}
	if len(add) > 0 {
		if err := load(add); err != nil {
			return nil, err
		}
	}
	all, err := rules.Merge(lists...)
	if err != nil {
		return nil, usageError{err}
	}
	return all, nil
}

// plural says "1 rule", "2 rules"; many is the plural when it is not noun+"s".
func plural(n int, noun string, many ...string) string {
	if n == 1 {
		return "1 " + noun
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "streamhunt: real-time KQL detections on Microsoft Entra ID sign-in logs")
	fmt.Fprintln(w, "\nUsage: streamhunt COMMAND [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `streamhunt COMMAND --help` for the flags of a command.")
}

// printRuleWarnings writes what the compiler accepted but wants the author
// to know (an ignored take or sort, ingestion_time() standing in for the
// evaluation time), one line each, as FILE:LINE:COLUMN: rule ID: warning: ...
func printRuleWarnings(w io.Writer, p *pipeline.Pipeline) {
	for _, r := range p.Rules() {
		var warnings []string
		seen := map[string]bool{}
		for _, prog := range r.Programs() {
			for _, w := range prog.Warnings() {
				if !seen[w] { // a union's legs share the text after union
					seen[w] = true
					warnings = append(warnings, w)
				}
			}
		}
		for _, msg := range warnings {
			// A warning reads "LINE:COLUMN: message", in the query's text.
			if parts := strings.SplitN(msg, ":", 3); len(parts) == 3 {
				line, lerr := strconv.Atoi(parts[0])
				col, cerr := strconv.Atoi(parts[1])
				if lerr == nil && cerr == nil {
					line, col = r.Position(line, col)
					fmt.Fprintf(w, "%s:%d:%d: rule %s: warning: %s\n", ruleWhere(r.File, r.Builtin), line, col, r.ID, strings.TrimSpace(parts[2]))
					continue
				}
			}
			fmt.Fprintf(w, "%s: rule %s: warning: %s\n", ruleWhere(r.File, r.Builtin), r.ID, msg)
		}
	}
}

func ruleWhere(file string, builtin bool) string {
	if builtin || file == "" {
		return "built-in"
	}
	return file
}
