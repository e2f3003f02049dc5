#!/usr/bin/env bash
# Frame size and parallel extraction (issue 25; docs/benchmarks.md, "Frame size"). For DGMO's Bun
# layer (.build-dgmo/stage/bun, staged by `make dgmo`), compressed as the release compresses it
# (zstd LEVEL with the x86 filter), for each frame size:
#   - the stored size of the layer (ratio against parallelism: larger frames compress better);
#   - a cold extraction by the launcher (a one-layer bundle whose entry runs /bin/true: the time is
#     the launcher's start, the layer's extraction, publication and fsync), interleaved with the
#     reference `zstd -d -T0` of the same Bun binary (compressed whole at level 19, as in the issue)
#     to a file plus `sync -f`, on all cores and on one (taskset -c 0);
#   - the launcher's peak RSS during that cold run.
# The machine (nproc, CPU) and load are printed beside the figures: on a shared machine they are noisy.
# Usage: scripts/bench-frames.sh [SIZE...]   (default: 2MiB 4MiB 8MiB 16MiB; spec syntax, see docs/spec.md)
# Env: LEVEL (default 22), RUNS (interleaved pairs, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STAGE=$ROOT/.build-dgmo/stage/bun
BUNFILE=$STAGE/embedded-resources/bun-runtime/bun
[ -f "$BUNFILE" ] || { echo "bench-frames: no staged Bun layer at $STAGE (run 'make dgmo' first)" >&2; exit 2; }
scripts/install-deps.sh
swift build -c release --product bundle-append >/dev/null
BIN=$(swift build -c release --show-bin-path)
make --no-print-directory "$BIN/stubs/linux-x64/bundle-stub" CONFIG=release >/dev/null
STUB=$BIN/stubs/linux-x64/bundle-stub
LEVEL=${LEVEL:-22}; RUNS=${RUNS:-10}
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(2MiB 4MiB 8MiB 16MiB)
P="python3 $ROOT/scripts/lib/interleaved.py"
W=$(mktemp -d /var/tmp/bench-frames.XXXXXX)
trap 'rm -rf "$W"' EXIT
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg)"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
load
echo "Bun binary: $(stat -c %s "$BUNFILE") bytes"

zstd -q -19 -T0 "$BUNFILE" -o "$W/bun.zst"
echo "reference: zstd -19 of it, one frame: $(stat -c %s "$W/bun.zst") bytes"
mkdir -p "$W/ref"
REF=(sh -c "zstd -d -T0 -q -f '$W/bun.zst' -o '$W/ref/bun' && sync -f '$W/ref/bun'")
REF_PREP=(rm -f "$W/ref/bun")

for size in "${SIZES[@]}"; do
  cat > "$W/spec-$size.toml" <<SPEC
[bundle]
name = "frames"
version = "1"
[layers.bun]
path = "$STAGE"
compression = "zstd"
level = $LEVEL
filter = "x86"
frame-size = "$size"
[entries.run]
exec = ["/bin/true"]
layers = ["bun"]
default = true
SPEC
  t0=$(date +%s.%N)
  "$BIN/bundle-append" build "$W/spec-$size.toml" -o "$W/b-$size" --unsigned --stub "$STUB" >/dev/null
  t1=$(date +%s.%N)
  stored=$("$BIN/bundle-append" inspect "$W/b-$size" --json | python3 -c 'import json,sys; l=json.load(sys.stdin)["layers"][0]; print(l["compressedSize"], l["frames"])')
  echo "## frame size $size: layer stored in ${stored% *} bytes, ${stored#* } frames (zstd $LEVEL+x86; built in $(python3 -c "print('%.1f' % ($t1 - $t0))") s)"
  B=(env FRAMES_LAUNCHER_CACHE_DIR="$W/c-$size" "$W/b-$size")
  $P "$RUNS" "cold extraction, frames $size, all cores: launcher (A) vs zstd -d -T0 + sync -f (B)" -- "${B[@]}" -- "${REF[@]}" -- rm -rf "$W/c-$size" -- "${REF_PREP[@]}"
  load
  $P "$RUNS" "cold extraction, frames $size, one core: launcher (A) vs zstd -d -T0 + sync -f (B)" -- taskset -c 0 "${B[@]}" -- taskset -c 0 "${REF[@]}" -- rm -rf "$W/c-$size" -- "${REF_PREP[@]}"
  load
  rm -rf "$W/c-$size"
  rss=$( { /usr/bin/time -f %M "${B[@]}" >/dev/null; } 2>&1 | tail -1)
  echo "peak RSS of a cold run: $rss KiB"
  rm -rf "$W/c-$size" "$W/b-$size"
done
