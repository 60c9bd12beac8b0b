#!/bin/sh
# Builds the release binary and its software bill of materials.
#
#   scripts/build-release.sh OUT_DIR [VERSION]
#
# Writes OUT_DIR/streamhunt (static: CGO_ENABLED=0, -trimpath, the version
# stamped into main.version) and OUT_DIR/streamhunt.spdx.json (SPDX 2.3, from
# the modules compiled into that binary). VERSION defaults to `git describe`,
# or "dev" outside a git checkout. GOOS and GOARCH are honoured for
# cross-builds. The Dockerfile's build stage runs this script.
set -eu
out=${1:?usage: scripts/build-release.sh OUT_DIR [VERSION]}
version=${2:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
cd "$(dirname "$0")/.."
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out/streamhunt" ./cmd/streamhunt
scripts/sbom.sh "$out/streamhunt" "$version" >"$out/streamhunt.spdx.json"
echo "built $out/streamhunt ($version) and $out/streamhunt.spdx.json" >&2
