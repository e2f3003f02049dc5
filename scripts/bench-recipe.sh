#!/usr/bin/env bash
# PyInstaller --onefile against our bundle, for docs/recipes.md's Python recipe (pyfiglet), from
# one interleaved run on this machine; prints a markdown table (the one in docs/recipes.md):
# warm and cold start of `--version` (medians, and in how many pairs the bundle was faster), file
# size, bytes written per run to $TMPDIR (and to the bundle's cache), and what is left after a
# SIGKILL of the process started while the app runs (scripts/lib/recipe-bench.py says how).
#
# The bundle is built by running the recipe's commands from docs/recipes.md
# (scripts/lib/recipe-doc.sh); the onefile by the same venv, script and PyInstaller flags with
# --onefile instead of --onedir. Measure with the release stub (what users get): the default
# tool is the release build's, whose stubs/ `make stubs` fills.
#
# usage: scripts/bench-recipe.sh [PAIRS]        (default 20)
#   BUNDLE_APPEND: the tool (default: `swift build -c release --show-bin-path`/bundle-append)
#   BUNDLE_APPEND_STUB: its linux-x64 stub, if not the one beside it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pairs=${1:-20}

die() { echo "bench-recipe: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is needed"

tool=${BUNDLE_APPEND:-$(swift build -c release --show-bin-path)/bundle-append}
[ -x "$tool" ] || die "no bundle-append at $tool (swift build -c release && make stubs, or set BUNDLE_APPEND)"
work=$root/.build-dgmo/recipe-bench
# shellcheck source=scripts/lib/recipe-doc.sh
. scripts/lib/recipe-doc.sh
recipe_workspace "$tool" "$work" python
echo "bench-recipe: building the recipe's bundle and PyInstaller --onefile in $work/app" >&2
(cd "$work/app" && bash -euo pipefail "$work/recipe.sh") > "$work/build.log" 2>&1 \
  || { tail -n 30 "$work/build.log" >&2; die "the recipe failed (log: $work/build.log)"; }
cd "$work/app"
# The recipe's PyInstaller command, with --onefile for --onedir, into another dist directory.
pyi=$(grep -A1 -- '--onedir' "$work/recipe.sh" | sed -e 's/\\$//' | tr '\n' ' ')
[ -n "$pyi" ] || die "no PyInstaller --onedir command in the recipe"
eval "${pyi/--onedir/--onefile} --distpath onefile --workpath build-onefile" >> "$work/build.log" 2>&1 \
  || die "PyInstaller --onefile failed (log: $work/build.log)"
[ "$(onefile/pyfiglet --version)" = "$(./pyfiglet --version)" ] || die "the onefile and the bundle disagree on --version"
echo "bench-recipe: $(bundle-append inspect pyfiglet | grep -E '^size:'); $pairs pairs" >&2

text=$(printf 'The quick brown fox jumps over the lazy dog. %.0s' $(seq 40))
python3 "$root/scripts/lib/recipe-bench.py" "$pairs" onefile/pyfiglet ./pyfiglet dist/pyfiglet/pyfiglet \
  "$work/cache" "$work/tmp" -- --version -- -f banner3 -w 100 "$text"
