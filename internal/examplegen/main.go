// Command examplegen writes the shipped example scenario, a device code
// phishing morning in a fictional tenant, as Entra diagnostic settings would
// deliver it to Event Hubs: one file per hub, one Event Hubs body
// ({"records":[...]}) a line, plus expected.json with the findings the
// built-in rules must raise. The output is deterministic (fixed seed and
// timeline); a test checks that the committed files match it.
//
//	go run ./internal/examplegen -out examples/device-code-phishing
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "examples/device-code-phishing", "write the example into `DIR`")
	flag.Parse()
	if err := writeAll(*out); err != nil {
		fmt.Fprintln(os.Stderr, "examplegen:", err)
		os.Exit(1)
	}
}
