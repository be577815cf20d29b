#!/usr/bin/env bash
# Builds the lab's control plane from Go modules: kube-apiserver, kube-controller-manager, etcd (the
# version Kubernetes pins in go.sum) and our podcompleter. CGO off, versions stamped. Binaries are cached
# under .lab/bin/<key>, where key hashes the pins, our Go files, this script (its flags) and the Go version:
# a rebuild happens only when one of them changes. Prints the folder holding the binaries on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

command -v go >/dev/null || { echo "lab build: Go toolchain not found on PATH (need Go >= 1.24)" >&2; exit 1; }

kube=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
[ -n "$kube" ] && [ -n "$etcd" ] || { echo "lab build: cannot read pinned versions from go.mod/go.sum" >&2; exit 1; }

key=$( { go version; cat go.mod go.sum build.sh ldflags.sh; find . -name '*.go' -print0 | sort -z | xargs -0 cat; } | sha256sum | cut -c1-16)
out="$root/.lab/bin/$kube-etcd$etcd-$key"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ] && [ -x "$out/podcompleter" ]; then
  echo "$out"; exit 0
fi

# shellcheck source=ldflags.sh
. ./ldflags.sh
ldflags=$(kube_ldflags "$kube")

tmp="$out.partial"
rm -rf "$tmp"; mkdir -p "$tmp"
echo "lab build: kube $kube, etcd $etcd -> $out (first build takes several minutes)" >&2
export CGO_ENABLED=0
# No VCS stamping: the binaries describe the pinned upstream release, not this repository's commit (and a
# clone owned by another user would make `go build` fail on git's safe.directory check).
build=(go build -trimpath -buildvcs=false)
"${build[@]}" -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
"${build[@]}" -ldflags "$ldflags" -o "$tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager >&2
"${build[@]}" -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd" -o "$tmp/etcd" go.etcd.io/etcd/server/v3 >&2
"${build[@]}" -ldflags "$ldflags" -o "$tmp/podcompleter" ./cmd/podcompleter >&2
rm -rf "$out"; mv "$tmp" "$out"
# Builds of older pins are dead weight (about 270 MB each); processes still running from one keep working.
find "$root/.lab/bin" -mindepth 1 -maxdepth 1 -type d ! -path "$out" -exec rm -rf {} +
echo "$out"
