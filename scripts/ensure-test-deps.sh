#!/usr/bin/env bash
# Installs what the test suite's real servers and tools need, on a fresh Debian 12 machine with Go >= 1.26:
# - apt: docker-registry, skopeo, notary, redis, etcd, openssl, Debian's Go 1.19 (+ what the kube-apiserver
#   v1.20.2 source build needs);
# - builds, once, cached by version under ${IMPRIMATUR_CACHE:-/var/cache/imprimatur} (scripts/build-*.sh):
#   kube-apiserver v1.20.2 (Debian's source) and the current kube-apiserver, Helm v3 and v4, cosign v2 and v3,
#   olareg (an OCI 1.1 registry with the referrers API), the notation CLI — the Go ones from the Go module proxy.
# Two build lanes run side by side (the Debian build beside the module builds), each printing its progress.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(docker-registry skopeo umoci apache2-utils notary redis-server etcd-server openssl
      golang-go rsync make golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test dependencies: ${missing[*]}" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >&2
fi

# Each lane: build scripts in order; stdout (the binaries' paths) is dropped, progress stays on stderr.
lane() { local s; for s in "$@"; do eval "bash scripts/$s" >/dev/null || return 1; done; }
lane "build-kube-apiserver.sh 1.20" "build-kube-apiserver.sh current" &
a=$!
lane build-olareg.sh "build-helm.sh v3" "build-helm.sh v4" "build-cosign.sh v2" "build-cosign.sh v3" build-notation.sh &
b=$!
rc=0
wait "$a" || rc=1
wait "$b" || rc=1
[ "$rc" = 0 ] || { echo "ensure-test-deps: a build failed (see above)" >&2; exit 1; }
