package kql

import (
	"testing"

	"github.com/streamhunt/streamhunt/internal/table"
)

// Benchmarks of the hot path: Match on every sign-in record. Run with
//   go test ./internal/kql -run '^$' -bench . -benchmem

func benchMatch(b *testing.B, query string, row *table.Row, want bool) {
	p := mustCompile(b, query)
	if got, err := p.Match(row); err != nil || got != want {
		b.Fatalf("Match = %v, %v; want %v", got, err, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.Match(row)
	}
}

func sentinelBenchRow(b *testing.B, resultType, device string) *table.Row {
	r := deviceCodeRow(b)
	i, _ := signinLogs.Index("ResultType")
	r.Vals[i] = table.Str(resultType)
	j, _ := signinLogs.Index("DeviceDetail")
	r.Vals[j] = table.Dynamic(device)
	return r
}

// realisticDevice is a DeviceDetail as Entra sends it, deviceId last.
const realisticDevice = `{"displayName":"","operatingSystem":"Windows 10","browser":"Edge 132.0.0","isCompliant":false,"isManaged":false,"trustType":"","deviceId":""}`

func BenchmarkMatchSentinelSeed(b *testing.B) {
	b.Run("match", func(b *testing.B) {
		benchMatch(b, seedSentinel, sentinelBenchRow(b, "0", realisticDevice), true)
	})
	b.Run("failed sign-in dropped at the first where", func(b *testing.B) {
		benchMatch(b, seedSentinel, sentinelBenchRow(b, "50126", realisticDevice), false)
	})
	b.Run("managed device dropped at the last where", func(b *testing.B) {
		benchMatch(b, seedSentinel, sentinelBenchRow(b, "0", managed), false)
	})
}

func BenchmarkMatchDefenderSeed(b *testing.B) {
	b.Run("match", func(b *testing.B) {
		benchMatch(b, seedDefender, defenderRow(&testing.T{}, 0, "Cmsi:Cmsi", ""), true)
	})
	b.Run("non-match", func(b *testing.B) {
		benchMatch(b, seedDefender, defenderRow(&testing.T{}, 50126, "", ""), false)
	})
}

func BenchmarkMatchStringOperators(b *testing.B) {
	row := deviceCodeRow(b)
	b.Run("has_any of five terms", func(b *testing.B) {
		benchMatch(b, `SigninLogs | where UserAgent has_any ("python", "curl", "go-http-client", "okhttp", "powershell")`, row, false)
	})
	b.Run("contains ignoring case", func(b *testing.B) {
		benchMatch(b, `SigninLogs | where UserAgent contains "x64"`, row, true)
	})
	b.Run("in~ of a let list", func(b *testing.B) {
		benchMatch(b, `let apps = dynamic(["Microsoft Azure CLI", "Microsoft Azure PowerShell", "Visual Studio Code"]); SigninLogs | where AppDisplayName in~ (apps)`, row, true)
	})
	b.Run("ago window", func(b *testing.B) {
		benchMatch(b, `SigninLogs | where TimeGenerated > ago(1d)`, row, true)
	})
}

func BenchmarkRunSentinelSeed(b *testing.B) {
	p := mustCompile(b, seedSentinel)
	row := deviceCodeRow(b)
	b.ReportAllocs()
	for b.Loop() {
		p.Run(row)
	}
}

func BenchmarkParseAndCompileSentinelSeed(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mustCompile(b, seedSentinel)
	}
}
