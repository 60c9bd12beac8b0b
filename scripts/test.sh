#!/usr/bin/env bash
# Runs every test of the project. Installs the test-only Node tools (Azurite,
# Microsoft's KQL parser as a test oracle) from package-lock.json first.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "scripts/test.sh: Node.js 20 and npm are needed for Azurite and the KQL oracle" >&2
  exit 1
fi
if [ ! -x node_modules/.bin/azurite-blob ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci (Azurite, @kusto/language-service-next)"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 40m "$@" ./...
