package ehtest_test

import (
	"fmt"
	"os"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
)

func init() {
	if os.Getenv("EHTEST_SDKLOG") != "" {
		azlog.SetListener(func(e azlog.Event, s string) { fmt.Fprintf(os.Stderr, "SDK %s: %s\n", e, s) })
	}
}
