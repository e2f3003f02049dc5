# shellcheck shell=bash
# Sourced by install-deps.sh and arm64-toolchain.sh: whether Debian packages are installed, always
# for a named architecture.
#
# Why: once a foreign architecture is added (arm64 for the cross build), a bare name is ambiguous.
# `dpkg-query -W libsodium-dev` then answers for any installed instance, so with only
# libsodium-dev:arm64 installed it said "install ok installed", and the amd64 headers and static
# libraries were never installed: `make demo` failed on a new machine with "cannot find -lsodium".
# So a name without an architecture means this machine's own (`dpkg --print-architecture`), never
# "any".

# deb_installed NAME[:ARCH]: true when NAME is installed for ARCH (default: this machine's
# architecture). A package built for every architecture (Architecture: all, e.g. ca-certificates)
# is registered as NAME:all and counts for this machine's architecture.
deb_installed() {
  local spec=$1 name arch native
  native=$(dpkg --print-architecture)
  case "$spec" in
    *:*) name=${spec%%:*}; arch=${spec#*:} ;;
    *) name=$spec; arch=$native ;;
  esac
  deb_status_installed "$name:$arch" && return 0
  [ "$arch" = "$native" ] && deb_status_installed "$name:all"
}

# deb_status_installed NAME:ARCH: dpkg's status of exactly that instance is "install ok installed".
deb_status_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# deb_missing PKG...: prints, one a line, the packages of the list that are not installed (each
# as deb_installed reads it: NAME for this machine's architecture, or NAME:ARCH).
deb_missing() {
  local p
  for p in "$@"; do
    deb_installed "$p" || printf '%s\n' "$p"
  done
}
