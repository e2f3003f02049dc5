# shellcheck shell=bash
# Sourced by fresh-machine-test.sh.
#
# fresh_base_root PACKAGES_FILE CACHE_DIR: prints the path of a clean Debian bookworm root
# (`debootstrap --variant=minbase`) holding exactly the packages PACKAGES_FILE names, made once per
# content of that file and of this script (their hash names the directory under CACHE_DIR), and
# reused afterwards. It is built in DIR.partial and renamed only when debootstrap succeeded, so an
# interrupted run never leaves a half-made root that a later run would trust. Concurrent callers
# wait for each other (flock). Callers never write to it: each test runs in an overlay on top.
# Needs root and the Debian registry; about 3 minutes the first time.
FRESH_MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}

# The package names of PACKAGES_FILE, comma-separated (comments and blank lines dropped).
fresh_packages() {
  sed -e 's/#.*//' "$1" | tr -s ' \t\n' '\n' | grep -v '^$' | paste -sd, -
}

fresh_base_root() {
  local list=$1 cache=$2 key root
  key=$( { cat "$list"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
  root="$cache/base-bookworm-$key"
  mkdir -p "$cache"
  (
    flock 9
    if [ -f "$root/.dgmo-root-complete" ]; then exit 0; fi
    rm -rf --one-file-system "$root.partial" "$root"
    echo "fresh-machine: making a clean Debian bookworm root in $root (debootstrap --variant=minbase, about 3 minutes, once)" >&2
    debootstrap --variant=minbase --include="$(fresh_packages "$list")" bookworm "$root.partial" "$FRESH_MIRROR" \
      > "$root.log" 2>&1 || { echo "fresh-machine: debootstrap failed; see $root.log" >&2; exit 1; }
    rm -rf "$root.partial/var/cache/apt/archives/"*.deb
    date -u +%FT%TZ > "$root.partial/.dgmo-root-complete"
    mv "$root.partial" "$root"
  ) 9> "$cache/base.lock" || return 1
  echo "$root"
}
