#!/usr/bin/env bash
# Builds the Helm CLI from the Go module proxy (`go install helm.sh/helm/vN/cmd/helm@…`), once per version:
#   ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/helm-<version>/helm
# Usage: build-helm.sh [v3|v4]   (default v3). Prints the binary's path on stdout, progress on stderr.
# Built as Helm's own Makefile builds a release: -trimpath, -s -w, the version stamped, and (v3) the
# Kubernetes version of its client-go as the default `.Capabilities.KubeVersion`.
set -euo pipefail
. "$(dirname "$0")/lib/go-build.sh"
case "${1:-v3}" in
  v3|3) MAJOR=3 VERSION=3.22.0 ;;
  v4|4) MAJOR=4 VERSION=4.3.2 ;;
  *) echo "usage: $0 [v3|v4]" >&2; exit 2 ;;
esac
MOD=helm.sh/helm/v$MAJOR
go_build_begin helm "$VERSION" helm || exit 0
LDFLAGS="-s -w -X $MOD/internal/version.version=v$VERSION -X $MOD/internal/version.gitTreeState=clean"
if [ "$MAJOR" = 3 ]; then
  # helm's Makefile: the default KubeVersion (helm template, lint deprecations) is client-go's minor + 1.x
  gomod=$("$GB_GO" mod download -json "$MOD@v$VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
  kminor=$(sed -n 's/^\s*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -n 1)
  [ -n "$kminor" ] || { echo "helm: cannot read client-go's version from $gomod" >&2; exit 1; }
  for p in pkg/lint/rules pkg/chartutil; do LDFLAGS+=" -X $MOD/$p.k8sVersionMajor=1 -X $MOD/$p.k8sVersionMinor=$kminor"; done
fi
export GOBIN=$GB_OUT/.gobin
rm -rf "$GOBIN"
go_build_run "$GB_GO" install -v -ldflags "$LDFLAGS" "$MOD/cmd/helm@v$VERSION"
go_build_finish "$GOBIN/helm"
rm -rf "$GOBIN"
