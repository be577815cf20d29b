#!/usr/bin/env bash
# Builds upstream kubectl at the Kubernetes release the lab pins, for the benchmarks' kubectl loop
# (scripts/bench.mjs). A kubectl on PATH may be anything (or nothing); this one is the real client of the
# lab's own version. It lands beside the lab's binaries in the folder build.sh prints (building those first
# when they are missing), so it is rebuilt whenever the lab's pins change. Prints the kubectl path on stdout.
#
# The lab's go.mod/go.sum are left exactly as they are, so build.sh's cache key does not move: kubectl needs
# go.sum lines of a few modules the control plane never imports, so the build resolves them in a scratch
# copy of the module files (`go build -modfile`). CI's lab build never runs this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

command -v go >/dev/null || { echo "kubectl build: Go toolchain not found on PATH (need Go >= 1.24)" >&2; exit 1; }

bin=$("$here/build.sh")
[ -d "$bin" ] || { echo "kubectl build: build.sh printed no folder ($bin)" >&2; exit 1; }
if [ -x "$bin/kubectl" ]; then
  echo "$bin/kubectl"; exit 0
fi

kube=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
# shellcheck source=ldflags.sh
. ./ldflags.sh
ldflags=$(kube_ldflags "$kube")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp go.mod "$scratch/go.mod"
cp go.sum "$scratch/go.sum"

echo "kubectl build: kubectl $kube -> $bin/kubectl" >&2
export CGO_ENABLED=0
go build -mod=mod -modfile="$scratch/go.mod" -trimpath -buildvcs=false -ldflags "$ldflags" \
  -o "$bin/kubectl.partial" k8s.io/kubernetes/cmd/kubectl >&2
mv "$bin/kubectl.partial" "$bin/kubectl"
echo "$bin/kubectl"
