# Sourced by clean-machine-test.sh and install-test.sh.
#
# native_libc6: the C library package of this machine's own architecture, e.g. libc6:amd64. A bare
# `libc6` is ambiguous for dpkg-query once a foreign architecture's libc6 is installed too (cross
# builds, wine): "ambiguous package name 'libc6' with more than one installed instance".
native_libc6() { echo "libc6:$(dpkg --print-architecture)"; }

# make_libc_root DIR [PACKAGE]: a root filesystem holding only the C library — every file (and library
# symlink) of Debian's libc6 package (PACKAGE, default this machine's; libc6:arm64 for an arm64 root) — plus what any real machine has: a root line in
# /etc/passwd and /etc/group, /tmp, and /dev/{null,zero,random,urandom}. /proc is not mounted
# here (callers mount it after any checks that walk the tree).
make_libc_root() {
  local root=$1 package=${2:-$(native_libc6)} l target f
  mkdir -p "$root"
  # Debian's merged /usr: /lib, /lib64 (and /bin, /sbin) are symlinks into /usr; mirror them first.
  for l in lib lib64 bin sbin; do
    if [ -L "/$l" ]; then
      target=$(readlink "/$l"); mkdir -p "$root/${target#/}"; ln -s "$target" "$root/$l"
    fi
  done
  dpkg-query -L "$package" | while read -r f; do
    [ -d "$f" ] && [ ! -L "$f" ] && continue
    case "$f" in /usr/share/*|/lib|/lib64|/bin|/sbin) continue ;; esac
    [ -e "$f" ] || [ -L "$f" ] || continue
    mkdir -p "$root$(dirname "$f")"
    cp -a "$f" "$root$f"
  done
  mkdir -p "$root"/{etc,root,tmp,proc,dev}
  chmod 1777 "$root/tmp"
  echo "root:x:0:0:root:/root:/nonexistent" > "$root/etc/passwd"
  echo "root:x:0:" > "$root/etc/group"
  mknod -m 666 "$root/dev/null" c 1 3
  mknod -m 666 "$root/dev/zero" c 1 5
  mknod -m 666 "$root/dev/random" c 1 8
  mknod -m 666 "$root/dev/urandom" c 1 9
}
