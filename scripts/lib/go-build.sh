# Shared by scripts/build-<tool>.sh: builds a Go program from the Go module proxy with the ordinary
# `go` command, once per version, cached outside the repository:
#
#   ${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/<name>-<version>/<binary>
#
# Every build shares one module cache and one build cache (${IMPRIMATUR_CACHE}/go/{mod,build}), so
# packages common to several tools (client-go, go-containerregistry, sigstore, …) are downloaded and
# compiled once. Builds are serialised per tool and version with flock, so concurrent test runs and
# helpers reuse one build instead of racing. Progress goes to stderr; the binary's path is the only
# thing printed on stdout.
#
# Usage (from a build script):
#   . "$(dirname "$0")/lib/go-build.sh"
#   go_build_cached NAME VERSION BINARY -- [-ldflags …] MODULE/cmd/x@vVERSION       # plain `go install`
# or, when `go install pkg@version` cannot be used (the proxy refuses the module's version list, which
# `go install` reads for deprecation notices; or the module needs `replace` lines):
#   go_build_begin NAME VERSION BINARY || exit 0
#   go_module_prepare MODULE vVERSION          # a throw-away module of our own that requires it
#   echo "replace …" >> go.mod                 # optional
#   go_module_build PACKAGE vVERSION "LDFLAGS"
#
# Environment: IMPRIMATUR_CACHE (cache root), IMPRIMATUR_GO (the go command; default Go 1.26 at
# /usr/local/go/bin/go, else `go` on PATH if it is 1.26 or newer), GOTOOLCHAIN (default `local`: never
# download a toolchain unless a script asks for the one approved newer toolchain), GOPROXY, GOSUMDB.

IMPRIMATUR_CACHE=${IMPRIMATUR_CACHE:-/var/cache/imprimatur}

_gb_log() { printf '%s\n' "$*" >&2; }

# The Go toolchain used for module builds (never Debian's 1.19, which knows no modules this new).
go_build_toolchain() {
  local go=${IMPRIMATUR_GO:-}
  if [ -z "$go" ]; then
    if [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; else go=$(command -v go || true); fi
  fi
  if [ -z "$go" ] || ! "$go" version >/dev/null 2>&1; then
    _gb_log "go-build: no Go toolchain found (need Go >= 1.26 at /usr/local/go/bin/go, or set IMPRIMATUR_GO)"
    return 1
  fi
  local v
  v=$(GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null | sed 's/^go//')
  case "$v" in
    1.2[6-9]*|1.[3-9][0-9]*|[2-9].*) ;;
    *) _gb_log "go-build: $go is Go ${v:-unknown}; these builds need Go >= 1.26 (set IMPRIMATUR_GO)"; return 1 ;;
  esac
  printf '%s\n' "$go"
}

# Exports the environment every module build shares.
go_build_env() {
  export GOMODCACHE=$IMPRIMATUR_CACHE/go/mod
  export GOCACHE=$IMPRIMATUR_CACHE/go/build
  export GOPATH=$IMPRIMATUR_CACHE/go/path
  export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
  export GOPROXY=${GOPROXY:-https://proxy.golang.org}
  export CGO_ENABLED=0
  # -trimpath: reproducible, path-independent binaries (and cache keys); no VCS stamping (no checkout).
  export GOFLAGS="-trimpath -buildvcs=false"
  export HOME=${HOME:-$IMPRIMATUR_CACHE/go/home}
  mkdir -p "$GOMODCACHE" "$GOCACHE" "$GOPATH"
}

# go_build_begin NAME VERSION BINARY: sets GB_OUT, GB_BIN. Returns 1 (after printing the path) when the
# binary is already cached; otherwise takes the lock and returns 0 with the build environment exported.
go_build_begin() {
  GB_NAME=$1 GB_VERSION=$2
  GB_OUT=$IMPRIMATUR_CACHE/$1-$2
  GB_BIN=$GB_OUT/$3
  if [ -x "$GB_BIN" ]; then printf '%s\n' "$GB_BIN"; return 1; fi
  mkdir -p "$GB_OUT"
  exec 9>"$GB_OUT/.lock"
  if ! flock -n 9; then
    _gb_log "$GB_NAME $GB_VERSION: another process is building it; waiting for $GB_OUT/.lock"
    flock 9
  fi
  if [ -x "$GB_BIN" ]; then printf '%s\n' "$GB_BIN"; return 1; fi
  GB_GO=$(go_build_toolchain) || exit 1
  go_build_env
  GB_START=$(date +%s)
  GB_LOG=$GB_OUT/build.log
  : >"$GB_LOG"
  _gb_log "$GB_NAME $GB_VERSION: building with $("$GB_GO" version | cut -d' ' -f3) (GOTOOLCHAIN=$GOTOOLCHAIN) into $GB_OUT — log: $GB_LOG"
  return 0
}

# go_build_run CMD…: runs a build step with its output in the build log, printing progress every 30 s
# (elapsed time, modules downloaded, packages compiled). On failure prints the log's tail and exits.
go_build_run() {
  "$@" >>"$GB_LOG" 2>&1 &
  local pid=$! rc=0 ticks=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    if [ $((ticks % 30)) -eq 0 ]; then
      _gb_log "$GB_NAME $GB_VERSION: $(( $(date +%s) - GB_START )) s, $(grep -c '^go: downloading' "$GB_LOG") modules downloaded, $(grep -vc '^go: ' "$GB_LOG") packages built"
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    _gb_log "$GB_NAME $GB_VERSION: build failed (exit $rc); last lines of $GB_LOG:"
    tail -n 40 "$GB_LOG" >&2
    exit "$rc"
  fi
}

# build_record_time NAME VERSION SECONDS TIMES_FILE: appends the build's wall time, its CPU time (user + sys of every
# process the build script waited for) and the machine's load to build-times.log. Call it from the build script's
# own shell, never in a subshell or pipeline (a forked shell has no children to count).
build_record_time() {
  local cpu
  times >"$4"
  cpu=$(tail -n 1 "$4" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d", t }')
  rm -f "$4"
  printf '%s %s built in %d s (CPU %s s) on %s cores (load %s)\n' "$1" "$2" "$3" "$cpu" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"${IMPRIMATUR_CACHE:-/var/cache/imprimatur}/build-times.log"
}

# go_build_finish BUILT_BINARY: moves the binary into place atomically, records how it was built.
go_build_finish() {
  local built=$1
  mv "$built" "$GB_BIN.tmp" && chmod 755 "$GB_BIN.tmp"
  "$GB_GO" version -m "$GB_BIN.tmp" >"$GB_OUT/buildinfo.txt" 2>/dev/null || true
  mv "$GB_BIN.tmp" "$GB_BIN"
  local secs=$(( $(date +%s) - GB_START ))
  build_record_time "$GB_NAME" "$GB_VERSION" "$secs" "$GB_OUT/.times"
  _gb_log "$GB_NAME $GB_VERSION: built in $secs s -> $GB_BIN"
  printf '%s\n' "$GB_BIN"
}

# go_build_cached NAME VERSION BINARY -- GO-ARGS…: `go install -v GO-ARGS` (e.g. module/cmd/x@vX.Y.Z,
# with -ldflags/-tags before it) into a private GOBIN, then into the cache.
go_build_cached() {
  local name=$1 version=$2 binary=$3
  shift 3
  [ "${1:-}" = -- ] && shift
  go_build_begin "$name" "$version" "$binary" || return 0
  local gobin=$GB_OUT/.gobin
  rm -rf "$gobin"; mkdir -p "$gobin"
  export GOBIN=$gobin
  go_build_run "$GB_GO" install -v "$@"
  unset GOBIN
  local built
  built=$(find "$gobin" -type f -perm -u+x | head -n 1)
  [ -n "$built" ] || { _gb_log "$name $version: go install produced no binary"; exit 1; }
  go_build_finish "$built"
  rm -rf "$gobin"
}

# go_module_prepare MODULE VERSION: after go_build_begin, creates and enters $GB_OUT/module, a throw-away module
# that requires MODULE@VERSION, with MODULE's own `go` and `godebug` lines (so the program gets the same GODEBUG
# defaults as a `go install` of it). Sets GB_TOOL_GOMOD (MODULE's go.mod in the module cache).
go_module_prepare() {
  local module=$1 version=$2
  GB_MODULE_DIR=$GB_OUT/module
  rm -rf "$GB_MODULE_DIR"; mkdir -p "$GB_MODULE_DIR"; cd "$GB_MODULE_DIR"
  GB_TOOL_GOMOD=$("$GB_GO" mod download -json "$module@$version" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
  [ -f "$GB_TOOL_GOMOD" ] || { _gb_log "$GB_NAME $GB_VERSION: go mod download $module@$version gave no go.mod"; exit 1; }
  {
    printf 'module imprimatur.test/build-%s\n\n' "$GB_NAME"
    grep -E '^(go|godebug) ' "$GB_TOOL_GOMOD"
    printf '\nrequire %s %s\n\n' "$module" "$version"
  } > go.mod
}

# go_module_build PACKAGE VERSION LDFLAGS: `go get PACKAGE@VERSION` (resolves and verifies every dependency
# against go.sum / the checksum database), `go build` it, and finish (cache, print the path).
go_module_build() {
  local pkg=$1 version=$2 ldflags=$3
  go_build_run "$GB_GO" get "$pkg@$version"
  go_build_run "$GB_GO" build -v -ldflags "$ldflags" -o "$GB_MODULE_DIR/.bin" "$pkg"
  go_build_finish "$GB_MODULE_DIR/.bin"
  cd "$GB_OUT" && rm -rf "$GB_MODULE_DIR"
}

