#!/usr/bin/env bash
# What the automatic collection costs a launch (docs/ops.md, "Automatic collection"; figures in
# docs/benchmarks.md, "Issue 28: automatic collection"):
#   1. a warm launch when not due (every launch but one a day): default against <APP>_CACHE_GC=off,
#      and one that finds its cache through HOME (the no-usable-home check) against the variable,
#      both as interleaved pairs (scripts/lib/interleaved.py);
#   2. a launch due to collect with nothing to collect (the stamp 2 days old, every layer recent);
#   3. a launch due to collect that removes a 54 MiB, 1,500-file layer (/usr/lib/python3.*) that
#      another app last used 40 days ago; 2 and 3 against the same cache with the collection off.
# The app is a static `return 0` program in one layer. Cases 2 and 3 copy a prepared cache
# (`cp -a`, keeping the aged mtimes) before each run.
# usage: scripts/bench-cache-gc.sh [STUB] [BUNDLE-APPEND]   (default: the release stub, the debug tool)
set -euo pipefail
cd "$(dirname "$0")/.."
stub=${1:-$(swift build -c release --show-bin-path)/stubs/linux-x64/bundle-stub}
tool=${2:-$(swift build --show-bin-path)/bundle-append}
py=$(find /usr/lib -maxdepth 1 -name 'python3.*' -type d | sort | tail -1)
if [ ! -x "$stub" ] || [ ! -x "$tool" ] || [ -z "$py" ]; then
  echo "bench-cache-gc: need $stub, $tool and /usr/lib/python3.*" >&2
  exit 1
fi
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/app/t" "$w/big"
printf 'int main(void) { return 0; }\n' >"$w/true.c"
gcc -static -O2 -o "$w/app/t/true" "$w/true.c"
cp -a "$py" "$w/big/py"
find "$w/big/py" -type l -delete  # links out of the layer are refused
"$tool" keygen "$w/k" >/dev/null
# env-prefix: the launcher's variables are APP_* and BIG_* (the default would be APP_LAUNCHER_*).
printf '[bundle]\nname = "app"\nversion = "1"\nenv-prefix = "APP"\n[layers.t]\npath = "t"\n[entries.app]\nexec = ["{t}/true"]\n' >"$w/app/s.toml"
printf '[bundle]\nname = "big"\nversion = "1"\nenv-prefix = "BIG"\n[layers.py]\npath = "py"\n[entries.big]\nexec = ["/bin/true"]\nlayers = ["py"]\n' >"$w/big/s.toml"
"$tool" build "$w/app/s.toml" -o "$w/app.bin" --key "$w/k.key" --stub "$stub" -q
"$tool" build "$w/big/s.toml" -o "$w/big.bin" --key "$w/k.key" --stub "$stub" -q

# The prepared caches: both apps ran; `due` has the stamp 2 days old, `old` also big's record 40.
c=$w/cache
APP_CACHE_DIR=$c "$w/app.bin"
BIG_CACHE_DIR=$c "$w/big.bin"
echo "layers: $(du -sh "$c/layers" | cut -f1) in $(find "$c/layers" | wc -l) entries"
cp -a "$c" "$w/due"
touch -d '2 days ago' "$w/due/gc-stamp"
cp -a "$w/due" "$w/old"
for r in "$w/old/bundles/"*; do grep -q '^app=big$' "$r" && touch -d '40 days ago' "$r"; done

# Warm pairs, interleaved (A B, B A, ...) so load on a shared machine falls on both alike.
il=scripts/lib/interleaved.py
python3 "$il" 500 'warm, not due (A) vs APP_CACHE_GC=off (B)' \
  -- env APP_CACHE_DIR="$c" "$w/app.bin" -- env APP_CACHE_DIR="$c" APP_CACHE_GC=off "$w/app.bin"
# The no-usable-home check (CacheLocation.homeProblem) costs a launch that finds its cache through
# HOME one open of ~/.cache/<cache-name> (app-launcher); one given the variable skips it. Same cache.
mkdir -p "$w/home/.cache"
cp -a "$c" "$w/home/.cache/app-launcher"
python3 "$il" 500 'warm, cache found through HOME (A) vs through APP_CACHE_DIR (B)' \
  -- env -u XDG_CACHE_HOME HOME="$w/home" "$w/app.bin" -- env APP_CACHE_DIR="$w/home/.cache/app-launcher" "$w/app.bin"
for case in due old; do
  hyperfine -N --runs 30 --prepare "sh -c 'rm -rf $w/run; cp -a $w/$case $w/run; sync'" \
    -n "$case: collection" "env APP_CACHE_DIR=$w/run $w/app.bin" \
    -n "$case: APP_CACHE_GC=off" "env APP_CACHE_DIR=$w/run APP_CACHE_GC=off $w/app.bin"
done
rm -rf "$w/run"
cp -a "$w/old" "$w/run"
APP_CACHE_DIR=$w/run "$w/app.bin"
echo "after one collection of 'old': $(find "$w/run/layers" -mindepth 1 -maxdepth 1 | wc -l) layer(s) left (of 2)"
