#!/usr/bin/env bash
# Builds the launcher stub (Stub/ and the modules it links) as Embedded Swift into one small,
# fully static executable for a target (README.md, docs/platforms.md).
#
# Usage: scripts/build-stub.sh --target linux-x64|linux-arm64|windows-x64 [--debug] [--define NAME]... -o OUT
#   --debug        -Onone -DDEBUG (the failure injection of Sys exists), not stripped
#   --define NAME  an extra Swift compilation condition (scripts/bench.sh: BENCH_NO_DURABILITY)
#   --libc glibc   linux-x64 only: link against static glibc with gcc instead of musl (for the
#                  comparison in scripts/bench.sh; releases and tests use musl)
#
# Steps: each Swift module in link order with `-enable-experimental-feature Embedded -wmo`
# (-emit-module for the next one), then Stub/ itself (`-parse-as-library`: its entry point is a
# `@_cdecl("main")`), the C files of CPlatform and CKeySlot with the target's C compiler, then a
# static link against libsodium, libzstd, liblzma and zlib, then strip (release), then a check that
# the unpatched stub runs (natively, or under qemu-aarch64-static for arm64, or under wine for
# windows-x64 when scripts/lib/wine-toolchain.sh has installed it).
#
# windows-x64 (docs/platforms.md, "Windows x64 launcher"): Swift has no Windows module here, so each
# module is compiled to LLVM IR for x86_64-unknown-none-elf (which has the Embedded stdlib), and the
# IR is retargeted: triple x86_64-pc-windows-gnu, datalayout mangling `m:w`, the ELF-only
# `.swift1_autolink_entries` section dropped, and the Swift runtime's `free`/`posix_memalign`
# renamed to Stub/Link/windows-compat.c's (aligned memory on Windows is freed by _aligned_free).
# The toolchain's clang compiles the IR; `zig cc -target x86_64-windows-gnu` compiles the C side
# and links a PE against the C libraries built by scripts/lib/windows-clibs.sh. Only C structs of
# fixed-width fields may be read by the Swift side (an ELF triple is LP64; win64 is LLP64).
# One line per step; a failure is one line naming the step (the compiler's output above it).
set -euo pipefail

TARGET="" DEBUG="" OUT="" DEFINES=() LIBC=musl
usage="usage: build-stub.sh --target linux-x64|linux-arm64|windows-x64 [--debug] [--define NAME] [--libc musl|glibc] -o OUT"
while [ $# -gt 0 ]; do
  case "$1" in
    --target|--define|--libc|-o)
      [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#-}" = "$2" ] || { echo "build-stub: $1 needs a value ($usage)" >&2; exit 2; } ;;
  esac
  case "$1" in
    -h|--help) echo "$usage"; exit 0 ;;
    --target) TARGET="${2:-}"; shift 2 ;;
    --debug) DEBUG=1; shift ;;
    --define) DEFINES+=("-D" "${2:?--define needs a name}"); shift 2 ;;
    --libc) LIBC="${2:-}"; shift 2 ;;
    -o) OUT="${2:-}"; shift 2 ;;
    *) echo "build-stub: unknown argument '$1' ($usage)" >&2; exit 2 ;;
  esac
done
[ -n "$OUT" ] || { echo "build-stub: -o OUT is required ($usage)" >&2; exit 2; }
case "$TARGET" in
  linux-x64|linux-arm64|windows-x64) ;;
  *) echo "build-stub: --target must be linux-x64, linux-arm64 or windows-x64 (got '${TARGET}')" >&2; exit 2 ;;
esac
# OUT is relative to where we were called from; everything else to the repository root.
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
cd "$(dirname "$0")/.."
case "$TARGET:$LIBC" in
  *:musl|linux-x64:glibc) ;;
  *) echo "build-stub: --libc must be musl, or glibc for linux-x64 (got '$LIBC' for '$TARGET')" >&2; exit 2 ;;
esac

SWIFTC=${SWIFTC:-swiftc}
command -v "$SWIFTC" >/dev/null || { echo "build-stub: no Swift compiler: '$SWIFTC' is not on PATH (Swift 6.3 with Embedded Swift is needed)" >&2; exit 1; }
EMBEDDED_LIB="$(dirname "$(dirname "$(readlink -f "$(command -v "$SWIFTC")")")")/lib/swift/embedded"
# The C side and the link: `zig cc` against musl, fully static, for both targets (docs/platforms.md,
# "Why musl": measured smaller and faster to start than static glibc). zig is pinned from PyPI.
# shellcheck source=lib/zig-toolchain.sh
. scripts/lib/zig-toolchain.sh
zig_toolchain || { echo "build-stub: cannot install the pinned zig (scripts/lib/zig-toolchain.sh)" >&2; exit 1; }
read -r -a ZIG <<<"$ZIG_CC"
case "$TARGET" in
  linux-x64)
    TRIPLE=x86_64-unknown-linux-gnu
    CC=("${ZIG[@]}" -target x86_64-linux-musl)
    LIBDIR=/usr/lib/x86_64-linux-gnu
    STRIP=${STRIP:-strip}
    # The OS is a define, not os() (Sources/BundleLauncher/RunningTarget.swift): see linux-arm64's triple below.
    TARGET_SWIFT_FLAGS=(-D DGMO_TARGET_OS_LINUX)
    RUNNER=()
    ;;
  linux-arm64)
    # The Linux triple has no Embedded stdlib here; the bare-metal one works for Linux userspace
    # (docs/platforms.md). `#if os(Linux)` is false for it, so no Swift file relies on os().
    TRIPLE=aarch64-none-none-elf
    # shellcheck source=lib/arm64-toolchain.sh
    . scripts/lib/arm64-toolchain.sh
    arm64_toolchain || { echo "build-stub: the arm64 cross toolchain is not available (scripts/lib/arm64-toolchain.sh)" >&2; exit 1; }
    CC=("${ZIG[@]}" -target aarch64-linux-musl)
    LIBDIR=$ARM64_LIBDIR
    STRIP=${STRIP:-aarch64-linux-gnu-strip}
    RUNNER=("$ARM64_QEMU")
    # The C libraries' headers (zstd.h, lzma.h, ...) for the Swift side's module maps: the
    # bare-metal triple searches no system directory by itself.
    TARGET_SWIFT_FLAGS=(-D DGMO_TARGET_OS_LINUX -Xcc -isystem -Xcc "$ARM64_SYSROOT/include" -Xcc -isystem -Xcc /usr/include)
    ;;
  windows-x64)
    # IR for the bare-metal x86-64 triple, retargeted below (see the header of this file).
    TRIPLE=x86_64-unknown-none-elf
    # shellcheck source=lib/windows-clibs.sh
    . scripts/lib/windows-clibs.sh
    windows_clibs || { echo "build-stub: cannot build the Windows C libraries (scripts/lib/windows-clibs.sh)" >&2; exit 1; }
    CC=("${ZIG[@]}" -target x86_64-windows-gnu)
    LIBDIR=$WINDOWS_CLIBS_LIBDIR
    RUNNER=()
    if [ -z "${WINE:-}" ] && [ -f scripts/lib/wine-toolchain.sh ] && [ -x .build-dgmo/wine/root/usr/lib/wine/wine64 ]; then
      # shellcheck source=lib/wine-toolchain.sh
      . scripts/lib/wine-toolchain.sh && wine_toolchain >/dev/null 2>&1 || true
    fi
    [ -n "${WINE:-}" ] && RUNNER=("$WINE")
    # The Swift side's module maps see the C libraries' headers of the build machine (zstd.h,
    # lzma.h, sodium.h: the same versions, built for Windows by windows-clibs.sh; only
    # fixed-width structs are read), and DGMO_HANDOFF_SPAWN picks CreateProcessW over execve.
    TARGET_SWIFT_FLAGS=(-D DGMO_TARGET_OS_WINDOWS -D DGMO_HANDOFF_SPAWN -Xcc -isystem -Xcc /usr/include
                        -Xcc -isystem -Xcc /usr/include/x86_64-linux-gnu)
    ;;
  *) echo "build-stub: --target must be linux-x64, linux-arm64 or windows-x64 (got '${TARGET}')" >&2; exit 2 ;;
esac
# The link takes nothing from this directory: the launcher must not touch String's Unicode tables
# (libswiftUnicodeDataTables.a, normalisation and grapheme breaking, ELF only, so no Windows link
# could use it). Its text is compared, ordered and split as UTF-8 bytes (Sources/BundleFormat/
# ByteText.swift), and the library is left out of the link lines below on purpose: a live launcher
# function that reaches the tables (a String ==, <, hasPrefix, switch on a literal, hash, or
# Character iteration) leaves `_swift_stdlib_*` symbols undefined and fails the link. That is the
# guard. The directory is still checked: without it this Swift has no Embedded stdlib for $TRIPLE.
[ -d "$EMBEDDED_LIB/$TRIPLE" ] || {
  echo "build-stub: no Embedded Swift libraries for $TRIPLE in $EMBEDDED_LIB" >&2; exit 1; }

if [ -n "$DEBUG" ]; then
  SWIFT_OPT=(-Onone -DDEBUG); C_OPT=(-O0 -fno-sanitize=all)
elif [ "$TARGET" = linux-arm64 ]; then
  # -O, not -Osize: with -Osize (Swift 6.3.1, aarch64-none-none-elf) the EntryRecord that
  # BundleFormat's `Manifest.defaultEntry` (`entries.first { $0.isDefault }`) returns had a corrupt
  # name (a small string read as a large one: its bytes taken for its length), so the launch
  # trapped in Launcher.exec under qemu; the same entry chosen by name, and -O and -Onone builds,
  # are correct. A compiler problem, found under qemu; x64 with -Osize is not affected (its tests pass).
  SWIFT_OPT=(-O); C_OPT=(-Os)
else
  SWIFT_OPT=(-Osize); C_OPT=(-Os)
fi

# BUILD_STUB_WORK=DIR keeps the objects and IR there, to look at a failed link.
if [ -n "${BUILD_STUB_WORK:-}" ]; then
  W=$BUILD_STUB_WORK
  mkdir -p "$W"
else
  W=$(mktemp -d "${TMPDIR:-/tmp}/build-stub.XXXXXX")
  trap 'rm -rf "$W"' EXIT
fi
INCLUDES=(-I "$W" -I Sources/CPlatform/include -I Sources/CKeySlot/include
          -I Sources/CZstd -I Sources/CLZMA -I Sources/CZlib -I Sources/CSodium -I Sources/CInflate/include)
# -function-sections lets --gc-sections drop what the launcher never calls. The implicit
# _Concurrency and _StringProcessing imports are off, as in Package.swift.
SWIFT_FLAGS=(-enable-experimental-feature Embedded -wmo -parse-as-library -target "$TRIPLE"
             "${SWIFT_OPT[@]}" -Xfrontend -function-sections
             -Xfrontend -disable-implicit-concurrency-module-import
             -Xfrontend -disable-implicit-string-processing-module-import
             "${TARGET_SWIFT_FLAGS[@]}" "${INCLUDES[@]}" "${DEFINES[@]}")

step() { echo "build-stub [$TARGET${DEBUG:+ debug}]: $1"; }
fail() { echo "build-stub: $1 failed (see the messages above)" >&2; exit 1; }

CLANG="$(dirname "$(readlink -f "$(command -v "$SWIFTC")")")/clang"
# windows-x64: NAME.ll (IR for x86_64-unknown-none-elf) -> NAME.o (COFF for x86_64-pc-windows-gnu).
retarget() {
  local name=$1
  sed -e 's/^target triple = "x86_64-unknown-none-elf"$/target triple = "x86_64-pc-windows-gnu"/' \
      -e 's/^target datalayout = "e-m:e-/target datalayout = "e-m:w-/' \
      -e 's/, section "\.swift1_autolink_entries"//' \
      -e 's/@free(/@dgmo_swift_free(/g' -e 's/@posix_memalign(/@dgmo_swift_memalign(/g' \
      "$W/$name.ll" > "$W/$name.win.ll" || fail "retargeting $name"
  grep -q '^target triple = "x86_64-pc-windows-gnu"$' "$W/$name.win.ll" || fail "retargeting $name (no triple line)"
  "$CLANG" -target x86_64-pc-windows-gnu "${C_OPT[@]}" -ffunction-sections -fdata-sections \
    -Wno-override-module -c "$W/$name.win.ll" -o "$W/$name.o" || fail "compiling $name for Windows"
}

# name, extra flags..., then the sources (after --).
swift_module() {
  local name=$1; shift
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done; shift
  step "swift $name"
  if [ "$TARGET" = windows-x64 ]; then
    "$SWIFTC" "${SWIFT_FLAGS[@]}" "${extra[@]}" -module-name "$name" \
      -emit-module -emit-module-path "$W/$name.swiftmodule" -emit-ir "$@" -o "$W/$name.ll" || fail "compiling $name"
    retarget "$name"
  else
    "$SWIFTC" "${SWIFT_FLAGS[@]}" "${extra[@]}" -module-name "$name" \
      -emit-module -emit-module-path "$W/$name.swiftmodule" -c "$@" -o "$W/$name.o" || fail "compiling $name"
  fi
}

# The modules and their order are listed once, in Stub/modules (the Makefile reads it too).
MODULE_OBJECTS=() MODULE_NAMES=()
while read -r name flags; do
  case "$name" in ''|'#'*) continue ;; esac
  # shellcheck disable=SC2086  # flags are words
  swift_module "$name" $flags -- Sources/"$name"/*.swift
  MODULE_OBJECTS+=("$W/$name.o")
  MODULE_NAMES+=("$name")
done < Stub/modules
[ ${#MODULE_OBJECTS[@]} -gt 0 ] || { echo "build-stub: Stub/modules lists no module" >&2; exit 1; }
step "swift Stub"
if [ "$TARGET" = windows-x64 ]; then
  "$SWIFTC" "${SWIFT_FLAGS[@]}" -module-name Stub -emit-ir Stub/*.swift -o "$W/Stub.ll" || fail "compiling Stub"
  retarget Stub
else
  "$SWIFTC" "${SWIFT_FLAGS[@]}" -module-name Stub -c Stub/*.swift -o "$W/Stub.o" || fail "compiling Stub"
fi

[ "$LIBC" = glibc ] && CC=(gcc)
step "cc CPlatform CKeySlot CInflate"
PLATFORM_C=Sources/CPlatform/platform.c
[ "$TARGET" = windows-x64 ] && PLATFORM_C=Sources/CPlatform/platform_windows.c
"${CC[@]}" "${C_OPT[@]}" -ffunction-sections -fdata-sections -I Sources/CPlatform/include \
  -c "$PLATFORM_C" -o "$W/platform.o" || fail "compiling CPlatform"
# zlib's own header for the target: windows-clibs.sh's, else Debian's two (zlib.h, zconf.h: the
# same for every Linux architecture), copied apart so that no other glibc header meets musl's.
if [ "$TARGET" = windows-x64 ]; then
  INFLATE_INCLUDE=(-I "$WINDOWS_CLIBS_INCLUDE")
else
  mkdir -p "$W/zlib-include" && cp /usr/include/zlib.h /usr/include/zconf.h "$W/zlib-include/" ||
    fail "copying zlib's headers (zlib1g-dev)"
  INFLATE_INCLUDE=(-I "$W/zlib-include")
fi
"${CC[@]}" "${C_OPT[@]}" -ffunction-sections -fdata-sections -I Sources/CInflate/include "${INFLATE_INCLUDE[@]}" \
  -c Sources/CInflate/inflate_access.c -o "$W/inflate.o" || fail "compiling CInflate"
"${CC[@]}" "${C_OPT[@]}" -I Sources/CKeySlot/include -c Sources/CKeySlot/keyslot.c -o "$W/keyslot.o" || fail "compiling CKeySlot"

# Debian's static C libraries (built for glibc) link against musl with one shim
# (Stub/Link/musl-compat.c, which also ends the launcher on a failed Swift allocation: --wrap).
# -fno-sanitize=all: zig would otherwise add its UBSan runtime to C code it compiles without
# optimisation. Stub/Link/sodium-trim.c with the four --wrap=_crypto_*_pick_best_implementation:
# sodium_init no longer picks (and so links) four primitives the launcher never calls.
# Stub/Link/zstd-no-legacy.c, an object before the archives: libzstd's decoders of the legacy
# formats v0.5-v0.7 stay out of the link (a legacy frame is refused).
if [ "$TARGET" = windows-x64 ]; then
  # The Unicode-table guard. lld-link reports an undefined symbol even when only dead code (a
  # COMDAT that --gc-sections drops) refers to it, so the PE link cannot be the guard, as the ELF
  # links are: the same IR is linked as ELF by ld.lld with --gc-sections from `main`, and any
  # `_swift_stdlib_*` symbol a live function needs fails the build. Only then does the PE link get
  # windows-compat.c's definitions of those symbols, which end the launcher if ever reached.
  step "check: no live code reaches the Unicode tables"
  LLD="$(dirname "$CLANG")/ld.lld"
  guard_objects=()
  for name in "${MODULE_NAMES[@]}" Stub; do
    "$CLANG" -target x86_64-unknown-linux-gnu "${C_OPT[@]}" -ffunction-sections -fdata-sections -Wno-override-module \
      -c "$W/$name.ll" -o "$W/$name.guard.o" || fail "compiling $name for the Unicode-table check"
    guard_objects+=("$W/$name.guard.o")
  done
  "$LLD" --gc-sections -e main --warn-unresolved-symbols -o "$W/guard.elf" "${guard_objects[@]}" > "$W/guard.log" 2>&1 &&
    [ -s "$W/guard.elf" ] || { cat "$W/guard.log" >&2; fail "the Unicode-table check's link (ld.lld)"; }
  unicode=$(grep -o 'undefined symbol: _swift_stdlib_[A-Za-z_]*' "$W/guard.log" | sort -u || true)
  # The allocator rename must have caught every reference (an address taken, not only a call).
  if grep -lE '@(free|posix_memalign|malloc|calloc|realloc)\b' "$W"/*.win.ll >/dev/null; then
    fail "the IR retarget (a reference to the C allocator was not renamed: $(grep -lE '@(free|posix_memalign|malloc|calloc|realloc)\b' "$W"/*.win.ll | tr '\n' ' '))"
  fi
  [ -z "$unicode" ] || {
    echo "build-stub: live launcher code reaches Swift's Unicode tables ($(echo "$unicode" | tr '\n' ' ')): compare and split text as bytes (Sources/BundleFormat/ByteText.swift)" >&2
    exit 1
  }
  step "link (PE, x86_64-windows-gnu)"
  "${CC[@]}" "${C_OPT[@]}" -fno-sanitize=all -I Sources/CPlatform/include -c Stub/Link/windows-compat.c \
    -o "$W/windows-compat.o" || fail "compiling Stub/Link/windows-compat.c"
  # No Unicode tables: the launcher must not reach them (their library is ELF only), and the link
  # fails if any live code does. -s strips the symbol table of a release stub.
  strip_flag=(-s)
  [ -n "$DEBUG" ] && strip_flag=()
  # -municode: the C runtime starts at windows-compat.c's wmain (UTF-16 arguments, made UTF-8 there).
  "${CC[@]}" "${C_OPT[@]}" -municode -fno-sanitize=all -Wl,--gc-sections "${strip_flag[@]}" -o "$W/bundle-stub" \
    "${MODULE_OBJECTS[@]}" "$W"/Stub.o "$W"/platform.o "$W"/keyslot.o "$W"/inflate.o "$W"/windows-compat.o \
    "$LIBDIR/libsodium.a" "$LIBDIR/libzstd.a" "$LIBDIR/liblzma.a" "$LIBDIR/libz.a" \
    -ladvapi32 || fail "linking"
elif [ "$LIBC" = glibc ]; then
  step "link (static, glibc)"
  gcc -static -Wl,--gc-sections -o "$W/bundle-stub" \
    "${MODULE_OBJECTS[@]}" "$W"/Stub.o \
    "$W"/platform.o "$W"/keyslot.o "$W"/inflate.o \
    -lsodium -lzstd -llzma -lz -lm || fail "linking"
else
  step "link (static, musl)"
  "${CC[@]}" "${C_OPT[@]}" -fno-sanitize=all -c Stub/Link/zstd-no-legacy.c -o "$W/zstd-no-legacy.o" ||
    fail "compiling Stub/Link/zstd-no-legacy.c"
  sodium_unpicked=()
  for p in pwhash_argon2 stream_salsa20 onetimeauth_poly1305 scalarmult_curve25519; do
    sodium_unpicked+=("-Wl,--wrap=_crypto_${p}_pick_best_implementation")
  done
  "${CC[@]}" -static "${C_OPT[@]}" -fno-sanitize=all -Wl,--gc-sections -Wl,--wrap=posix_memalign \
    "${sodium_unpicked[@]}" -o "$W/bundle-stub" \
    "${MODULE_OBJECTS[@]}" "$W"/Stub.o \
    "$W"/platform.o "$W"/keyslot.o "$W"/inflate.o \
    Stub/Link/musl-compat.c Stub/Link/sodium-trim.c "$W/zstd-no-legacy.o" \
    "$LIBDIR/libsodium.a" "$LIBDIR/libzstd.a" "$LIBDIR/liblzma.a" "$LIBDIR/libz.a" || fail "linking"
fi

if [ -z "$DEBUG" ] && [ "$TARGET" != windows-x64 ]; then
  step "strip"
  "$STRIP" "$W/bundle-stub" || fail "stripping"
fi
# An unpatched stub must start and refuse to run anything (status 125, one line): proves the
# binary runs on this machine, natively or, for arm64, under qemu-aarch64-static, for windows-x64
# under wine (when installed: scripts/lib/wine-toolchain.sh; the Windows tests run it there anyway).
if [ "$TARGET" = windows-x64 ] && [ ${#RUNNER[@]} -eq 0 ]; then
  step "check skipped (no wine here: scripts/lib/wine-toolchain.sh installs it)"
else
  step "check (runs${RUNNER[0]:+ under ${RUNNER[0]##*/}})"
  set +e
  said=$("${RUNNER[@]}" "$W/bundle-stub" 2>&1 >/dev/null </dev/null); status=$?
  set -e
  case "$status:$said" in
    "125:"*"holds no public key"*) ;;
    *) echo "build-stub: the built stub did not run as expected (status $status: $said)" >&2; exit 1 ;;
  esac
fi
mkdir -p "$(dirname "$OUT")"
mv -f "$W/bundle-stub" "$OUT.tmp.$$" && mv -f "$OUT.tmp.$$" "$OUT"
step "$OUT ($(stat -c %s "$OUT") bytes)"
