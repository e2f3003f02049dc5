#!/usr/bin/env bash
# The windows-x64 launcher under wine 10, in one hyperfine run: the hello program (examples/hello/hello.c
# as a PE) started directly, then the hello bundle warm (layer cached) and cold (cache removed before
# each run). The ratios are what to quote; wine's own start-up is in all three.
#
# Usage: [BIN=DIR] scripts/bench-windows.sh [STUB]   (default: the release stub, <bin>/stubs/windows-x64/bundle-stub.exe)
# Needs: bundle-append (swift build -c release), hyperfine; installs the pinned zig and wine 10 into
# .build-dgmo/ when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(swift build -c release --show-bin-path)}   # BIN=<dir> takes the tools (and stub) from another build
STUB=${1:-$BIN/stubs/windows-x64/bundle-stub.exe}
[ -f "$STUB" ] || { echo "bench-windows: no stub at $STUB (make stubs-windows, or pass one)" >&2; exit 1; }
[ -x "$BIN/bundle-append" ] || { echo "bench-windows: no $BIN/bundle-append (swift build -c release)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench-windows: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
. scripts/lib/zig-toolchain.sh && zig_toolchain
. scripts/lib/wine-toolchain.sh && wine_toolchain
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-windows.XXXXXX")
trap '"$WINESERVER" -k 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$W/native"
$ZIG_CC -target x86_64-windows-gnu -municode -O2 -s -o "$W/native/hello.exe" examples/hello/hello.c
rm -f "$W/native/hello.pdb"
cat > "$W/spec.toml" <<'EOF'
[bundle]
name = "hello"
version = "1.0.0"
[layers.native]
path = "native"
compression = "zstd"
[entries.hello]
exec = ["{native}/hello.exe"]
default = true
EOF
"$BIN/bundle-append" keygen "$W/k" >/dev/null
"$BIN/bundle-append" build "$W/spec.toml" -o "$W/hello-bundle.exe" --key "$W/k.key" --target windows-x64 --stub "$STUB" -q
cache="Z:${W//\//\\}\\cache"
export HELLO_LAUNCHER_CACHE_DIR="$cache"
"$WINE" "$W/hello-bundle.exe" warm-up </dev/null >/dev/null   # starts the wineserver, fills the cache
echo "stub: $STUB ($(stat -c %s "$STUB") bytes)"
# One --prepare per command, in order: only the cold one empties the cache.
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --prepare true --prepare true --prepare "rm -rf $W/cache" \
  -n "hello.exe directly" "$WINE $W/native/hello.exe x" \
  -n "bundle, warm" "$WINE $W/hello-bundle.exe x" \
  -n "bundle, cold" "$WINE $W/hello-bundle.exe x"
