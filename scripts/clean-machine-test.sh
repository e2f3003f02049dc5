#!/usr/bin/env bash
# Runs a DGMO binary on a "clean machine": a root filesystem holding only the C library (the files
# of Debian's libc6 package), a root entry in /etc/passwd, /dev/{null,zero,random,urandom} and /proc.
# No python, bun, go or node; no network (a new network namespace); an empty environment.
#
#   scripts/clean-machine-test.sh dist/dgmo-linux-x64
#
# Needs root (chroot, mount, mknod, unshare). Prints each command and its output; exits non-zero
# on the first failure. The root is removed afterwards.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
binary=${1:?usage: clean-machine-test.sh BINARY}
[ -f "$binary" ] || { echo "clean-machine-test: no such file: $binary" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "clean-machine-test: needs root (chroot, mount)" >&2; exit 2; }

root=$(mktemp -d /tmp/dgmo-clean-root.XXXXXX)
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

# Debian's merged /usr: /lib, /lib64 (and /bin, /sbin) are symlinks into /usr; mirror them first.
for l in lib lib64 bin sbin; do
  if [ -L "/$l" ]; then
    target=$(readlink "/$l"); mkdir -p "$root/${target#/}"; ln -s "$target" "$root/$l"
  fi
done
# The C library and nothing else: every file (and library symlink) Debian's libc6 package installs.
dpkg-query -L libc6 | while read -r f; do
  [ -d "$f" ] && [ ! -L "$f" ] && continue
  case "$f" in /usr/share/*|/lib|/lib64|/bin|/sbin) continue ;; esac
  [ -e "$f" ] || [ -L "$f" ] || continue
  mkdir -p "$root$(dirname "$f")"
  cp -a "$f" "$root$f"
done
mkdir -p "$root"/{etc,root,tmp,proc,dev,work}
chmod 1777 "$root/tmp"
echo "root:x:0:0:root:/root:/nonexistent" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
cp "$binary" "$root/dgmo"

for tool in python python3 bun go node sh bash env; do
  if [ -n "$(find "$root" -name "$tool" | head -1)" ]; then
    echo "clean-machine-test: $tool found in the clean root" >&2; exit 1
  fi
done
echo "clean root: $(du -sh "$root" | cut -f1), $(find "$root" -type f | wc -l) files (libc6 and the binary)"
# The static Swift runtime needs /proc (docs/format.md); every real machine has it.
mount -t proc proc "$root/proc"

# env(1) is not in libc6; run the binary with an empty environment through unshare's own exec instead.
run() {
  echo "\$ dgmo $*"
  env -i "$(command -v unshare)" --net -- "$(command -v chroot)" "$root" /dgmo "$@"
}
cd "$root/work"
run --version
run help
run evolve --seed 1 --generations 3
run sysinfo
run --launcher info
