#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing
# (--release: also what `make release` needs).
# Idempotent and quiet when everything is there; runs apt-get update only when it must install
# or when apt's index lacks the pinned libc6 (below).
set -euo pipefail

packages=(
  libsodium-dev liblzma-dev zlib1g-dev libzstd-dev   # C libraries (static .a files included)
  gcc libc6-dev make file                            # the example's static C program, `file` in tests
  minisign zstd xz-utils                             # interoperability tests and benchmarks
  hyperfine time util-linux                          # benchmarks, setpriv, unshare
  passwd                                             # useradd/userdel: tests with a second, hostile user
  osslsigncode                                       # Authenticode signing and verifying (Windows tests)
  libfreetype6                                       # wine loads it for user32.dll; without it every wine run prints a FreeType warning on stderr
  binutils coreutils                                 # strip (stub, PyInstaller), sha256sum
  ca-certificates                                    # pip's downloads of the pinned toolchain (PyPI)
  debootstrap                                        # the Debian 11 root of OldSystemTests
)

# `make release` also packages (.deb, .rpm) and checks them with lintian and rpmlint; actionlint
# checks the workflow's scripts with shellcheck (ReleaseLintTests); scripts/lib/nsis-toolchain.sh
# checks the makensis it fetches (not installs) with the Debian archive keyring.
if [ "${1:-}" = "--release" ]; then
  packages+=(rpm lintian rpmlint dpkg-dev bzip2 shellcheck debian-archive-keyring)
fi

# dgmo-build makes a virtual environment for the pinned toolchain: python3 with venv and pip.
if ! command -v python3 >/dev/null 2>&1; then
  packages+=(python3 python3-venv python3-pip)
elif ! python3 -c 'import ensurepip' >/dev/null 2>&1; then  # venv --help answers without python3-venv
  packages+=(python3-venv)
fi

# The checkers the release tests run (actionlint, CycloneDX's validator), pinned, in their own
# virtual environment; rebuilt when packaging/lint/requirements.txt changes.
lint_venv() {
  local venv=.build-lint/venv req=packaging/lint/requirements.txt
  cd "$(dirname "$0")/.."
  if [ ! -x "$venv/bin/actionlint" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
    echo "installing the pinned checkers into $venv" >&2
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check -r "$req"
    cp "$req" "$venv/requirements.txt"
  fi
}

# The linux-arm64 cross toolchain (arm64 multiarch static libraries, the cross gcc, ld.lld,
# qemu-user-static): the arm64 stub's build and the arm64 tests need it. It installs only what is
# missing and runs its own apt-get update only then (sourcing it does the work and exports ARM64_*).
. "$(dirname "$0")/lib/arm64-toolchain.sh"

# Each name is checked for this machine's architecture (deb_installed): a bare `dpkg-query -W NAME`
# also answers for the arm64 instance the cross toolchain just installed.
. "$(dirname "$0")/lib/deb-packages.sh"
mapfile -t missing < <(deb_missing "${packages[@]}")
# dgmo-build fetches the libc6 the engine carries with `apt-get download libc6=VERSION`
# (examples/dgmo/glibc.lock): that version must be in apt's index (a fresh container has none).
. "$(dirname "$0")/lib/glibc-pin.sh"
glibc_lock="$(dirname "$0")/../examples/dgmo/glibc.lock"
stale_index=0
if [ -n "$(glibc_pin "$glibc_lock")" ] && ! glibc_pin_served "$glibc_lock"; then stale_index=1; fi
if [ ${#missing[@]} -eq 0 ] && [ $stale_index -eq 0 ]; then
  if [ "${1:-}" = "--release" ]; then lint_venv; fi
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--release" ]; then lint_venv; fi
