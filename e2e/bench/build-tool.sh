#!/usr/bin/env bash
# Builds etcd's own benchmark tool (go.etcd.io/etcd/v3/tools/benchmark, pinned in tool/go.mod) from the
# Go module proxy and caches the binary outside the repo, so later runs skip the build.
# Prints the binary's path on stdout (last line). Override the cache with BERTH_BENCH_CACHE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${BERTH_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/bench}"
bin="$cache/benchmark"
stamp="$cache/benchmark.gosum.sha256"
want="$(sha256sum "$here/tool/go.mod" "$here/tool/go.sum" | sha256sum | cut -d' ' -f1)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-tool: go is not installed" >&2; exit 1; }
mkdir -p "$cache"
start=$(date +%s)
(cd "$here/tool" && go build -trimpath -o "$bin.tmp" go.etcd.io/etcd/v3/tools/benchmark)
mv "$bin.tmp" "$bin"
echo "$want" > "$stamp"
echo "build-tool: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
