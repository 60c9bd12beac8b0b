#!/bin/sh
# Writes the software bill of materials of a streamhunt binary to stdout, as
# SPDX 2.3 JSON: the binary itself, the Go toolchain it was built with, and
# every module compiled into it, each with its version, its go.sum hash and a
# package URL (purl).
#
#   scripts/sbom.sh BINARY [VERSION] > streamhunt.spdx.json
#
# The module list comes from the build information Go embeds in every binary
# (`go version -m`), so it lists exactly what was linked, not what go.mod
# mentions. VERSION names the release (default: the main module's version in
# the build information). SOURCE_DATE_EPOCH, when set, fixes the creation time.
set -eu
bin=${1:?usage: scripts/sbom.sh BINARY [VERSION]}
[ -f "$bin" ] || { echo "sbom.sh: $bin is not a file: build the binary first (scripts/build-release.sh)" >&2; exit 1; }
info=$(go version -m "$bin") || { echo "sbom.sh: $bin has no Go build information" >&2; exit 1; }
sha=$(sha256sum "$bin" | cut -d' ' -f1)
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
  created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fi

printf '%s\n' "$info" | awk -v sha="$sha" -v created="$created" -v version="${2:-}" -v binname="$(basename "$bin")" '
function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function spdxid(s) { gsub(/[^A-Za-z0-9.-]/, "-", s); return "SPDXRef-Package-" s }
NR == 1 { sub(/^.*: /, ""); gover = $0; next }
$1 == "path" { mainpath = $2; next }
$1 == "mod"  { mainmod = $2; mainver = $3; next }
$1 == "dep"  { n++; dpath[n] = $2; dver[n] = $3; dsum[n] = $4; next }
$1 == "=>"   { dpath[n] = $2; dver[n] = $3; dsum[n] = $4; next }   # a replace directive: the replacement is what was linked
END {
  if (version == "") version = mainver
  if (version == "" || version == "(devel)") version = "dev"
  printf "{\n"
  printf "  \"spdxVersion\": \"SPDX-2.3\",\n  \"dataLicense\": \"CC0-1.0\",\n  \"SPDXID\": \"SPDXRef-DOCUMENT\",\n"
  printf "  \"name\": %s,\n", q(binname "-" version)
  printf "  \"documentNamespace\": %s,\n", q("https://" mainmod "/spdx/" binname "-" version "-" sha)
  printf "  \"creationInfo\": {\"created\": %s, \"creators\": [\"Tool: streamhunt-scripts-sbom.sh\"]},\n", q(created)
  printf "  \"documentDescribes\": [\"SPDXRef-Package-binary\"],\n"
  printf "  \"packages\": [\n"
  printf "    {\"SPDXID\": \"SPDXRef-Package-binary\", \"name\": %s, \"versionInfo\": %s, \"downloadLocation\": \"NOASSERTION\", \"filesAnalyzed\": false,\n", q(mainpath), q(version)
  printf "     \"primaryPackagePurpose\": \"APPLICATION\", \"checksums\": [{\"algorithm\": \"SHA256\", \"checksumValue\": %s}],\n", q(sha)
  printf "     \"externalRefs\": [{\"referenceCategory\": \"PACKAGE-MANAGER\", \"referenceType\": \"purl\", \"referenceLocator\": %s}]},\n", q("pkg:golang/" mainmod "@" version)
  printf "    {\"SPDXID\": \"SPDXRef-Package-go-stdlib\", \"name\": \"stdlib\", \"versionInfo\": %s, \"downloadLocation\": \"https://go.dev/dl/\", \"filesAnalyzed\": false,\n", q(gover)
  printf "     \"externalRefs\": [{\"referenceCategory\": \"PACKAGE-MANAGER\", \"referenceType\": \"purl\", \"referenceLocator\": %s}]}", q("pkg:golang/stdlib@" gover)
  for (i = 1; i <= n; i++) {
    printf ",\n    {\"SPDXID\": %s, \"name\": %s, \"versionInfo\": %s, \"downloadLocation\": %s, \"filesAnalyzed\": false,", q(spdxid(dpath[i] "-" dver[i])), q(dpath[i]), q(dver[i]), q("https://proxy.golang.org/" dpath[i] "/@v/" dver[i] ".zip")
    if (dsum[i] != "") printf " \"comment\": %s,", q("go.sum hash " dsum[i])
    printf "\n     \"externalRefs\": [{\"referenceCategory\": \"PACKAGE-MANAGER\", \"referenceType\": \"purl\", \"referenceLocator\": %s}]}", q("pkg:golang/" dpath[i] "@" dver[i])
  }
  printf "\n  ],\n  \"relationships\": [\n"
  printf "    {\"spdxElementId\": \"SPDXRef-DOCUMENT\", \"relationshipType\": \"DESCRIBES\", \"relatedSpdxElement\": \"SPDXRef-Package-binary\"},\n"
  printf "    {\"spdxElementId\": \"SPDXRef-Package-binary\", \"relationshipType\": \"DEPENDS_ON\", \"relatedSpdxElement\": \"SPDXRef-Package-go-stdlib\"}"
  for (i = 1; i <= n; i++)
    printf ",\n    {\"spdxElementId\": \"SPDXRef-Package-binary\", \"relationshipType\": \"DEPENDS_ON\", \"relatedSpdxElement\": %s}", q(spdxid(dpath[i] "-" dver[i]))
  printf "\n  ]\n}\n"
}'
