#!/usr/bin/env bash
# Builds the cosign CLI from the Go module proxy (`go install github.com/sigstore/cosign/vN/cmd/cosign@…`),
# once per version:   ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/cosign-<version>/cosign
# Usage: build-cosign.sh [v2|v3]   (default v3). Prints the binary's path on stdout, progress on stderr.
# Built as cosign's Makefile builds a release binary (CGO off, -trimpath, version stamped; no PIV/PKCS#11).
set -euo pipefail
. "$(dirname "$0")/lib/go-build.sh"
case "${1:-v3}" in
  v2|2) MAJOR=2 VERSION=2.6.5 ;;   # newest v2
  v3|3) MAJOR=3 VERSION=3.1.3 ;;   # newest v3
  *) echo "usage: $0 [v2|v3]" >&2; exit 2 ;;
esac
go_build_cached cosign "$VERSION" cosign -- \
  -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=v$VERSION -X sigs.k8s.io/release-utils/version.gitTreeState=clean" \
  "github.com/sigstore/cosign/v$MAJOR/cmd/cosign@v$VERSION"
