#!/usr/bin/env bash
# Compiles the C side of the platform layer (Sources/CPlatform/platform.c) for every POSIX target
# the launcher is meant for, with warnings as errors: linux-x64 (musl, what the stub links),
# linux-arm64, and macOS on x86_64 and arm64. Compile only: macOS cannot be run here (no macOS machine;
# docs/platforms.md), so this proves the macOS branches build against the real SDK headers zig
# carries, not that they behave. `make check` runs it (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/zig-toolchain.sh
zig_toolchain || { echo "platform-compile-check: cannot install the pinned zig (scripts/lib/zig-toolchain.sh)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for target in x86_64-linux-musl aarch64-linux-musl x86_64-macos aarch64-macos; do
  # shellcheck disable=SC2086  # ZIG_CC is a command with arguments
  if $ZIG_CC -target "$target" -std=c11 -Wall -Wextra -Werror -c Sources/CPlatform/platform.c \
       -I Sources/CPlatform/include -o "$out/platform-$target.o" 2> "$out/err"; then
    echo "platform-compile-check: $target: ok"
  else
    echo "platform-compile-check: $target: FAILED" >&2
    sed 's/^/  /' "$out/err" >&2
    status=1
  fi
done
exit $status
