#!/usr/bin/env bash
# Runs lintian on the release's .deb and rpmlint on its .rpm, the way anyone else would, and
# fails on any tag that docs/release.md ("Linter tags") does not list with its reason.
#
#   scripts/lint-packages.sh [RELEASE_DIR]      (default dist/release)
#
# lintian: the overrides ship inside the package (usr/share/lintian/overrides/dgmo), so a plain
#   `lintian dgmo_*.deb` must print no error or warning; --show-overrides lists what they hide.
# rpmlint: run plainly (every tag it reports), then with packaging/rpmlint.toml (must be clean).
set -euo pipefail
cd "$(dirname "$0")/.."
REL=${1:-dist/release}
DEB=$(ls "$REL"/dgmo_*_amd64.deb) RPM=$(ls "$REL"/dgmo-*.x86_64.rpm)
DOC=docs/release.md
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# The accepted tags: rows "| lintian | `tag` | reason |" and "| rpmlint | `tag` | reason |".
accepted() { awk -F'|' -v tool="$1" '$2 ~ "^ *"tool" *$" { gsub(/[ `]/, "", $3); print $3 }' "$DOC" | sort -u; }
accepted lintian > "$W/lintian.accepted"; accepted rpmlint > "$W/rpmlint.accepted"
status=0

lintian --tag-display-limit 0 --show-overrides "$DEB" > "$W/lintian.txt" 2>&1 || true
grep -vE '^running with root privileges' "$W/lintian.txt" | sed 's/^/lintian: /' || true
if grep -qE '^[EW]: ' "$W/lintian.txt"; then
  echo "lint-packages: lintian reports errors or warnings the package's overrides do not cover" >&2; status=1
fi
sed -nE 's/^[EWIO]: dgmo[^:]*: ([a-z0-9-]+).*/\1/p' "$W/lintian.txt" | sort -u > "$W/lintian.tags"

rpmlint "$RPM" > "$W/rpmlint.txt" 2>&1 || true
sed -nE 's/^dgmo[^:]*: [EW]: ([a-z0-9-]+).*/\1/p' "$W/rpmlint.txt" | sort -u > "$W/rpmlint.tags"
sed 's/^/rpmlint (plain): /' "$W/rpmlint.txt" | grep -E ': dgmo|checked' || true
rpmlint -c packaging/rpmlint.toml "$RPM" > "$W/rpmlint-config.txt" 2>&1 || true
summary=$(grep -E 'packages and .* checked' "$W/rpmlint-config.txt" || true)
echo "rpmlint (with packaging/rpmlint.toml): $summary"
if grep -qE '^dgmo[^:]*: [EW]: ' "$W/rpmlint-config.txt" || ! echo "$summary" | grep -q ' 0 errors, 0 warnings'; then
  echo "lint-packages: rpmlint with packaging/rpmlint.toml is not clean:" >&2; cat "$W/rpmlint-config.txt" >&2; status=1
fi

for tool in lintian rpmlint; do
  unlisted=$(comm -23 "$W/$tool.tags" "$W/$tool.accepted")
  if [ -n "$unlisted" ]; then
    echo "lint-packages: $tool tags not listed in $DOC: $(echo $unlisted)" >&2; status=1
  fi
  echo "$tool tags (all listed in $DOC): $(echo $(cat "$W/$tool.tags"))"
done
[ $status -eq 0 ] && echo "lint-packages: clean"
exit $status
