#!/usr/bin/env bash
# Builds one Go binary for e2e/bench from the Go module proxy, through a wrapper module in this
# directory that pins it (go.mod/go.sum, no code of ours), and caches it outside the repo: later runs
# skip the build until the wrapper's go.mod/go.sum change. Prints the binary's path on stdout (last
# line). Override the cache with BERTH_BENCH_CACHE.
#   build-go.sh <wrapper dir> <package> <binary name>
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: build-go.sh <wrapper dir> <package> <binary name>" >&2; exit 2; }
mod="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$1"
pkg="$2"
cache="${BERTH_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/bench}"
bin="$cache/$3"
stamp="$cache/$3.gosum.sha256"
want="$(sha256sum "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -d' ' -f1)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-go: go is not installed" >&2; exit 1; }
mkdir -p "$cache"
start=$(date +%s)
(cd "$mod" && go build -trimpath -o "$bin.tmp" "$pkg")
mv "$bin.tmp" "$bin"
echo "$want" > "$stamp"
echo "build-go: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
