#!/usr/bin/env bash
# Runs the speed and memory benchmarks against their named baselines in one
# run and writes the results, with the commands that made them, to
# docs/benchmarks.md.
#
#   scripts/bench.sh            # default: -count 3, a 64 MiB replay file
#   COUNT=5 MIB=256 scripts/bench.sh
#
# Baselines:
#   - hand-written Go: encoding/json into a struct plus the seed's where
#     clauses as Go (pipeline BenchmarkProcessBaselines), and encoding/json
#     into a map (pipeline BenchmarkDecode);
#   - jq: the seed's Sentinel query as a jq filter over the same file that
#     `streamhunt replay` reads (skipped, with a line saying so, without jq).
# Benchmarks are not tests: run this on a quiet machine, and read the load
# average the report records before comparing runs.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-3}
MIB=${MIB:-64}
OUT=${OUT:-docs/benchmarks.md}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x node_modules/.bin/azurite-blob ]; then
  echo "== npm ci (Azurite, for the consumer benchmark)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

log() { echo "== $*" >&2; }

gobench() { # package, pattern
  local cmd="go test -run '^\$' -bench '$2' -benchmem -count $COUNT $1"
  log "$cmd"
  echo "\$ $cmd" >>"$work/go.txt"
  eval "$cmd" | tee -a "$work/go.txt" | grep -E '^Benchmark' >&2 || true
}

# Whether the code measured differs from the commit (the report itself aside).
dirty=""
if [ -n "$(git status --porcelain -- . ":(exclude)$OUT")" ]; then dirty=" plus uncommitted changes"; fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
gobench ./pipeline/ 'ProcessBaselines|ProcessExample|ProcessParallel|Decode'
gobench ./internal/kql/ 'Match|Run|ParseAndCompile'
gobench ./internal/ehtest/ 'SDKConsumer'
gobench ./consumer/eventhubs/ 'Consume'
gobench ./sink/... '.'

# End to end through the CLI: streamhunt replay against jq over one file of
# the example's sign-in bodies repeated to $MIB MiB.
log "building streamhunt and a ${MIB} MiB file of Event Hubs bodies"
go build -o "$work/streamhunt" ./cmd/streamhunt
src=examples/device-code-phishing/eventhubs/insights-logs-signinlogs.ndjson
big="$work/signinlogs.ndjson"
: >"$big"
while [ "$(stat -c %s "$big")" -lt $((MIB << 20)) ]; do cat "$src" >>"$big"; done
bytes=$(stat -c %s "$big")
sentinel="$work/entra-device-code-unmanaged.kql"
sed -n '/^query: |-$/,$p' rules/builtin/entra-device-code-unmanaged.yaml | tail -n +2 | sed 's/^  //' >"$sentinel"
jqfilter='.records[]? | select(.category == "SignInLogs" and ((.resultType | tostring) == "0") and .properties.authenticationProtocol == "deviceCode" and ((.properties.deviceDetail.deviceId // "") == "")) | .properties.id'

timed() { # name, command...: best wall time of COUNT runs, and matches
  local name=$1 best="" t0 t1 s
  shift
  for _ in $(seq "$COUNT"); do
    t0=$(date +%s.%N)
    "$@" >"$work/out" 2>/dev/null
    t1=$(date +%s.%N)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v s="$s" -v b="$best" 'BEGIN { exit !(s < b) }'; then best=$s; fi
  done
  local n
  n=$(grep -c . "$work/out" || true)
  awk -v name="$name" -v s="$best" -v b="$bytes" -v n="$n" 'BEGIN { printf "| %s | %.2f s | %.0f MB/s | %s |\n", name, s, b / s / 1e6, n }' >>"$work/cli.txt"
  LAST_MBS=$(awk -v s="$best" -v b="$bytes" 'BEGIN { printf "%.0f", b / s / 1e6 }')
  log "$name: best of $COUNT ${best}s, $n matches"
}
: >"$work/cli.txt"
timed "streamhunt replay, the Sentinel seed rule only" "$work/streamhunt" replay --only-rules "$sentinel" "$big"
replay_mbs=$LAST_MBS jq_mbs=""
timed "streamhunt replay, the four built-in rules" "$work/streamhunt" replay "$big"
if command -v jq >/dev/null; then
  timed "jq $(jq --version), the Sentinel seed rule as a filter" jq -c "$jqfilter" "$big"
  jq_mbs=$LAST_MBS
else
  echo "| jq | not installed here: baseline skipped | | |" >>"$work/cli.txt"
  log "jq is not installed: its baseline is skipped"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Mean MB/s of a Go benchmark (name without the -GOMAXPROCS suffix) over its runs.
mbs() {
  awk -v n="$1" '$1 ~ "^"n"-[0-9]+$" { for (i = 2; i < NF; i++) if ($(i+1) == "MB/s") { s += $i; c++ } }
    END { if (c) printf "%.0f", s / c; else printf "?" }' "$work/go.txt"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else printf "?" }'; }
row() { # what, ours, baseline name, baseline
  echo "| $1 | $2 MB/s | $3 | $4 MB/s | $(ratio "$2" "$4") |" >>"$work/summary.txt"
}
: >"$work/summary.txt"
if [ -n "$jq_mbs" ]; then
  row "\`streamhunt replay\` of a ${MIB} MiB file, the seed Sentinel rule" "$replay_mbs" "jq, the same rule as a filter" "$jq_mbs"
fi
row "Seed Sentinel rule over the example (decode + rule + findings)" "$(mbs BenchmarkProcessBaselines/streamhunt-sentinel-rule)" \
  "hand-written Go: encoding/json struct + the where clauses" "$(mbs BenchmarkProcessBaselines/handwritten-encoding-json-struct)"
row "Decoding a 40-record body, the seed's columns" "$(mbs BenchmarkDecode/seed-columns)" \
  "encoding/json into map[string]any" "$(mbs BenchmarkDecode/encoding-json-map)"
row "Decoding a 40-record body, every column" "$(mbs BenchmarkDecode/all-columns)" \
  "encoding/json into map[string]any" "$(mbs BenchmarkDecode/encoding-json-map)"
row "Real azeventhubs consumer, 4 KiB events, against the test server" "$(mbs BenchmarkSDKConsumer/body=4KiB/prefetch=300)" \
  "the aim" "100"
row "Whole run path (Processor, workers, sink, checkpoints), 2 KiB events" "$(mbs BenchmarkConsume/maxEventBytes=4096)" \
  "the aim" "100"

{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\` (COUNT=$COUNT MIB=$MIB) on $(date -u +%Y-%m-%d) at commit"
  echo "$(git rev-parse --short HEAD)$dirty: $(go version | cut -d' ' -f3-),"
  echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $load_before before"
  echo "and $load_after after. The machine is shared: compare rows of one run, not runs of different days."
  echo
  echo "## Summary"
  echo
  echo "| Ours | MB/s | Baseline | MB/s | Ours / baseline |"
  echo "|---|---|---|---|---|"
  cat "$work/summary.txt"
  echo
  echo "## End to end through the CLI, against jq"
  echo
  echo "One file of $((bytes >> 20)) MiB: the example's interactive sign-in bodies"
  echo "(\`$src\`) repeated; best wall time of $COUNT runs; output to a file."
  echo "The matches column counts output lines: findings for streamhunt, record ids for jq (each finding of"
  echo "the four rules is one line, so that row counts more)."
  echo
  echo "| Command | Wall time | Throughput | Matches |"
  echo "|---|---|---|---|"
  cat "$work/cli.txt"
  echo
  echo "## Go benchmarks"
  echo
  echo "Baselines inside them: \`BenchmarkProcessBaselines/handwritten-encoding-json-struct\` (encoding/json into"
  echo "a struct and the seed's where clauses in Go; the benchmark first checks it flags the same records as the"
  echo "rule) and \`BenchmarkDecode/encoding-json-map\`, \`encoding-json-Valid\`. \`BenchmarkSDKConsumer\` is the real"
  echo "azeventhubs consumer against the project's Event Hubs test server (aim: 100 MB/s to one consumer);"
  echo "\`BenchmarkConsume\` the whole \`run\` path: Processor, workers, sink, blob checkpoints in Azurite."
  echo
  echo '```'
  cat "$work/go.txt"
  echo '```'
} >"$OUT"
log "wrote $OUT"
