#!/usr/bin/env bash
# Build the reference NSQ binaries (nsqd, nsqlookupd, nsqadmin, bench_writer, bench_reader and
# the utilities nsq_tail, nsq_stat, nsq_to_file, nsq_to_http, nsq_to_nsq, to_nsq) from the Go
# module proxy into bench/.build/bin, so our Rust daemon can be compared with the
# real thing (tests: NSQD_BIN=bench/.build/bin/nsqd NSQD_IS_REFERENCE=1).
#
# The reference is nsqio/nsq at commit 3103474b6c5a (v1.3.0 + later master commits, see
# ../shared/spec/nsqd.md). Only the Go module proxy is reachable, so we create a throwaway
# wrapper module in bench/.build/refmod that requires nsq at that commit's pseudo-version and
# repeats nsq's own `replace` directive (go-svc), which `go install pkg@version` refuses.
#
# If the proxy does not serve the pseudo-version, we fall back to the newest release it does
# serve (v1.3.0) and say so loudly: v1.3.0 lacks the topology experiment (its IDENTIFY
# response has no topology_region/topology_zone keys and /stats has no global_msg_count).
# The version actually built is written to bench/.build/bin/REF_VERSION.
#
# Usage: bench/reference.sh [--force]
#   NSQ_REF_COMMIT   commit to resolve (default 3103474b6c5a)
#   NSQ_REF_FALLBACK version used when the commit cannot be resolved (default v1.3.0;
#                    set to "none" to fail instead)
# Idempotent: does nothing when every binary exists and is newer than this script.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/.build"
mod="$build/refmod"
bin="$build/bin"
commit="${NSQ_REF_COMMIT:-3103474b6c5a}"
fallback="${NSQ_REF_FALLBACK:-v1.3.0}"
nsq="github.com/nsqio/nsq"
# name:package pairs
targets=(
  "nsqd:$nsq/apps/nsqd"
  "nsqlookupd:$nsq/apps/nsqlookupd"
  "nsqadmin:$nsq/apps/nsqadmin"
  "bench_writer:$nsq/bench/bench_writer"
  "bench_reader:$nsq/bench/bench_reader"
  # the utilities, for the tool tests (TOOLS_BIN_DIR=bench/.build/bin)
  "nsq_tail:$nsq/apps/nsq_tail"
  "nsq_stat:$nsq/apps/nsq_stat"
  "nsq_to_file:$nsq/apps/nsq_to_file"
  "nsq_to_http:$nsq/apps/nsq_to_http"
  "nsq_to_nsq:$nsq/apps/nsq_to_nsq"
  "to_nsq:$nsq/apps/to_nsq"
)

say() { printf 'reference.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
  *) die "unknown argument: $1 (usage: bench/reference.sh [--force])" ;;
esac

if ! command -v go >/dev/null 2>&1; then
  die "the Go toolchain ('go') is not on PATH; install Go >= 1.21 (https://go.dev/dl/) to build the reference NSQ binaries"
fi

up_to_date() {
  local t name
  for t in "${targets[@]}"; do
    name=${t%%:*}
    [ -x "$bin/$name" ] || return 1
    [ "$bin/$name" -nt "$0" ] || return 1
  done
  return 0
}

show() {
  local t
  say "reference binaries ($(cat "$bin/REF_VERSION" 2>/dev/null || echo 'unknown version')):"
  for t in "${targets[@]}"; do
    printf '  %s\n' "$bin/${t%%:*}"
  done
}

if [ "$force" = 0 ] && up_to_date; then
  say "up to date (use --force to rebuild)"
  show
  exit 0
fi

mkdir -p "$mod" "$bin"
cd "$mod"

# A bare wrapper module; go.mod is rewritten from scratch on every run.
write_base_mod() {
  printf 'module nsqrs-reference-wrapper\n\ngo 1.21\n' > go.mod
  rm -f go.sum
}
write_base_mod

# Resolve the commit to its pseudo-version through the proxy.
version=""
if out=$(go list -mod=mod -m -json "$nsq@$commit" 2>&1); then
  version=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Version":[[:space:]]*"\([^"]*\)".*/\1/p' | head -n1)
fi
if [ -z "$version" ]; then
  say "could not resolve $nsq@$commit through the module proxy:"
  printf '%s\n' "${out:-}" | sed 's/^/    /' >&2
  if [ "$fallback" = none ]; then
    die "no fallback requested (NSQ_REF_FALLBACK=none)"
  fi
  say "WARNING: falling back to $nsq@$fallback. It differs from the spec'd commit: no topology"
  say "WARNING: experiment (IDENTIFY JSON lacks topology_region/topology_zone, /stats lacks"
  say "WARNING: global_msg_count), no --auth-http-request-method."
  version="$fallback"
fi
say "using $nsq@$version"

# Read nsq's own go.mod to repeat its replace directives.
dl=$(go mod download -json "$nsq@$version") || die "go mod download $nsq@$version failed"
gomod=$(printf '%s\n' "$dl" | sed -n 's/^[[:space:]]*"GoMod":[[:space:]]*"\([^"]*\)".*/\1/p' | head -n1)
[ -n "$gomod" ] && [ -f "$gomod" ] || die "could not locate go.mod of $nsq@$version in the module cache"
# Single-line `replace a => b v` directives and `replace ( ... )` blocks.
replaces=$(awk '
  /^replace[[:space:]]*\(/ { inblock = 1; next }
  inblock && /^\)/ { inblock = 0; next }
  inblock && NF { print; next }
  /^replace[[:space:]]/ { sub(/^replace[[:space:]]+/, ""); print }
' "$gomod")

{
  printf 'module nsqrs-reference-wrapper\n\ngo 1.21\n\nrequire %s %s\n' "$nsq" "$version"
  if [ -n "$replaces" ]; then
    printf '\n'
    printf '%s\n' "$replaces" | while IFS= read -r r; do printf 'replace %s\n' "$r"; done
  fi
} > go.mod
say "wrapper module: $mod/go.mod"
sed 's/^/    /' go.mod >&2

for t in "${targets[@]}"; do
  name=${t%%:*}
  pkg=${t#*:}
  say "building $name ($pkg)"
  go build -mod=mod -o "$bin/$name.tmp" "$pkg" || die "go build $pkg failed"
  mv -f "$bin/$name.tmp" "$bin/$name"
done
printf '%s@%s\n' "$nsq" "$version" > "$bin/REF_VERSION"

"$bin/nsqd" --version >&2 || true
show
