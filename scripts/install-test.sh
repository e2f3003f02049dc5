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
# linux-arm64: when RELEASE_DIR holds the arm64 .deb and .rpm, the same again in arm64 roots (the
#       files of this machine's libc6:arm64, which the arm64 cross toolchain installs), where
#       `dgmo --version` runs under qemu-aarch64-static through binfmt_misc (registered for the run
#       with flag F, so it works inside the chroot; scripts/lib/qemu-binfmt.sh).
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
W=$(mktemp -d /tmp/dgmo-install.XXXXXX)
binfmt=0
cleanup() {
  for r in "$W"/*/proc; do umount "$r" 2>/dev/null || true; done; rm -rf --one-file-system "$W"
  if [ $binfmt = 1 ]; then bash scripts/lib/qemu-binfmt.sh unregister $$; fi
}
trap cleanup EXIT

. scripts/lib/libc-root.sh
libc_root() { make_libc_root "$1" "$LIBC6"; mount -t proc proc "$1/proc"; }

run_in() { env -i "$(command -v chroot)" "$1" /usr/bin/dgmo "${@:2}"; }

# install_test DEB_ARCH RPM_ARCH: the .deb and the .rpm of one architecture.
install_test() {
DEB=$(one "dgmo_*_$1.deb")
RPM=$(one "dgmo-*.$2.rpm")
VERSION=$(dpkg-deb -f "$DEB" Version); VERSION=${VERSION%-*}
if [ "$1" = "$(dpkg --print-architecture)" ]; then LIBC6=$(native_libc6); else LIBC6=libc6:$1; fi
dpkg-query -W "$LIBC6" >/dev/null 2>&1 || { echo "install-test: $LIBC6 is not installed (scripts/lib/arm64-toolchain.sh installs it)" >&2; exit 2; }

echo "== .deb: $(basename "$DEB")"
D=$W/deb-$1
libc_root "$D"
mkdir -p "$D/var/lib/dpkg/info" "$D/var/lib/dpkg/updates"
dpkg-query -s "$LIBC6" | grep -vE '^(Conffiles|Depends|Recommends|Suggests|Breaks|Pre-Depends|Replaces|Provides|Conflicts):' \
  | grep -vE '^ ' > "$D/var/lib/dpkg/status"   # libc6 registered as installed: its files are there
dpkg-query -L "$LIBC6" > "$D/var/lib/dpkg/info/$LIBC6.list"
touch "$D/var/lib/dpkg/available"
[ "$1" = "$(dpkg --print-architecture)" ] || dpkg --root="$D" --add-architecture "$1"
dpkg --root="$D" --force-not-root --log=/dev/null -i "$DEB"
out=$(run_in "$D" --version); echo "$out"
[ "$out" = "DGMO v$VERSION" ] || { echo "install-test: deb: unexpected output" >&2; exit 1; }
dpkg --root="$D" -L dgmo | grep -qx /usr/bin/dgmo
dpkg --root="$D" --log=/dev/null -r dgmo
[ ! -e "$D/usr/bin/dgmo" ] && [ ! -e "$D/usr/share/doc/dgmo" ] && [ ! -e "$D/usr/share/man/man1/dgmo.1.gz" ] \
  || { echo "install-test: deb: files left after dpkg -r" >&2; exit 1; }
echo "dpkg -r: removed cleanly"

echo "== .rpm: $(basename "$RPM")"
R=$W/rpm-$2
libc_root "$R"
rpm --root "$R" --initdb
rpm --root "$R" -i --nodeps $([ "$2" = "$(uname -m)" ] || echo --ignorearch) "$RPM"
out=$(run_in "$R" --version); echo "$out"
[ "$out" = "DGMO v$VERSION" ] || { echo "install-test: rpm: unexpected output" >&2; exit 1; }
rpm --root "$R" -q dgmo
rpm --root "$R" -e dgmo
[ ! -e "$R/usr/bin/dgmo" ] || { echo "install-test: rpm: /usr/bin/dgmo left after rpm -e" >&2; exit 1; }
echo "rpm -e: removed cleanly"
}

install_test "$(dpkg --print-architecture)" "$(uname -m)"
if compgen -G "$REL/dgmo_*_arm64.deb" >/dev/null || compgen -G "$REL/dgmo-*.aarch64.rpm" >/dev/null; then
  # A failed registration stops the script (set -e) rather than running the arm64 tests without qemu.
  bash scripts/lib/qemu-binfmt.sh register $$
  binfmt=1
  install_test arm64 aarch64
fi
echo "install-test: OK"
