# shellcheck shell=bash
# Sourced by the scripts that cross-build for linux-arm64 (build-stub.sh, install-deps.sh, the arm64
# tests); also runnable on its own (`scripts/lib/arm64-toolchain.sh` prints the exports).
#
# Sourcing it runs arm64_toolchain, which makes sure this x86_64 Debian machine can cross-build
# and run linux-arm64 programs, installing only what is missing, then exports
#   ARM64_CC       the C driver for aarch64 Linux (Debian's cross gcc, aarch64-linux-gnu-gcc)
#   ARM64_LDFLAGS  flags for linking with it: -fuse-ld=lld (GNU ld fails on the Embedded Swift objects
#                  with "copy relocation against non-copyable protected symbol"), -B to the directory of
#                  the ld.lld it found, -L to the arm64 static libraries (libsodium, libzstd, liblzma, libz)
#   ARM64_SYSROOT  the cross C library's root (include/ and lib/ of glibc for aarch64), for a compiler
#                  that does not know it by itself (swiftc/clang with -target aarch64-none-none-elf)
#   ARM64_LIBDIR   where the arm64 static libraries are (/usr/lib/aarch64-linux-gnu)
#   ARM64_QEMU     qemu-aarch64-static, which runs an arm64 program on this machine
#
# Why these pieces (docs/platforms.md): Debian multiarch (`dpkg --add-architecture arm64`) gives the
# arm64 builds of the four C libraries as .a files, gcc-aarch64-linux-gnu gives the static glibc and the
# driver, qemu-user-static runs the result. ld.lld is the Swift toolchain's (beside swiftc) when it
# has one, else Debian's `lld`.
#
# Idempotent and quiet when everything is there. Installing needs root (or sudo) and the Debian
# registry; `apt-get update` runs at most once per call, and only when something is missing.
# Concurrent callers wait for each other (flock), so two scripts never run apt at the same time.

# deb_missing: every package named for its architecture (bare = this machine's, NAME:arm64).
# shellcheck source=scripts/lib/deb-packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/deb-packages.sh"

arm64_toolchain() {
  # DGMO_ARM64_LIBDIR: the arm64 static libraries somewhere else (a sysroot; the tests' shims).
  local libdir=${DGMO_ARM64_LIBDIR:-/usr/lib/aarch64-linux-gnu}
  # The cross compiler, its C library and qemu are this machine's own packages (bare names); the
  # four C libraries are arm64's.
  local packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross
                  libsodium-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 zlib1g-dev:arm64
                  qemu-user-static)
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"

  # ld.lld: the Swift toolchain's if it has one (no package needed), else Debian's lld.
  local lld="" swiftc_path
  swiftc_path=$(command -v swiftc 2>/dev/null || true)
  if [ -n "$swiftc_path" ] && [ -x "$(dirname "$(readlink -f "$swiftc_path")")/ld.lld" ]; then
    lld="$(dirname "$(readlink -f "$swiftc_path")")/ld.lld"
  elif command -v ld.lld >/dev/null 2>&1; then
    lld=$(command -v ld.lld)
  else
    packages+=(lld)
  fi

  local missing=()
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    missing=("${packages[@]}")
  else
    mapfile -t missing < <(deb_missing "${packages[@]}")
  fi

  if [ ${#missing[@]} -gt 0 ]; then
    echo "arm64-toolchain: installing ${missing[*]}" >&2
    (
      flock 9
      if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        $sudo dpkg --add-architecture arm64 || exit 1
      fi
      export DEBIAN_FRONTEND=noninteractive
      $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq || exit 1
      $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || exit 1
    ) 9> /tmp/dgmo-arm64-toolchain.lock \
      || { echo "arm64-toolchain: could not install ${missing[*]} (apt-get failed; see above)" >&2; return 1; }
    [ -n "$lld" ] || lld=$(command -v ld.lld 2>/dev/null || true)
  fi

  if [ -z "$lld" ] || [ ! -x "$lld" ]; then
    echo "arm64-toolchain: no ld.lld found (neither beside swiftc nor on PATH after installing lld)" >&2
    return 1
  fi
  local lib
  for lib in libsodium.a libzstd.a liblzma.a libz.a; do
    [ -f "$libdir/$lib" ] || { echo "arm64-toolchain: $libdir/$lib is missing after installing" >&2; return 1; }
  done
  command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 \
    || { echo "arm64-toolchain: aarch64-linux-gnu-gcc is missing after installing" >&2; return 1; }
  command -v qemu-aarch64-static >/dev/null 2>&1 \
    || { echo "arm64-toolchain: qemu-aarch64-static is missing after installing" >&2; return 1; }

  export ARM64_CC=aarch64-linux-gnu-gcc
  ARM64_LDFLAGS="-fuse-ld=lld -B${lld%/*} -L$libdir"
  export ARM64_LDFLAGS
  export ARM64_SYSROOT=/usr/aarch64-linux-gnu
  export ARM64_LIBDIR=$libdir
  export ARM64_QEMU
  ARM64_QEMU=$(command -v qemu-aarch64-static)
}

# Sourced: set up and export now (the `.` command fails when that fails; calling arm64_toolchain
# again later is cheap). Run directly: set up, then print the exports for `eval`.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  arm64_toolchain
  for v in ARM64_CC ARM64_LDFLAGS ARM64_SYSROOT ARM64_LIBDIR ARM64_QEMU; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
else
  arm64_toolchain
fi
