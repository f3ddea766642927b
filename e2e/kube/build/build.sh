#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager from the Go module proxy
# into ~/.cache/berth/kube/<version>/ . Idempotent: exits at once when the
# binaries are already cached. Usage: e2e/kube/build/build.sh [vX.Y.Z]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:-${KUBE_VERSION:-v1.37.2}}"
out="${BERTH_KUBE_CACHE:-$HOME/.cache/berth/kube}/$version"
cmds=(kube-apiserver kube-controller-manager)
missing=0
for c in "${cmds[@]}"; do [ -x "$out/$c" ] || missing=1; done
if [ "$missing" = 0 ]; then echo "cached: $out"; exit 0; fi

minor="${version#v1.}"          # 37.2
staging_version="v0.${minor}"   # v0.37.2
work="$out/.module"
mkdir -p "$work"
# The wrapper module lives outside the repo (go.sum and the module's own
# replaces are generated per version); the staging module list comes from
# k8s.io/kubernetes's go.mod, which names each one v0.0.0 => ./staging/...
cp "$here/main.go" "$work/main.go"
cat > "$work/go.mod" <<MOD
module berth.local/kubebuild

go 1.26.0

require k8s.io/kubernetes $version
MOD
cd "$work"
GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" >/dev/null
kmod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$version.mod"
# Every staging module that kubernetes requires as v0.0.0 gets pinned to the
# matching published v0.Y.Z.
awk '$2 == "v0.0.0" && $1 ~ /^k8s\.io\// {print $1}' "$kmod" | sort -u | while read -r m; do
  echo "replace $m => $m $staging_version" >> go.mod
done
GOFLAGS=-mod=mod go mod tidy
pkg=k8s.io/kubernetes/cmd
vpkg=k8s.io/component-base/version
commit="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
ldflags="-s -w -X $vpkg.gitVersion=$version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=${minor%%.*} -X $vpkg.gitTreeState=clean -X $vpkg.gitCommit=module-$commit -X $vpkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for c in "${cmds[@]}"; do
  [ -x "$out/$c" ] && continue
  start=$(date +%s)
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$c.tmp" "$pkg/$c"
  mv "$out/$c.tmp" "$out/$c"
  echo "built $c in $(( $(date +%s) - start ))s"
done
echo "built: $out"
