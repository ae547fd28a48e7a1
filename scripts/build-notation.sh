#!/usr/bin/env bash
# Builds the real notation CLI (github.com/notaryproject/notation) with `go install` from the Go module
# proxy, once per version. The binary is cached outside the repository, keyed by version:
#   ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/notation-<version>/notation
# Prints the binary's path on stdout; progress goes to stderr. Cold: ~2-4 minutes on 2 cores.
#
# v1.3.2 is the newest version the module proxy serves (checked: v1.3.3, v1.4.x and the v2.0.0-alpha.1
# tag of github.com/notaryproject/notation/v2 are refused with 403). The proxy has no version list for
# this module, so the version must be named explicitly: NOTATION_VERSION=vX.Y.Z to try another.
set -euo pipefail
VERSION=${NOTATION_VERSION:-v1.3.2}
MODULE=github.com/notaryproject/notation
CACHE=${IMPRIMATUR_CACHE:-/var/cache/imprimatur}
OUT=$CACHE/notation-${VERSION#v}
BIN=$OUT/notation
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
if ! flock -n 9; then
  echo "build-notation: another process is building notation $VERSION; waiting for it ($OUT/.lock)" >&2
  flock 9
fi
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

# Go >= 1.23 is needed (notation's go.mod); the polyglot machines have Go 1.26 at /usr/local/go. Debian's
# Go 1.19 (/usr/bin/go when golang-go is installed) cannot build it, so never rely on PATH order.
GO=${GO:-}
if [ -z "$GO" ]; then
  for candidate in /usr/local/go/bin/go "$(command -v go || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    minor=$("$candidate" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9][0-9]*\).*/\1/p')
    if [ -n "$minor" ] && [ "$minor" -ge 23 ]; then GO=$candidate; break; fi
  done
fi
[ -n "$GO" ] || { echo "build-notation: no Go >= 1.23 found (tried /usr/local/go/bin/go and go on PATH); install Go or set GO=/path/to/go" >&2; exit 1; }

W=$OUT/work
rm -rf "$W"; mkdir -p "$W"
echo "build-notation: building $MODULE $VERSION with $("$GO" env GOVERSION) into $OUT (first time only; ~2-4 min)" >&2
start=$(date +%s)
# Progress: one line per module downloaded and per package compiled would be a flood; print a heartbeat instead.
( while sleep 20; do echo "build-notation: still building ($(( $(date +%s) - start )) s)…" >&2; done ) &
heartbeat=$!
trap 'kill $heartbeat 2>/dev/null || true' EXIT
LDFLAGS="-s -w -X $MODULE/internal/version.BuildMetadata= -X $MODULE/internal/version.GitCommit="
# `go install MODULE/cmd/notation@VERSION` fails here: it asks the proxy for the module's version list
# (deprecation check), which the proxy refuses (403). So: a throw-away module that requires exactly
# $VERSION, then `go install` of the package from inside it (same dependency versions as notation's go.mod).
gorun() {
  (cd "$W/mod" && env HOME="$W/home" GOPATH="$W/gopath" GOMODCACHE="$W/gomodcache" GOCACHE="$W/gocache" GOBIN="$W/bin" \
    GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOPROXY="${GOPROXY:-https://proxy.golang.org}" GONOSUMDB= \
    "$GO" "$@")
}
mkdir -p "$W/mod"
gorun mod init imprimatur.local/build-notation >&2
echo "build-notation: downloading $MODULE $VERSION and its dependencies…" >&2
gorun get "$MODULE/cmd/notation@$VERSION" >&2
echo "build-notation: compiling…" >&2
gorun install -trimpath -ldflags "$LDFLAGS" "$MODULE/cmd/notation" >&2
kill $heartbeat 2>/dev/null || true
"$W/bin/notation" version >&2
mv "$W/bin/notation" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
chmod -R u+w "$W" && rm -rf "$W"
echo "build-notation: done in $(( $(date +%s) - start )) s: $BIN" >&2
echo "$BIN"
