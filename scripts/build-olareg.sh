#!/usr/bin/env bash
# Builds olareg, the OCI 1.1 registry with the referrers API the test suite runs beside Debian's
# docker-registry 2.8 (which has none), from the Go module proxy, once per version:
#   ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/olareg-<version>/olareg
# Prints the binary's path on stdout, progress on stderr. Why olareg: docs/test-infrastructure.md.
# The proxy serves olareg's versions only when asked by number (its version list is refused), which
# `go install pkg@version` needs, hence a throw-away module that requires it.
set -euo pipefail
. "$(dirname "$0")/lib/go-build.sh"
VERSION=0.2.2
go_build_begin olareg "$VERSION" olareg || exit 0
go_module_prepare github.com/olareg/olareg "v$VERSION"
go_module_build github.com/olareg/olareg/cmd/olareg "v$VERSION" \
  "-s -w -X github.com/olareg/olareg/internal/version.vcsTag=v$VERSION"
