#!/usr/bin/env bash
# Installs the release's .deb and .rpm into fresh roots and runs dgmo there.
#
#   scripts/install-test.sh [RELEASE_DIR]      (default dist/release; `make release` makes it)
#
# .deb: a root holding only the C library (Debian's libc6 files, registered in a new dpkg
#       database so `Depends: libc6` is met by what is really there); `dpkg --root -i`, then
#       `dgmo --version` inside it (chroot), then `dpkg --root -r`, which must leave no dgmo file.
# .rpm: `rpm -i --root` into a new root (rpm database created there; --nodeps: the root's libc is
#       Debian's, not an rpm), the same run, then `rpm -e --root`.
# Needs root (chroot, mount).
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd "$(dirname "$0")/.."
REL=${1:-dist/release}
[ "$(id -u)" -eq 0 ] || { echo "install-test: needs root (chroot, mount)" >&2; exit 2; }
# Exactly one package of each kind: with two versions in the directory, say which and stop.
one() {
  local found=() f
  for f in "$REL"/$1; do [ -e "$f" ] && found+=("$f"); done
  if [ "${#found[@]}" -ne 1 ]; then
    echo "install-test: $REL must hold exactly one $1, found ${#found[@]}${found[*]:+: ${found[*]}}" >&2
    exit 2
  fi
  printf '%s\n' "${found[0]}"
}
DEB=$(one 'dgmo_*_amd64.deb')
RPM=$(one 'dgmo-*.x86_64.rpm')
VERSION=$(dpkg-deb -f "$DEB" Version); VERSION=${VERSION%-*}

W=$(mktemp -d /tmp/dgmo-install.XXXXXX)
cleanup() { for r in "$W"/*/proc; do umount "$r" 2>/dev/null || true; done; rm -rf --one-file-system "$W"; }
trap cleanup EXIT

. scripts/lib/libc-root.sh
libc_root() { make_libc_root "$1"; mount -t proc proc "$1/proc"; }

run_in() { env -i "$(command -v chroot)" "$1" /usr/bin/dgmo "${@:2}"; }

echo "== .deb: $(basename "$DEB")"
D=$W/deb
libc_root "$D"
mkdir -p "$D/var/lib/dpkg/info" "$D/var/lib/dpkg/updates"
dpkg-query -s "$(native_libc6)" | grep -vE '^(Conffiles|Depends|Recommends|Suggests|Breaks|Pre-Depends|Replaces|Provides|Conflicts):' \
  | grep -vE '^ ' > "$D/var/lib/dpkg/status"   # libc6 registered as installed: its files are there
dpkg-query -L "$(native_libc6)" > "$D/var/lib/dpkg/info/$(native_libc6).list"
touch "$D/var/lib/dpkg/available"
dpkg --root="$D" --force-not-root --log=/dev/null -i "$DEB"
out=$(run_in "$D" --version); echo "$out"
[ "$out" = "DGMO v$VERSION" ] || { echo "install-test: deb: unexpected output" >&2; exit 1; }
dpkg --root="$D" -L dgmo | grep -qx /usr/bin/dgmo
dpkg --root="$D" --log=/dev/null -r dgmo
[ ! -e "$D/usr/bin/dgmo" ] && [ ! -e "$D/usr/share/doc/dgmo" ] && [ ! -e "$D/usr/share/man/man1/dgmo.1.gz" ] \
  || { echo "install-test: deb: files left after dpkg -r" >&2; exit 1; }
echo "dpkg -r: removed cleanly"

echo "== .rpm: $(basename "$RPM")"
R=$W/rpm
libc_root "$R"
rpm --root "$R" --initdb
rpm --root "$R" -i --nodeps "$RPM"
out=$(run_in "$R" --version); echo "$out"
[ "$out" = "DGMO v$VERSION" ] || { echo "install-test: rpm: unexpected output" >&2; exit 1; }
rpm --root "$R" -q dgmo
rpm --root "$R" -e dgmo
[ ! -e "$R/usr/bin/dgmo" ] || { echo "install-test: rpm: /usr/bin/dgmo left after rpm -e" >&2; exit 1; }
echo "rpm -e: removed cleanly"
echo "install-test: OK"
