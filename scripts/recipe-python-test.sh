#!/usr/bin/env bash
# Follows docs/recipes.md's Python recipe (pyfiglet from PyPI, PyInstaller onedir, one layer)
# literally: its commands are read from the doc (scripts/lib/recipe-doc.sh) and run in an empty
# directory, with the bundle-append under test first on PATH. Then checks that the bundle prints
# what the onedir prints when run directly (--version, and text drawn with fonts from the layer),
# that `verify` and `inspect` accept it, that `--launcher info` shows the spec's metadata and the
# layer extracted into the cache the test gave it, and that the SBOM names pyfiglet.
#
# Downloads come from PyPI, pinned by the doc's hashes, and stay in the clone
# (.build-dgmo/pip-cache; PyInstaller's own cache in .build-dgmo/pyinstaller-recipe), so later
# runs need no network. About 1-2 minutes on 2 cores, most of it PyInstaller.
#
# usage: scripts/recipe-python-test.sh
#   BUNDLE_APPEND: the tool to test (default: the debug build's, `swift build --show-bin-path`)
#   BUNDLE_APPEND_STUB: its linux-x64 stub (default: the tool's own choice, stubs/ beside it)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

die() { echo "recipe-python-test: $*" >&2; exit 1; }

tool=${BUNDLE_APPEND:-$(swift build --show-bin-path)/bundle-append}
[ -x "$tool" ] || die "no bundle-append at $tool (run swift build, or set BUNDLE_APPEND)"
work=$root/.build-dgmo/recipe-python
# shellcheck source=scripts/lib/recipe-doc.sh
. scripts/lib/recipe-doc.sh
recipe_workspace "$tool" "$work" python
grep -q 'bundle-append build' "$work/recipe.sh" || die "docs/recipes.md's python recipe has no build step"
echo "recipe-python-test: running docs/recipes.md's python recipe in $work/app ($(grep -c . "$work/recipe.sh") lines)"
if ! (cd "$work/app" && bash -euo pipefail "$work/recipe.sh") > "$work/recipe.log" 2>&1; then
  tail -n 30 "$work/recipe.log" >&2
  die "the recipe failed (whole log: $work/recipe.log)"
fi

cd "$work/app"
{ [ -x pyfiglet ] && [ -x dist/pyfiglet/pyfiglet ]; } || die "the recipe made no bundle ./pyfiglet or no onedir"
same() {
  local want got
  want=$(dist/pyfiglet/pyfiglet "$@" 2>&1) || die "the onedir failed: pyfiglet $*"
  got=$(./pyfiglet "$@" 2>&1) || die "the bundle failed: pyfiglet $*"
  [ "$want" = "$got" ] || die "pyfiglet $*: the bundle printed something else than the onedir:
$got
--- the onedir:
$want"
  [ -n "$got" ] || die "pyfiglet $*: printed nothing"
}
same --version
[ "$(./pyfiglet --version)" = "1.0.4" ] || die "the bundle's --version is not the pinned 1.0.4"
same -f slant "Hello, bundle"
same -f banner3 -w 60 "from a layer"

verify=$(bundle-append verify pyfiglet --pubkey pyfiglet.pub) || die "verify refused the bundle"
grep -q ': OK' <<<"$verify" || die "verify did not say OK: $verify"
inspect=$(bundle-append inspect pyfiglet) || die "inspect failed"
grep -Eq '^signed: +yes' <<<"$inspect" || die "inspect does not show the bundle signed: $inspect"
info=$(./pyfiglet --launcher info) || die "--launcher info failed"
grep -Eq '^app: +pyfiglet' <<<"$info" || die "--launcher info does not name the app: $info"
grep -Eq "^cache: +$work/cache/" <<<"$info" || die "--launcher info shows another cache than \$XDG_CACHE_HOME's: $info"
grep -Eq '^ *app +zstd\+x86 .* yes ' <<<"$info" || die "--launcher info does not show layer 'app' extracted: $info"
grep -q 'https://github.com/pwaller/pyfiglet' <<<"$info" || die "--launcher info does not show the spec's homepage: $info"
grep -q '"purl" *: *"pkg:pypi/pyfiglet@1.0.4"' pyfiglet.cdx.json \
  || die "the SBOM (--launcher sbom > pyfiglet.cdx.json) does not name pkg:pypi/pyfiglet@1.0.4"
echo "recipe-python-test: ok: the bundle ($(stat -c %s pyfiglet) bytes) prints what the onedir prints; verify, inspect and --launcher info agree"
