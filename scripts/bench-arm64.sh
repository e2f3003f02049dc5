#!/usr/bin/env bash
# linux-arm64 DGMO figures (docs/benchmarks.md, docs/platforms.md), measured on this x86-64 machine
# under qemu-aarch64-static (user-mode emulation: every arm64 instruction is translated, so times
# are much slower than on arm64 hardware), with the linux-x64 figures of the same run beside them:
#   size of the arm64 binary (the target: under 50 MB);
#   cold `dgmo --version` (empty cache) and warm `dgmo --version`, arm64 under qemu and x64 native;
#   the launcher's own share: warm `dgmo --version` minus Bun on the cached cli-entry.js directly,
#   on both targets (under qemu for arm64), and `--launcher info` (the launcher alone, no exec);
#   the glibc floor scan of the arm64 binary (scripts/lib/glibc-floor.sh --report).
# qemu-aarch64 is registered with binfmt_misc for the run (the launcher execs arm64 Bun) and the
# registration is undone at exit (scripts/lib/qemu-binfmt.sh). Needs root.
# Usage: scripts/bench-arm64.sh [ARM64_BINARY [X64_BINARY]]
#        (default dist/dgmo-linux-arm64 and dist/dgmo-linux-x64: `make dgmo TARGET=linux-arm64`, `make dgmo`)
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:-dist/dgmo-linux-arm64}
X64=${2:-dist/dgmo-linux-x64}
for b in "$ARM" "$X64"; do [ -x "$b" ] || { echo "bench-arm64: no binary at $b (make dgmo TARGET=linux-arm64; make dgmo)" >&2; exit 2; }; done
command -v hyperfine >/dev/null || { echo "bench-arm64: hyperfine is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
ARM=$(realpath "$ARM"); X64=$(realpath "$X64")
RUNS=${RUNS:-10}; WARM_RUNS=${WARM_RUNS:-30}

W=$(mktemp -d /var/tmp/dgmo-bench-arm64.XXXXXX)
bash scripts/lib/qemu-binfmt.sh register $$
trap 'bash scripts/lib/qemu-binfmt.sh unregister $$; rm -rf "$W"' EXIT

mib() { python3 -c "import sys; print('%.1f MiB' % (int(sys.argv[1]) / 1048576))" "$1"; }
median_ms() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.1f' % (x['median']*1000) for x in r))" "$1"; }

echo "## sizes"
echo "linux-arm64 binary: $(mib "$(stat -c %s "$ARM")") ($(stat -c %s "$ARM") bytes; target < 50 MB)"
echo "linux-x64 binary:   $(mib "$(stat -c %s "$X64")") ($(stat -c %s "$X64") bytes)"

for t in arm64 x64; do
  if [ $t = arm64 ]; then B=$ARM; how="under qemu"; else B=$X64; how="native"; fi
  export DGMO_CACHE_DIR=$W/cache-$t
  echo "## linux-$t ($how)"
  hyperfine -N --runs "$RUNS" --prepare "rm -rf $DGMO_CACHE_DIR" --export-json "$W/cold.json" "$B --version" >/dev/null
  echo "cold --version:       $(median_ms "$W/cold.json") ms (median of $RUNS, empty cache: extracts app and bun)"
  "$B" --version >/dev/null
  APP=$(ls -d "$DGMO_CACHE_DIR"/layers/*/application-code | head -1)
  BUNC=$(ls "$DGMO_CACHE_DIR"/layers/*/embedded-resources/bun-runtime/bun | head -1)
  hyperfine -N --warmup 3 --runs "$WARM_RUNS" --export-json "$W/warm.json" \
    "$B --version" "$BUNC $APP/cli-entry.js --version" "$B --launcher info" >/dev/null
  read -r bundle direct info < <(median_ms "$W/warm.json")
  echo "warm --version:       $bundle ms (median of $WARM_RUNS)"
  echo "bun cli-entry.js:     $direct ms (the same Bun on the cached code, no launcher)"
  echo "launcher share:       $(python3 -c "print('%.1f' % ($bundle - $direct))") ms (warm --version minus bun)"
  echo "--launcher info:      $info ms (the launcher alone: verify, look up the cache, print)"
done
unset DGMO_CACHE_DIR

echo "## glibc floor of the linux-arm64 binary (scripts/lib/glibc-floor.sh --report)"
scripts/lib/glibc-floor.sh --report "$ARM" 2>&1
