#!/usr/bin/env bash
# Installs what the test suite's real servers need, on a fresh Debian 12 machine:
# docker-registry, skopeo, notary, redis, etcd, openssl, Go + sprig (chart renderer), and builds
# kube-apiserver v1.20.2 from Debian's source package once (cached, see build-kube-apiserver.sh), and the
# notation CLI from the Go module proxy once (cached, see build-notation.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(docker-registry skopeo umoci apache2-utils notary redis-server etcd-server openssl
      golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev golang-gopkg-yaml.v2-dev rsync make
      golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test dependencies: ${missing[*]}" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
bash scripts/build-kube-apiserver.sh >/dev/null
bash scripts/build-helm-render.sh >/dev/null
bash scripts/build-notation.sh >/dev/null
