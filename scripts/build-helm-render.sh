#!/usr/bin/env bash
# Builds test/harness/helm-render (a `helm template` stand-in: text/template + sprig + Helm's functions)
# offline from Debian's Go packages. The binary is cached outside the repository, keyed by a hash of
# the Go source:  ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/helm-render-<sha256[:16]>/helm-render
# Prints the binary's path on stdout. Cold: ~10 s.
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")/../test/harness/helm-render" && pwd)
HASH=$(cat "$SRC_DIR"/*.go | sha256sum | cut -c1-16)
CACHE=${IMPRIMATUR_CACHE:-/var/cache/imprimatur}
OUT=$CACHE/helm-render-$HASH
BIN=$OUT/helm-render
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
need=()
for p in golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev golang-gopkg-yaml.v3-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
fi
# GOPATH mode over Debian's /usr/share/gocode. Debian installs the v3 modules without the /v3
# directory their import paths need, so a private GOPATH entry provides those two paths.
W=$OUT/work
rm -rf "$W"
G=/usr/share/gocode/src/github.com/Masterminds
mkdir -p "$W/src/helmrender" "$W/src/github.com/Masterminds/sprig" "$W/src/github.com/Masterminds/semver"
ln -s "$G/sprig" "$W/src/github.com/Masterminds/sprig/v3"
ln -s "$G/semver" "$W/src/github.com/Masterminds/semver/v3"
cp "$SRC_DIR"/*.go "$W/src/helmrender/"
(cd "$W/src/helmrender" && GO111MODULE=off GOPATH="$W:/usr/share/gocode" GOCACHE="$W/gocache" GOFLAGS= \
  GOPROXY=off CGO_ENABLED=0 HOME="$W" go build -o "$BIN.tmp" . >&2)
mv "$BIN.tmp" "$BIN"
rm -rf "$W"
echo "$BIN"
