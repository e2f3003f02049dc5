# shellcheck shell=bash
# Sourced. `nsis_toolchain` puts Debian bookworm's NSIS 3.08 (makensis, its stubs, plugins and
# includes) into .build-dgmo/nsis of this clone, never system-wide, when it is missing or its pins
# changed, and exports
#   MAKENSIS   the makensis binary
#   NSISDIR    its data directory (Stubs, Plugins, Include, Contrib): makensis reads it from the
#              environment (measured with 3.08-3+deb12u1: without it, it looks in /usr/share/nsis)
#
# Why not `apt-get install nsis`: that needs root and changes the machine for one release step.
# The two packages are fetched through a private apt configuration (scripts/lib/apt-private.sh: the
# system's Debian mirror, signatures checked against the Debian archive keyring), each .deb's
# SHA-256 checked against the pin below, and unpacked with `dpkg-deb -x`. makensis needs only what
# every bookworm has (libc6, libstdc++6, libgcc-s1, zlib1g). It runs without root, in an
# unprivileged container too (no bind mount of /usr/share).
#
# Idempotent: a stamp holds the pins; when it matches, nsis_toolchain only exports. Concurrent
# callers wait for each other (flock). A failure prints one line naming the step and returns
# non-zero; the step's output is in .build-dgmo/nsis/install.log.
#
# A pin no longer served (a bookworm point release replaces +deb12u1): the download fails and says
# so; take the new version and its hashes from `apt-get download` (or snapshot.debian.org).

# The pins: package=version and the SHA-256 of its .deb (bookworm main, 2026-12-07).
NSIS_TOOLCHAIN_PINS=(
  "nsis=3.08-3+deb12u1 b9ca8de84341753dd1c071a3f65453dc06bd7b6f2230140a36755d7e402827c2"
  "nsis-common=3.08-3+deb12u1 f1c9e63389c947442fddd5ca446e22966e8f03fc10663f998cf7df58642f9b52"
)

# shellcheck source=scripts/lib/apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-private.sh"

# _nsis_fail STEP [LOG]: the one-line error (with the last line of the step's output, if any).
_nsis_fail() {
  local last=""
  [ -s "${2:-}" ] && last=$(grep -v '^[[:space:]]*$' "$2" | tail -n 1)
  echo "nsis-toolchain: $1 failed${last:+: $last}${2:+ (log: $2)}" >&2
  return 1
}

# _nsis_install DIR LOG: fetches, checks and unpacks the pinned packages into DIR/root.
_nsis_install() {
  local dir=$1 log=$2 apt=$1/apt pin spec name version want got deb pkgs=()
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] \
    || { _nsis_fail "finding /usr/share/keyrings/debian-archive-keyring.gpg (apt-get install debian-archive-keyring; scripts/install-deps.sh --release does)"; return 1; }
  rm -rf "$dir/root" "$apt"
  for pin in "${NSIS_TOOLCHAIN_PINS[@]}"; do pkgs+=("${pin%% *}"); done
  apt_private_init "$apt" bookworm || { _nsis_fail "mkdir $apt"; return 1; }
  apt_private_get "$apt" -qq update >> "$log" 2>&1 \
    || { _nsis_fail "apt-get update of the private index ($(apt_private_mirror) bookworm)" "$log"; return 1; }
  (cd "$apt/debs" && apt_private_get "$apt" -qq download "${pkgs[@]}") >> "$log" 2>&1 \
    || { _nsis_fail "apt-get download of ${pkgs[*]}" "$log"; return 1; }
  # Each .deb (apt-get download names it NAME_VERSION_ARCH.deb) has its pinned SHA-256.
  for pin in "${NSIS_TOOLCHAIN_PINS[@]}"; do
    spec=${pin%% *} want=${pin#* }
    name=${spec%%=*} version=${spec#*=}
    deb=$(compgen -G "$apt/debs/${name}_${version}_*.deb" | head -n 1)
    got=$([ -n "$deb" ] && sha256sum "$deb" | cut -c1-64)
    [ "$got" = "$want" ] \
      || { _nsis_fail "the SHA-256 check of $spec (got ${got:-no file}, pinned $want)"; return 1; }
  done
  mkdir -p "$dir/root"
  for deb in "$apt/debs"/*.deb; do
    dpkg-deb -x "$deb" "$dir/root" >> "$log" 2>&1 || { _nsis_fail "dpkg-deb -x ${deb##*/}" "$log"; return 1; }
  done
  rm -rf "$apt"
  NSISDIR="$dir/root/usr/share/nsis" "$dir/root/usr/bin/makensis" -VERSION >> "$log" 2>&1 \
    || { _nsis_fail "running makensis -VERSION" "$log"; return 1; }
}

nsis_toolchain() {
  local src dir want
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  dir="$src/.build-dgmo/nsis"
  want="$(printf '%s\n' "${NSIS_TOOLCHAIN_PINS[@]}")"
  apt_private_stamped "$dir" "$want" "nsis-toolchain: installing NSIS 3.08 (Debian bookworm) into ${dir#"$src"/}" \
    _nsis_install || return 1
  export MAKENSIS="$dir/root/usr/bin/makensis"
  export NSISDIR="$dir/root/usr/share/nsis"
}
