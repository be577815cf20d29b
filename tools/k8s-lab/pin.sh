#!/usr/bin/env bash
# Rewrites go.mod for one Kubernetes release: requires k8s.io/kubernetes at KUBE_VERSION and replaces every
# staging module (listed as "=> ./staging/..." in that release's own go.mod) with its published v0.X.Y tag.
# Usage: tools/k8s-lab/pin.sh v1.34.4
set -euo pipefail
cd "$(dirname "$0")"
kube="${1:?usage: pin.sh v1.MINOR.PATCH}"
staging="v0.${kube#v1.}"
modfile=$(go mod download -json "k8s.io/kubernetes@${kube}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$modfile" ] || { echo "pin.sh: could not download k8s.io/kubernetes@${kube}" >&2; exit 1; }
{
  echo "module cutover.dev/k8s-lab"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes ${kube}"
  echo
  echo "replace ("
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile" | sort -u |
    while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
  echo ")"
} > go.mod
go mod tidy
