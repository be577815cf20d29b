#!/usr/bin/env bash
# Builds the helm CLI pinned in go.mod (helm.sh/helm/v4) for the tests that install charts on the lab and
# lint the project's own chart. Cached under .lab/helm/<version>-<key>, where key hashes the pins, this script and
# the Go version: a rebuild happens only when one of them changes. Prints the helm binary's path on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

command -v go >/dev/null || { echo "helm build: Go toolchain not found on PATH" >&2; exit 1; }

version=$(go list -m -f '{{.Version}}' helm.sh/helm/v4)
[ -n "$version" ] || { echo "helm build: cannot read the pinned helm version from go.mod" >&2; exit 1; }
key=$( { go version; cat go.mod go.sum build.sh; } | sha256sum | cut -c1-16)
out="$root/.lab/helm/$version-$key"
if [ -x "$out/helm" ]; then
  echo "$out/helm"; exit 0
fi

mkdir -p "$out"
echo "helm build: helm $version -> $out/helm" >&2
export CGO_ENABLED=0
go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
  -o "$out/helm.partial" helm.sh/helm/v4/cmd/helm >&2
mv "$out/helm.partial" "$out/helm"
# Builds of older pins are dead weight; a running helm keeps working.
find "$root/.lab/helm" -mindepth 1 -maxdepth 1 -type d ! -path "$out" -exec rm -rf {} +
echo "$out/helm"
