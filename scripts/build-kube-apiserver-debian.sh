#!/usr/bin/env bash
# (Called by build-kube-apiserver.sh 1.20.) Builds kube-apiserver v1.20.2 from Debian bookworm's `kubernetes` source package, once.
# The binary is cached outside the repository, keyed by version:
#   ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/kube-apiserver-1.20.2/kube-apiserver
# Prints the binary's path on stdout. Cold: ~7 minutes and ~3 GB of disk on 2 cores.
set -euo pipefail
VERSION=1.20.2
CACHE=${IMPRIMATUR_CACHE:-/var/cache/imprimatur}
OUT=$CACHE/kube-apiserver-$VERSION
BIN=$OUT/kube-apiserver
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
. "$(dirname "$0")/lib/go-build.sh"   # build_record_time
START=$(date +%s)
echo "kube-apiserver $VERSION: building from Debian's source package with Go 1.19 (several minutes)" >&2
need=()
for p in golang-go rsync make etcd-server golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=300 update >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need[@]}" >&2
fi
W=$OUT/work
rm -rf "$W"; mkdir -p "$W/apt/parts" "$W/apt/lists/partial"
# A private deb-src list so /etc/apt stays untouched: the machine's own bookworm entry as deb-src.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  awk 'BEGIN{RS="";ORS="\n\n"} /Suites: bookworm( |$)/ && !/security/ {print; exit}' /etc/apt/sources.list.d/debian.sources \
    | sed 's/^Types: deb$/Types: deb-src/; s/^Suites: .*/Suites: bookworm/' > "$W/apt/parts/src.sources"
else
  grep -E '^deb .* bookworm main' /etc/apt/sources.list | head -1 | sed 's/^deb /deb-src /' > "$W/apt/parts/src.list"
fi
O="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$W/apt/parts -o Dir::State::Lists=$W/apt/lists"
apt-get $O update >&2
(cd "$W" && apt-get $O source --download-only kubernetes >&2 && tar xzf kubernetes_*.orig.tar.gz)
cd "$W/kubernetes-$VERSION"
# The vendored reflect2 1.0.1 panics on Go >= 1.18 at every JSON request: use Debian's.
for d in github.com/modern-go/reflect2 github.com/json-iterator/go; do
  rm -rf "vendor/$d" && mkdir -p "vendor/$d" && cp -a "/usr/share/gocode/src/$d/." "vendor/$d/"
  find "vendor/$d" -name '*_test.go' -delete
done
# Debian's Go 1.19 builds this tree; a newer Go first on PATH (polyglot machines: /usr/local/go) does not.
GO119=/usr/lib/go-1.19/bin
[ -x "$GO119/go" ] || { echo "build-kube-apiserver: $GO119/go missing (Debian package golang-1.19-go)" >&2; exit 1; }
export PATH=$GO119:$PATH GOTOOLCHAIN=local
export GOPATH=$PWD/.go CGO_ENABLED=0 GOPROXY=off GOFLAGS= GOCACHE=$W/gocache
mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
HOME=$W/home KUBE_GIT_VERSION=v$VERSION make WHAT=cmd/kube-apiserver >&2
cp _output/bin/kube-apiserver "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
cd "$OUT" && rm -rf "$W"
build_record_time kube-apiserver "$VERSION" $(( $(date +%s) - START )) "$OUT/.times"
echo "kube-apiserver $VERSION: built in $(( $(date +%s) - START )) s -> $BIN" >&2
echo "$BIN"
