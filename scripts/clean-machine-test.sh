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

. "$(dirname "$0")/lib/libc-root.sh"
make_libc_root "$root"
mkdir -p "$root/work"
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
