#!/usr/bin/env bash
# Proves the linux-arm64 cross toolchain (scripts/lib/arm64-toolchain.sh) end to end: builds the tiny
# Embedded Swift probe in Tests/Fixtures/arm64-probe (libsodium SHA-256 and a zstd round trip through
# a C module) for aarch64-none-none-elf, links it static with ARM64_CC/ARM64_LDFLAGS, runs it under
# qemu-aarch64-static and compares its SHA-256 with this machine's sha256sum.
# Usage: scripts/arm64-toolchain-check.sh [WORKDIR]   (exit 0 and one "ok" line when it all works)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/arm64-toolchain.sh"

work=${1:-$(mktemp -d)}
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
probe="$root/Tests/Fixtures/arm64-probe"
swiftc -target aarch64-none-none-elf -enable-experimental-feature Embedded -wmo -parse-as-library -Osize \
  -I "$probe" -Xcc -isystem -Xcc "$ARM64_SYSROOT/include" -Xcc -isystem -Xcc /usr/include \
  -c "$probe/main.swift" -o "$work/probe.o"
# shellcheck disable=SC2086 # ARM64_LDFLAGS is a list of flags
"$ARM64_CC" -static $ARM64_LDFLAGS -o "$work/probe" "$work/probe.o" -lsodium -lzstd

machine=$(od -An -t u2 -j 18 -N 2 "$work/probe" | tr -d ' ')
[ "$machine" = 183 ] || { echo "arm64-toolchain-check: the probe's e_machine is $machine, not 183 (aarch64)" >&2; exit 1; }
got=$("$ARM64_QEMU" "$work/probe")
want="sha256 $(printf 'hello, arm64 hello, arm64 hello, arm64' | sha256sum | cut -d' ' -f1) zstd ok"
[ "$got" = "$want" ] || { echo "arm64-toolchain-check: the probe printed '$got', expected '$want'" >&2; exit 1; }
echo "arm64 toolchain ok: Embedded Swift + libsodium + zstd, static aarch64, ran under $ARM64_QEMU"
