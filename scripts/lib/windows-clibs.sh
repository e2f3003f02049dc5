# shellcheck shell=bash
# Sourced by what links the Windows x64 launcher (then call windows_clibs); also runnable on its own
# (`scripts/lib/windows-clibs.sh` builds if needed, then prints the exports for `eval`).
#
# `windows_clibs` makes sure the four C libraries of the launcher exist as static libraries for
# x86_64-windows-gnu (PE/COFF, mingw-w64 ABI, as `zig cc -target x86_64-windows-gnu` links):
#   .build-dgmo/windows-x64/clibs/lib/{libsodium,libzstd,liblzma,libz}.a
#   .build-dgmo/windows-x64/clibs/include/   sodium.h sodium/ zstd.h zstd_errors.h lzma.h lzma/ zlib.h zconf.h
# and exports
#   WINDOWS_CLIBS_LIBDIR   that lib/ directory
#   WINDOWS_CLIBS_INCLUDE  that include/ directory
#
# A consumer links with
#   -I"$WINDOWS_CLIBS_INCLUDE" -DSODIUM_STATIC -DLZMA_API_STATIC     (compiling)
#   -L"$WINDOWS_CLIBS_LIBDIR" -lsodium -lzstd -llzma -lz -ladvapi32   (linking)
# The defines say "static library, no dllimport"; with clang (zig cc, swiftc) the headers would not
# ask for dllimport anyway, but with them the declarations are the ones the libraries were built
# with. System libraries: libsodium 1.0.18 gets its randomness from RtlGenRandom (exported by
# advapi32.dll as SystemFunction036: randombytes_sysrandom.c), hence -ladvapi32. BCryptGenRandom
# (bcrypt) only came with libsodium 1.0.19, so -lbcrypt is not needed for these libraries (harmless
# if given). Everything else they call (VirtualAlloc/VirtualLock, critical sections, condition
# variables and InitOnce for liblzma's threads, GetSystemInfo, GlobalMemoryStatusEx) is kernel32,
# which zig links by default.
#
# What is built, and from what
# ----------------------------
# Debian has no mingw builds of libsodium, zstd or xz (`apt-cache search mingw` lists only
# libz-mingw-w64-dev, a separate zlib source package built with gcc against msvcrt), so the four are
# built here from the SAME Debian source packages that give the Linux stub its .a files, Debian's
# patches applied (dpkg-source -x), with the pinned zig (scripts/lib/zig-toolchain.sh):
#   zig cc -target x86_64-windows-gnu -Os -ffunction-sections -fdata-sections -fno-sanitize=all
# compiling only the C files each library needs (no autotools, no cmake), then `zig ar rcs`.
#   libsodium  every .c of src/libsodium (the list of its Makefile.am), as its configure would for
#              mingw x86_64: no amd64/AVX assembly (its configure refuses it for the Windows calling
#              convention, so the C fallbacks salsa20_ref and xmm6int are used), the SIMD variants
#              each with its own -m flags (SSSE3/SSE4.1/AVX2/AVX-512F/AES-NI/RDRAND, chosen at run
#              time by sodium_init), CONFIGURED=1, SODIUM_STATIC, and sodium/version.h generated
#              from version.h.in.
#   libzstd    lib/common + lib/decompress only (the launcher only decodes), ZSTD_LEGACY_SUPPORT=0
#              (no pre-1.0 frame decoders: Stub/Link/zstd-no-legacy.c is not needed on Windows),
#              XXH_NAMESPACE=ZSTD_ as upstream's libzstd.mk, no assembly (huf_decompress_amd64.S is
#              ELF-only; ZSTD_DISABLE_ASM says so explicitly).
#   liblzma    encoders and decoders (all filters, lzip and microlzma decoders), CRC32/CRC64
#              (CLMUL chosen at run time)/SHA-256, threads through Windows Vista primitives
#              (MYTHREAD_VISTA), from a minimal config.h written below (the CMake build's list).
#   zlib       the 15 files of its Makefile (OBJZ + OBJG: gz* included).
#
# Fetching: a PRIVATE apt configuration under .build-dgmo/windows-x64/clibs-work/apt (own
# Dir::State, Dir::Cache, Dir::Etc::SourceList with deb-src lines for this machine's Debian
# mirror, Dir::Etc::SourceParts /dev/null), never the system's: `apt-get update` of it downloads the
# Sources indexes, whose InRelease apt checks against the Debian archive keyring, then
# `apt-get source --download-only PKG=VERSION` checks the .dsc against the signed index, and
# `dpkg-source -x` checks the tarballs against the .dsc (gpgv's "no public key" about the
# uploader's signature is expected: the chain of trust is the archive's). On top of that each .dsc
# is pinned by sha256 here, so a mirror serving something else fails loudly.
#
# Pins: the versions Debian bookworm has installed on this machine (`dpkg -l`, December 2026):
#   libsodium 1.0.18-1+deb12u1, libzstd 1.5.4+dfsg2-5+deb12u1, xz-utils 5.4.1-1+deb12u2,
#   zlib 1:1.2.13.dfsg-1+deb12u1.
# Each package has a list of candidates, first the pin, then a fallback; the first that can be
# fetched (and whose .dsc has its pinned sha256) is used, and using a fallback prints a warning.
# Two pins cannot be fetched today, and fall back:
#   libzstd 1.5.4+dfsg2-5+deb12u1 -> 1.5.4+dfsg2-5
#   zlib 1:1.2.13.dfsg-1+deb12u1  -> 1:1.2.13.dfsg-1
# Why: both deb12u1 uploads are bookworm-security's; the mirror's Sources index lists them, but
# the pool answers 404 for their files (deb.debian.org/debian-security/pool/updates/main/libz/libzstd/
# and .../z/zlib/, .dsc and tarballs alike; xz-utils' and libsodium's security uploads in the
# same pool are served), and bookworm main only has the versions without +deb12u1. The fallbacks
# are the nearest fetchable versions: the same upstream sources and Debian patches MINUS the
# security update, i.e. according to the installed packages' changelogs:
#   libzstd +deb12u1: d/p/0023 (streaming decompression needs 128 KB less memory) and
#                     CVE-2026-124851 (information disclosure when decompressing crafted input);
#   zlib    +deb12u1: CVE-2026-27171 (DoS, infinite loop) and CVE-2026-85091 (heap overflow).
# So the Windows libzstd.a and libz.a lack those fixes until the mirror serves the deb12u1
# sources; the script then picks them up by itself (delete the stamp, below, to retry sooner).
#
# Idempotent: a stamp (.build-dgmo/windows-x64/clibs/stamp) holds the pins, the flags, the zig pin
# and this file's sha256; when it matches and the libraries and headers are there, nothing runs.
# Otherwise everything is rebuilt (downloads are kept in clibs-work/dl and reused when their pinned
# sha256 still matches). Compiles run two at a time (xargs -P2). A failure is one line naming the
# step (the tool's own messages above it, or the log it names).
#
# Measured here (2 shared cores, December 2026): from scratch (no downloads, empty zig cache) 76 s
# when the machine was quiet, 184 s at a load average of 9; about 58 s of CPU. Once built, 0.1 s.
# Sizes: libsodium.a 735,298, libzstd.a 206,320, liblzma.a 369,436, libz.a 143,038 bytes.
# Proof: Tests/Fixtures/windows-clibs-probe.c (how to build and run it is at its top) links against
# the four with -ladvapi32 alone, and passes every check under wine 10.
#
# Needs: the pinned zig (installed on first use), apt-get and dpkg-source (dpkg-dev: installed with
# apt-get when missing, which needs root or sudo), network access to the Debian mirror when
# something must be downloaded.

# shellcheck source=scripts/lib/zig-toolchain.sh
. "$(dirname "${BASH_SOURCE[0]}")/zig-toolchain.sh"

# The candidates of each source package, in order of preference: "VERSION DSC_SHA256", one a line.
# (Source package names: libsodium, libzstd, xz-utils, zlib; the version is apt's, epoch included.)
_windows_clibs_candidates() {
  case "$1" in
    libsodium) echo "1.0.18-1+deb12u1 2c23c57b5a9385dab5a1916014c9b5f2cdd7dadeb8a35b28c1bfb603ce7095c4" ;;
    libzstd)
      echo "1.5.4+dfsg2-5+deb12u1 712e003018d933a86d128747157e41fbf8901487791931239998c83cb0926a2b"
      echo "1.5.4+dfsg2-5 8f602f92b575aa8b5e979196fb6ee82d78f233521dc9636526d3ecba1f63c1b1" ;;
    xz-utils) echo "5.4.1-1+deb12u2 bffc9917562b5787661379621bb1f7510bf7271b03d8ce4181cebc84b90d3c35" ;;
    zlib)
      echo "1:1.2.13.dfsg-1+deb12u1 6c230384154d40549de3514d9eb4456def3dc65e9fe24ff07449f5fa72ac1907"
      echo "1:1.2.13.dfsg-1 3fa1e6b2fc525062aa88207dda52fed8e045373c809d362fe8a2bfbf7cf515a8" ;;
  esac
}
_WINDOWS_CLIBS_PACKAGES=(libsodium libzstd xz-utils zlib)
_WINDOWS_CLIBS_TARGET=x86_64-windows-gnu
_WINDOWS_CLIBS_CFLAGS="-Os -ffunction-sections -fdata-sections -fno-sanitize=all"

windows_clibs() {
  local root out work lib inc stamp_file stamp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  out="$root/.build-dgmo/windows-x64/clibs"
  work="$root/.build-dgmo/windows-x64/clibs-work"
  lib="$out/lib" inc="$out/include" stamp_file="$out/stamp"

  zig_toolchain || { echo "windows-clibs: cannot install the pinned zig (scripts/lib/zig-toolchain.sh)" >&2; return 1; }

  local p
  stamp="target $_WINDOWS_CLIBS_TARGET"$'\n'"cflags $_WINDOWS_CLIBS_CFLAGS"$'\n'
  for p in "${_WINDOWS_CLIBS_PACKAGES[@]}"; do
    stamp+="$p $(_windows_clibs_candidates "$p" | tr '\n' ' ')"$'\n'
  done
  stamp+="zig $(sha256sum < "$root/packaging/zig/requirements.txt" | cut -d' ' -f1)"$'\n'
  stamp+="script $(sha256sum < "${BASH_SOURCE[0]}" | cut -d' ' -f1)"

  if [ -f "$stamp_file" ] && [ "$(sed -n '/^used /!p' "$stamp_file")" = "$stamp" ] \
     && _windows_clibs_complete "$lib" "$inc"; then
    export WINDOWS_CLIBS_LIBDIR="$lib" WINDOWS_CLIBS_INCLUDE="$inc"
    return 0
  fi

  local started=$SECONDS
  echo "windows-clibs: building libsodium, libzstd, liblzma, zlib for $_WINDOWS_CLIBS_TARGET into ${out#"$root"/}" >&2
  rm -f "$stamp_file"
  mkdir -p "$work"
  # One build at a time (two scripts calling this at once wait for each other).
  ( flock 9; _windows_clibs_build "$root" "$out" "$work" ) 9> "$work/lock" || return 1
  local used
  used=$(cat "$work/used")
  printf '%s\n%s\n' "$stamp" "$used" > "$stamp_file"
  echo "windows-clibs: done in $((SECONDS - started)) s ($(cd "$lib" && for f in libsodium.a libzstd.a liblzma.a libz.a; do printf '%s %s, ' "$f" "$(stat -c %s "$f")"; done | sed 's/, $//') bytes)" >&2
  export WINDOWS_CLIBS_LIBDIR="$lib" WINDOWS_CLIBS_INCLUDE="$inc"
}

_windows_clibs_complete() {
  local lib=$1 inc=$2 f
  for f in libsodium.a libzstd.a liblzma.a libz.a; do [ -s "$lib/$f" ] || return 1; done
  for f in sodium.h sodium/version.h zstd.h zstd_errors.h lzma.h lzma/version.h zlib.h zconf.h; do
    [ -f "$inc/$f" ] || return 1
  done
}

# The whole build, in a subshell (set -e, its own traps); "used PKG VERSION" lines go to $work/used.
_windows_clibs_build() {
  set -euo pipefail
  local root=$1 out=$2 work=$3
  fail() { echo "windows-clibs: $1 failed${2:+ (see $2)}" >&2; exit 1; }

  # --- tools -------------------------------------------------------------------------------------
  command -v apt-get >/dev/null 2>&1 || fail "finding apt-get (a Debian machine is needed)"
  if ! command -v dpkg-source >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "windows-clibs: installing dpkg-dev (for dpkg-source)" >&2
    (
      flock 9
      export DEBIAN_FRONTEND=noninteractive
      $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends dpkg-dev >/dev/null \
        || { $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq &&
             $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends dpkg-dev >/dev/null; }
    ) 9> /tmp/dgmo-windows-clibs.lock || fail "installing dpkg-dev with apt-get"
  fi

  # --- fetch: private apt configuration ---------------------------------------------------------
  local apt="$work/apt" dl="$work/dl" src="$work/src"
  mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/etc" "$dl"
  : > "$apt/state/status"
  _windows_clibs_sources_list > "$apt/etc/sources.list" || fail "finding this machine's Debian mirror in /etc/apt/sources.list(.d)"
  local aptopts=(-o "Dir::State=$apt/state" -o "Dir::State::status=$apt/state/status"
                 -o "Dir::Cache=$apt/cache" -o "Dir::Etc::SourceList=$apt/etc/sources.list"
                 -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::Etc::Preferences=/dev/null"
                 -o "Dir::Etc::PreferencesParts=/dev/null" -o "APT::Sandbox::User=root")
  local updated="" p version sha dsc used="" fetched
  for p in "${_WINDOWS_CLIBS_PACKAGES[@]}"; do
    fetched=""
    while read -r version sha; do
      dsc="$dl/${p}_${version#*:}.dsc"
      if ! { [ -f "$dsc" ] && [ "$(sha256sum < "$dsc" | cut -d' ' -f1)" = "$sha" ]; }; then
        if [ -z "$updated" ]; then
          apt-get "${aptopts[@]}" -q update > "$work/apt-update.log" 2>&1 \
            || fail "apt-get update of the private source lists" "$work/apt-update.log"
          updated=1
        fi
        if ! (cd "$dl" && apt-get "${aptopts[@]}" -q source --download-only "$p=$version") \
             > "$work/apt-source-$p.log" 2>&1; then
          echo "windows-clibs: warning: cannot fetch $p $version ($(grep -m1 -E '^ +[0-9]{3} |^E: ' "$work/apt-source-$p.log" | sed -e 's/^ *//' -e 's/ *\[IP:.*//'); $work/apt-source-$p.log)" >&2
          continue
        fi
        [ -f "$dsc" ] || fail "fetching $p $version (no $dsc after apt-get source)" "$work/apt-source-$p.log"
        local got
        got=$(sha256sum < "$dsc" | cut -d' ' -f1)
        [ "$got" = "$sha" ] \
          || fail "checking $p $version's .dsc against its pinned sha256 $sha (the mirror served $got)"
      fi
      fetched=$version
      break
    done < <(_windows_clibs_candidates "$p")
    [ -n "$fetched" ] || fail "fetching $p (no candidate version could be fetched: $work/apt-source-$p.log)"
    if [ "$fetched" != "$(_windows_clibs_candidates "$p" | head -n1 | cut -d' ' -f1)" ]; then
      echo "windows-clibs: warning: $p: using the fallback $fetched, not the pin (see the header of scripts/lib/windows-clibs.sh)" >&2
    fi
    used+="used $p $fetched"$'\n'
    # Unpack with Debian's patches applied (3.0 quilt); checks the tarballs against the .dsc.
    rm -rf "${src:?}/$p"
    mkdir -p "$src"
    dpkg-source --no-copy -x "$dsc" "$src/$p" > "$work/dpkg-source-$p.log" 2>&1 \
      || fail "unpacking $p $fetched with dpkg-source -x" "$work/dpkg-source-$p.log"
  done
  printf '%s' "$used" > "$work/used"

  # --- build ------------------------------------------------------------------------------------
  local obj="$work/obj" stage="$work/stage"
  rm -rf "$obj" "$stage"
  mkdir -p "$obj" "$stage/lib" "$stage/include"
  read -r -a ZIG <<<"$ZIG_CC"
  local ZIG_AR=("${ZIG[@]:0:${#ZIG[@]}-1}" ar)
  export _WC_CC="${ZIG[*]} -target $_WINDOWS_CLIBS_TARGET $_WINDOWS_CLIBS_CFLAGS"

  _windows_clibs_sodium "$src/libsodium" "$obj/sodium" "$stage" || fail "building libsodium (compiler messages above)"
  _windows_clibs_zstd "$src/libzstd" "$obj/zstd" "$stage" || fail "building libzstd (compiler messages above)"
  _windows_clibs_lzma "$src/xz-utils" "$obj/lzma" "$stage" || fail "building liblzma (compiler messages above)"
  _windows_clibs_zlib "$src/zlib" "$obj/zlib" "$stage" || fail "building zlib (compiler messages above)"

  local pair l
  for pair in sodium:sodium zstd:zstd lzma:lzma z:zlib; do
    l=${pair%%:*}
    # Sorted member names: the same archive from the same objects.
    (cd "$obj/${pair#*:}" && find . -name '*.o' | LC_ALL=C sort | xargs "${ZIG_AR[@]}" rcs "$stage/lib/lib$l.a") \
      || fail "archiving lib$l.a"
  done

  rm -rf "$out.new"
  mkdir -p "$out.new"
  cp -a "$stage/lib" "$stage/include" "$out.new/"
  rm -rf "$out"
  mv "$out.new" "$out"
}

# deb-src lines for the system's Debian mirror(s): bookworm, -updates (same URI) and -security.
_windows_clibs_sources_list() {
  local main sec
  main=$(_windows_clibs_mirror '/debian/?$') || return 1
  sec=$(_windows_clibs_mirror '/debian-security/?$') || sec="${main%/debian}/debian-security"
  local k="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || k=""
  echo "deb-src $k ${main%/} bookworm main"
  echo "deb-src $k ${main%/} bookworm-updates main"
  echo "deb-src $k ${sec%/} bookworm-security main"
}

# The first URI of /etc/apt/sources.list(.d) (one-line or deb822 form) matching the pattern.
_windows_clibs_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources) sed -n 's/^URIs:[[:space:]]*//p' "$f" | tr ' ' '\n' ;;
      *) sed -n 's/^deb\(-src\)\?[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\3/p' "$f" ;;
    esac
  done | grep -E "^https?://.*$1" | head -n1 | grep .
}

# Compile jobs, two at a time. Each argument: "SOURCE|OBJECT|EXTRA FLAGS" (no | or spaces in paths).
_windows_clibs_compile() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  printf '%s\n' "$@" | xargs -d '\n' -P2 -I{} bash -c '
    IFS="|" read -r s o f <<<"$1"
    # shellcheck disable=SC2086  # the compiler command and the flags are words
    exec $_WC_CC $f -c "$s" -o "$o"' _ {}
}

# OBJDIR/ + the path with / turned into _ (sources of the same name in two directories stay apart).
_windows_clibs_objname() { local r=${2#"$1"/}; printf '%s' "${r//\//_}"; }

_windows_clibs_sodium() {
  local s=$1 o=$2 stage=$3 d="$1/src/libsodium"
  mkdir -p "$o"
  # sodium/version.h, as configure writes it from version.h.in (values of configure.ac).
  sed -e 's/@VERSION@/1.0.18/' -e 's/@SODIUM_LIBRARY_VERSION_MAJOR@/10/' \
      -e 's/@SODIUM_LIBRARY_VERSION_MINOR@/3/' -e 's/@SODIUM_LIBRARY_MINIMAL_DEF@//' \
      "$d/include/sodium/version.h.in" > "$d/include/sodium/version.h" || return 1
  # What configure finds for x86_64 mingw with clang: intrinsics headers, __int128, cpuid and
  # xgetbv through inline asm, TLS as its AX_TLS finds it (__thread: the source's own Windows
  # fallback, __declspec(thread), is ignored by clang without -fms-extensions); no amd64 assembly (HAVE_AMD64_ASM, HAVE_AVX_ASM: refused for Windows),
  # no weak symbols (COFF), no mmap/mlock (utils.c uses VirtualAlloc/VirtualLock on _WIN32).
  local defs="-DCONFIGURED=1 -DSODIUM_STATIC=1 -DNATIVE_LITTLE_ENDIAN=1 -DHAVE_TI_MODE=1
    -DHAVE_MMINTRIN_H=1 -DHAVE_EMMINTRIN_H=1 -DHAVE_PMMINTRIN_H=1 -DHAVE_TMMINTRIN_H=1
    -DHAVE_SMMINTRIN_H=1 -DHAVE_AVXINTRIN_H=1 -DHAVE_AVX2INTRIN_H=1 -DHAVE_AVX512FINTRIN_H=1
    -DHAVE_WMMINTRIN_H=1 -DHAVE_RDRAND=1 -DHAVE_CPUID=1 -DHAVE_INLINE_ASM=1 -DHAVE_C_VARARRAYS=1
    -DHAVE_ATOMIC_OPS=1 -DTLS=__thread -I$d/include/sodium"
  local jobs=() f rel extra
  while IFS= read -r f; do
    rel=${f#"$d"/}
    # The per-file flags of src/libsodium/Makefile.am's libsse2/libssse3/libsse41/libavx2/
    # libavx512f/libaesni/librdrand.
    case "$rel" in
      *-avx512f.c) extra="-msse2 -mssse3 -msse4.1 -mavx -mavx2 -mavx512f" ;;
      *-avx2.c) extra="-msse2 -mssse3 -msse4.1 -mavx -mavx2" ;;
      *-sse41.c) extra="-msse2 -mssse3 -msse4.1" ;;
      *-ssse3.c) extra="-msse2 -mssse3" ;;
      *_aesni.c) extra="-msse2 -mssse3 -maes -mpclmul" ;;
      *-sse2.c|*/poly1305_sse2.c|*/pwhash_scryptsalsa208sha256_sse.c) extra="-msse2" ;;
      */randombytes_internal_random.c) extra="-mrdrnd" ;;
      *) extra="" ;;
    esac
    jobs+=("$f|$o/$(_windows_clibs_objname "$d" "$f" | sed 's/\.c$/.o/')|${defs//$'\n'/ } $extra")
  done < <(find "$d" -name '*.c' | LC_ALL=C sort)
  [ ${#jobs[@]} -ge 100 ] || { echo "windows-clibs: libsodium: only ${#jobs[@]} C files in $d" >&2; return 1; }
  _windows_clibs_compile "${jobs[@]}" || return 1
  mkdir -p "$stage/include/sodium"
  cp "$d/include/sodium.h" "$stage/include/"
  find "$d/include/sodium" -maxdepth 1 -name '*.h' -exec cp {} "$stage/include/sodium/" \;
}

_windows_clibs_zstd() {
  local s=$1 o=$2 stage=$3 d="$1/lib" f
  mkdir -p "$o"
  local defs="-DZSTD_LEGACY_SUPPORT=0 -DXXH_NAMESPACE=ZSTD_ -DDEBUGLEVEL=0 -DZSTD_DISABLE_ASM
    -I$d -I$d/common"
  local jobs=()
  for f in common/debug.c common/entropy_common.c common/error_private.c common/fse_decompress.c \
           common/pool.c common/threading.c common/xxhash.c common/zstd_common.c \
           decompress/huf_decompress.c decompress/zstd_ddict.c decompress/zstd_decompress.c \
           decompress/zstd_decompress_block.c; do
    [ -f "$d/$f" ] || { echo "windows-clibs: libzstd: $d/$f is missing" >&2; return 1; }
    jobs+=("$d/$f|$o/$(_windows_clibs_objname "$d" "$d/$f" | sed 's/\.c$/.o/')|${defs//$'\n'/ }")
  done
  _windows_clibs_compile "${jobs[@]}" || return 1
  cp "$d/zstd.h" "$d/zstd_errors.h" "$stage/include/"
}

_windows_clibs_lzma() {
  local s=$1 o=$2 stage=$3 d="$1/src/liblzma" f
  mkdir -p "$o"
  # The minimal config.h: the feature list of xz 5.4.1's CMakeLists.txt, and what its checks find
  # for x86_64 Windows with clang.
  cat > "$o/config.h" <<'EOF'
/* Written by scripts/lib/windows-clibs.sh for xz 5.4.1, x86_64-windows-gnu, zig cc (clang). */
#define PACKAGE_NAME "XZ Utils"
#define PACKAGE_BUGREPORT "xz@tukaani.org"
#define PACKAGE_URL "https://tukaani.org/xz/"
#define HAVE_CHECK_CRC32 1
#define HAVE_CHECK_CRC64 1
#define HAVE_CHECK_SHA256 1
#define HAVE_DECODERS 1
#define HAVE_DECODER_ARM 1
#define HAVE_DECODER_ARMTHUMB 1
#define HAVE_DECODER_ARM64 1
#define HAVE_DECODER_DELTA 1
#define HAVE_DECODER_IA64 1
#define HAVE_DECODER_LZMA1 1
#define HAVE_DECODER_LZMA2 1
#define HAVE_DECODER_POWERPC 1
#define HAVE_DECODER_SPARC 1
#define HAVE_DECODER_X86 1
#define HAVE_ENCODERS 1
#define HAVE_ENCODER_ARM 1
#define HAVE_ENCODER_ARMTHUMB 1
#define HAVE_ENCODER_ARM64 1
#define HAVE_ENCODER_DELTA 1
#define HAVE_ENCODER_IA64 1
#define HAVE_ENCODER_LZMA1 1
#define HAVE_ENCODER_LZMA2 1
#define HAVE_ENCODER_POWERPC 1
#define HAVE_ENCODER_SPARC 1
#define HAVE_ENCODER_X86 1
#define HAVE_MF_BT2 1
#define HAVE_MF_BT3 1
#define HAVE_MF_BT4 1
#define HAVE_MF_HC3 1
#define HAVE_MF_HC4 1
#define HAVE_LZIP_DECODER 1
#define HAVE_MICROLZMA 1
#define HAVE_STDBOOL_H 1
#define HAVE__BOOL 1
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define SIZEOF_SIZE_T 8
#define NDEBUG 1
#define HAVE_VISIBILITY 0
#define LZMA_API_STATIC 1
#define TUKLIB_SYMBOL_PREFIX lzma_
#define MYTHREAD_VISTA 1
#define HAVE_IMMINTRIN_H 1
#define HAVE__MM_MOVEMASK_EPI8 1
#define HAVE_USABLE_CLMUL 1
#define HAVE_CPUID_H 1
#define HAVE___BUILTIN_BSWAPXX 1
#define HAVE___BUILTIN_ASSUME_ALIGNED 1
#define TUKLIB_FAST_UNALIGNED_ACCESS 1
EOF
  local defs="-DHAVE_CONFIG_H -I$o -I$d/api -I$d/common -I$d/check -I$d/lz -I$d/rangecoder
    -I$d/lzma -I$d/delta -I$d/simple -I$s/src/common"
  local jobs=() files=(
    ../common/tuklib_cpucores.c ../common/tuklib_physmem.c
    check/check.c check/crc32_fast.c check/crc32_table.c check/crc64_fast.c check/crc64_table.c
    check/sha256.c
    common/alone_decoder.c common/alone_encoder.c common/auto_decoder.c
    common/block_buffer_decoder.c common/block_buffer_encoder.c common/block_decoder.c
    common/block_encoder.c common/block_header_decoder.c common/block_header_encoder.c
    common/block_util.c common/common.c common/easy_buffer_encoder.c
    common/easy_decoder_memusage.c common/easy_encoder.c common/easy_encoder_memusage.c
    common/easy_preset.c common/file_info.c common/filter_buffer_decoder.c
    common/filter_buffer_encoder.c common/filter_common.c common/filter_decoder.c
    common/filter_encoder.c common/filter_flags_decoder.c common/filter_flags_encoder.c
    common/hardware_cputhreads.c common/hardware_physmem.c common/index.c
    common/index_decoder.c common/index_encoder.c common/index_hash.c common/lzip_decoder.c
    common/microlzma_decoder.c common/microlzma_encoder.c common/outqueue.c
    common/stream_buffer_decoder.c common/stream_buffer_encoder.c common/stream_decoder.c
    common/stream_decoder_mt.c common/stream_encoder.c common/stream_encoder_mt.c
    common/stream_flags_common.c common/stream_flags_decoder.c common/stream_flags_encoder.c
    common/string_conversion.c common/vli_decoder.c common/vli_encoder.c common/vli_size.c
    delta/delta_common.c delta/delta_decoder.c delta/delta_encoder.c
    lz/lz_decoder.c lz/lz_encoder.c lz/lz_encoder_mf.c
    lzma/fastpos_table.c lzma/lzma2_decoder.c lzma/lzma2_encoder.c lzma/lzma_decoder.c
    lzma/lzma_encoder.c lzma/lzma_encoder_optimum_fast.c lzma/lzma_encoder_optimum_normal.c
    lzma/lzma_encoder_presets.c
    rangecoder/price_table.c
    simple/arm.c simple/armthumb.c simple/arm64.c simple/ia64.c simple/powerpc.c
    simple/simple_coder.c simple/simple_decoder.c simple/simple_encoder.c simple/sparc.c
    simple/x86.c)
  for f in "${files[@]}"; do
    [ -f "$d/$f" ] || { echo "windows-clibs: liblzma: $d/$f is missing" >&2; return 1; }
    jobs+=("$d/$f|$o/$(printf '%s' "${f#../}" | tr / _ | sed 's/\.c$/.o/')|${defs//$'\n'/ }")
  done
  _windows_clibs_compile "${jobs[@]}" || return 1
  mkdir -p "$stage/include/lzma"
  cp "$d/api/lzma.h" "$stage/include/"
  cp "$d/api/lzma/"*.h "$stage/include/lzma/"
}

_windows_clibs_zlib() {
  local s=$1 o=$2 stage=$3 f jobs=()
  mkdir -p "$o"
  for f in adler32 crc32 deflate infback inffast inflate inftrees trees zutil \
           compress uncompr gzclose gzlib gzread gzwrite; do
    [ -f "$s/$f.c" ] || { echo "windows-clibs: zlib: $s/$f.c is missing" >&2; return 1; }
    # zlib 1.2.13 still has K&R definitions: clang warns about each (146 lines), silenced.
    jobs+=("$s/$f.c|$o/$f.o|-I$s -Wno-deprecated-non-prototype")
  done
  _windows_clibs_compile "${jobs[@]}" || return 1
  cp "$s/zlib.h" "$s/zconf.h" "$stage/include/"
}

# Sourced: only defines windows_clibs (call it; it is cheap once built). Run directly: build if
# needed, then print the exports for `eval`.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  windows_clibs
  for v in WINDOWS_CLIBS_LIBDIR WINDOWS_CLIBS_INCLUDE; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
fi
