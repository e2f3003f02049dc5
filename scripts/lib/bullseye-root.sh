# Sourced by old-system-test.sh.
#
# bullseye_root DIR: makes DIR a Debian 11 (bullseye, glibc 2.31) root with
# `debootstrap --variant=minbase` once, and reuses it afterwards. It is built in DIR.partial
# and renamed only when debootstrap succeeded, so an interrupted run never leaves a half-made
# root that a later run would trust; a leftover DIR.partial is removed first. Concurrent
# callers wait for each other (flock on DIR.lock). Needs root and the network (the Debian
# registry); about 100 s the first time.
BULLSEYE_MIRROR=${BULLSEYE_MIRROR:-http://deb.debian.org/debian}

bullseye_root() {
  local root=$1
  mkdir -p "$(dirname "$root")"
  (
    flock 9
    if [ -f "$root/.dgmo-root-complete" ]; then exit 0; fi
    rm -rf --one-file-system "$root.partial" "$root"
    echo "making a Debian 11 root in $root (debootstrap --variant=minbase bullseye, about 100 s)" >&2
    debootstrap --variant=minbase bullseye "$root.partial" "$BULLSEYE_MIRROR" > "$root.log" 2>&1 \
      || { echo "bullseye-root: debootstrap failed; see $root.log" >&2; exit 1; }
    # The root must be what it claims: glibc 2.31.
    # sed reads all of ldd's output: with head, ldd could die of SIGPIPE (status 141), and pipefail
    # made that fail the whole script after a good debootstrap.
    ldd_version=$(chroot "$root.partial" /usr/bin/ldd --version | sed -n 1p)
    case "$ldd_version" in *2.31*) ;; *) echo "bullseye-root: unexpected C library: $ldd_version" >&2; exit 1 ;; esac
    rm -rf "$root.partial/var/cache/apt/archives/"*.deb
    echo "$ldd_version" > "$root.partial/.dgmo-root-complete"
    mv "$root.partial" "$root"
  ) 9> "$root.lock"
}
