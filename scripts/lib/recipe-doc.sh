# shellcheck shell=bash
# Sourced. `recipe_script NAME` prints the commands of docs/recipes.md's recipe NAME as one
# script: every ```sh block between the lines `<!-- recipe: NAME -->` and `<!-- /recipe -->`, in
# order, except a block right after a line `<!-- not run -->` (timings, which a test need not
# repeat). The doc is the only copy of the recipe: scripts/recipe-python-test.sh and
# scripts/bench-recipe.sh run what it says, so the two cannot drift apart.
recipe_script() {
  local doc
  doc="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/docs/recipes.md"
  awk -v name="$1" '
    $0 == "<!-- recipe: " name " -->" { inside = 1; found = 1; next }
    inside && $0 == "<!-- /recipe -->" { inside = 0; next }
    !inside { next }
    $0 == "<!-- not run -->" { skip = 1; next }
    !fence && /^```sh$/ { fence = 1; blocks++; next }
    fence && /^```$/ { fence = 0; skip = 0; next }
    fence && !skip { print }
    END {
      if (!found) { print "recipe-doc: no recipe \"" name "\" in " FILENAME > "/dev/stderr"; exit 1 }
      if (fence) { print "recipe-doc: an unclosed code block in " FILENAME > "/dev/stderr"; exit 1 }
    }' "$doc"
}

# `recipe_workspace TOOL WORK NAME`: an empty WORK with `bin/bundle-append` (a link to TOOL, so the
# recipe's commands find the tool by name, as a user with the release archive's bin/ on PATH does),
# `app/` to run in, and `recipe.sh` (recipe NAME); exports PATH, the pinned downloads' caches in
# the clone (.build-dgmo) and XDG_CACHE_HOME=WORK/cache, the bundle's cache whatever its launcher's
# variable is called. For scripts/recipe-python-test.sh and scripts/bench-recipe.sh.
recipe_workspace() {
  local tool=$1 work=$2 name=$3 root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  tool=$(cd "$(dirname "$tool")" && pwd)/$(basename "$tool")
  rm -rf "$work"
  mkdir -p "$work/bin" "$work/app"
  ln -s "$tool" "$work/bin/bundle-append"
  recipe_script "$name" > "$work/recipe.sh"
  export PATH=$work/bin:$PATH PIP_CACHE_DIR=$root/.build-dgmo/pip-cache
  export PYINSTALLER_CONFIG_DIR=$root/.build-dgmo/pyinstaller-recipe XDG_CACHE_HOME=$work/cache
}
