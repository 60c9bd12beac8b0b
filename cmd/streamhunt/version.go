package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// version is stamped at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

const versionUsage = `Usage: streamhunt version

Prints the version of streamhunt and of the Go toolchain that built it.
`

func init() {
	register(command{name: "version", summary: "print the version", run: runVersion})
}

func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := cliFlagSet("version")
	rest, err := cliParse(fs, args)
	if err != nil {
		return cliFlagError(err, "version", versionUsage, fs, stdout, stderr)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "streamhunt version: takes no arguments, got %q\n\n%s", rest[0], versionUsage)
		return exitUsage
	}
	fmt.Fprintf(stdout, "streamhunt %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
