package kql

import (
	"sync"
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// TestOneProgramServesManyPartitionsAtOnce runs one compiled rule from
// several goroutines, as the pipeline does with one worker per partition;
// run it under -race.
func TestOneProgramServesManyPartitionsAtOnce(t *testing.T) {
	p := mustCompile(t, `let apps = dynamic(["Microsoft Azure CLI"]);
SigninLogs
| extend os = tostring(DeviceDetail.operatingSystem), upn = tolower(UserPrincipalName)
| where ResultType == 0 and AppDisplayName in~ (apps) and os has "windows" and TimeGenerated > ago(1d)
| project upn, os`)
	const workers, perWorker = 4, 200
	var wg sync.WaitGroup
	counts := make([]int, workers)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				row := deviceCodeRow(t)
				if i%2 == 1 {
					idx, _ := signinLogs.Index("ResultType")
					row.Vals[idx] = table.Str("50126")
				}
				ok, err := p.Match(row)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					continue
				}
				outs, err := p.Run(row)
				if err != nil {
					errs <- err
					return
				}
				if len(outs) != 1 || outs[0].Columns[0].Value.S != "adele.vance@contoso.com" || outs[0].Columns[1].Value.S != "Windows 10" {
					t.Errorf("worker %d row %d: output %+v", w, i, outs)
					return
				}
				counts[w]++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w, n := range counts {
		if n != perWorker/2 {
			t.Errorf("worker %d found %d sign-ins, want %d", w, n, perWorker/2)
		}
	}
}

// TestMatchRefusesARowOfAnotherTable checks that rows and programs agree.
func TestMatchRefusesARowOfAnotherTable(t *testing.T) {
	p := mustCompile(t, "AADNonInteractiveUserSignInLogs | where ResultType == 0")
	row := &table.Row{Table: signInEventsBeta, Vals: make([]table.Value, len(signInEventsBeta.Columns))}
	if _, err := p.Match(row); err == nil {
		t.Error("Match accepted an AADSignInEventsBeta row for an AADNonInteractiveUserSignInLogs rule")
	}
}
