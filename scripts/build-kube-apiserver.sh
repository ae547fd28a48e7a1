#!/usr/bin/env bash
# Builds kube-apiserver once per version, cached outside the repository:
#   ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/kube-apiserver-<version>/kube-apiserver
# Usage: build-kube-apiserver.sh [1.20|current]   (default 1.20)
#   1.20     v1.20.2 from Debian bookworm's `kubernetes` source package with Debian's Go 1.19
#            (build-kube-apiserver-debian.sh; ~7 minutes cold).
#   current  the newest Kubernetes this machine's Go builds, from the Go module proxy: `k8s.io/kubernetes`
#            as a dependency of a throw-away module of our own that repeats its `replace` lines for the
#            staging modules (k8s.io/api => k8s.io/api v0.<minor>.<patch>, …).
# Prints the binary's path on stdout, progress on stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CURRENT=1.37.2
case "${1:-1.20}" in
  1.20|1.20.2) exec bash "$HERE/build-kube-apiserver-debian.sh" ;;
  current|"$CURRENT") VERSION=$CURRENT ;;
  *) echo "usage: $0 [1.20|current]" >&2; exit 2 ;;
esac
. "$HERE/lib/go-build.sh"
go_build_begin kube-apiserver "$VERSION" kube-apiserver || exit 0
MINOR=${VERSION#1.}; MINOR=${MINOR%%.*}
go_module_prepare k8s.io/kubernetes "v$VERSION"
# k8s.io/x => ./staging/src/k8s.io/x   becomes   k8s.io/x => k8s.io/x v0.<minor>.<patch>
other=$(grep -E '=> ' "$GB_TOOL_GOMOD" | grep -vc '=> \./staging/' || true)
[ "$other" = 0 ] || { echo "kube-apiserver: k8s.io/kubernetes@v$VERSION has replace lines other than staging ones; teach this script" >&2; exit 1; }
{
  echo "replace ("
  sed -n "s#^\s*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\t\1 => \1 v0.${VERSION#1.}#p" "$GB_TOOL_GOMOD"
  echo ")"
} >> go.mod
# What hack/lib/version.sh stamps into a release build.
LDFLAGS="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $p.gitVersion=v$VERSION -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
go_module_build k8s.io/kubernetes/cmd/kube-apiserver "v$VERSION" "$LDFLAGS"
