#!/usr/bin/env bash
# Builds a current etcd server release (go.etcd.io/etcd/server/v3, the version pinned in etcd/go.mod)
# from the Go module proxy and caches the binary outside the repo, so later runs skip the build.
# Prints the binary's path on stdout (last line). Override the cache with BERTH_BENCH_CACHE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${BERTH_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/bench}"
bin="$cache/etcd"
stamp="$cache/etcd.gosum.sha256"
want="$(sha256sum "$here/etcd/go.mod" "$here/etcd/go.sum" | sha256sum | cut -d' ' -f1)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-etcd: go is not installed" >&2; exit 1; }
mkdir -p "$cache"
start=$(date +%s)
(cd "$here/etcd" && go build -trimpath -o "$bin.tmp" go.etcd.io/etcd/server/v3)
mv "$bin.tmp" "$bin"
echo "$want" > "$stamp"
echo "build-etcd: built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
