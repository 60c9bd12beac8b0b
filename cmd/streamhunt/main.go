// Command streamhunt runs KQL detections on Microsoft Entra ID sign-in logs
// as they stream through Azure Event Hubs, or replays exported logs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "streamhunt: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdin, stdout, stderr)
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
