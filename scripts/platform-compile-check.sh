#!/usr/bin/env bash
# Compiles the C side of the platform layer for every target the launcher is meant for, with
# warnings as errors: Sources/CPlatform/platform.c for linux-x64 (musl, what the stub links),
# linux-arm64, and macOS on x86_64 and arm64; Sources/CPlatform/platform_windows.c for
# x86_64-windows-gnu. Then:
#   - the guards: each file preprocesses to nothing for the other OS family (SwiftPM compiles
#     every .c file of the target, so both are in every build);
#   - the probe (Tests/Fixtures/platform-probe.c, written against CPlatform.h only) linked with
#     both files: natively, run here; and into a Windows PE (-ladvapi32), run under wine when
#     WINE names a wine64 (or wine64/wine is on PATH), otherwise linked only;
#   - the spawn probe (Tests/Fixtures/spawn-probe.c, the Windows hand-off cplat_spawn_wait) the
#     same way, with its child Tests/Fixtures/argv-echo.c beside it in the PE case (about 40 s
#     under wine: it starts some 150 processes).
# Compile only for macOS: it cannot be run here (no macOS machine; docs/platforms.md), so this
# proves the macOS branches build against the real SDK headers zig carries, not that they
# behave. `make check` runs it (a few seconds once zig's cache holds the mingw libraries).
# shellcheck disable=SC2317  # the functions below are run by `report`, which shellcheck cannot see
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/zig-toolchain.sh
zig_toolchain || { echo "platform-compile-check: cannot install the pinned zig (scripts/lib/zig-toolchain.sh)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
CFLAGS=(-std=c11 -Wall -Wextra -Werror -I Sources/CPlatform/include)
SOURCES=(Sources/CPlatform/platform.c Sources/CPlatform/platform_windows.c)

# report NAME LOG: runs the rest of the line; says ok, or FAILED with the log indented.
report() {
  local name=$1 log=$2
  shift 2
  if "$@" > "$log" 2>&1; then
    echo "platform-compile-check: $name: ok"
  else
    echo "platform-compile-check: $name: FAILED" >&2
    sed 's/^/  /' "$log" >&2
    status=1
  fi
}

# compiles FILE for TARGET into an object.
compile() {
  # shellcheck disable=SC2086  # ZIG_CC is a command with arguments
  $ZIG_CC -target "$2" "${CFLAGS[@]}" -c "$1" -o "$out/$(basename "$1" .c)-$2.o"
}

# preprocesses FILE for TARGET and fails if anything is left.
empty_for() {
  local left
  # shellcheck disable=SC2086
  left=$($ZIG_CC -target "$2" "${CFLAGS[@]}" -E -P "$1" | grep -c '[^[:space:]]' || true)
  [ "$left" = 0 ] || { echo "$1 is not empty for $2: $left lines after preprocessing"; return 1; }
}

# links a probe (TARGET OUTPUT [PROBE.c] [flags]; the platform probe by default) with both files.
link_probe() {
  local target=$1 output=$2 probe=Tests/Fixtures/platform-probe.c
  shift 2
  if [ $# -gt 0 ] && [ "${1%.c}" != "$1" ]; then probe=$1; shift; fi
  # shellcheck disable=SC2086
  $ZIG_CC -target "$target" "${CFLAGS[@]}" "$probe" "${SOURCES[@]}" "$@" -o "$output"
}

# links the spawn probe with both files, and its child (wmain: -municode), into $out.
link_spawn_probe_windows() {
  # shellcheck disable=SC2086
  $ZIG_CC -target x86_64-windows-gnu "${CFLAGS[@]}" Tests/Fixtures/spawn-probe.c "${SOURCES[@]}" -ladvapi32 \
    -o "$out/spawn-probe.exe" &&
    $ZIG_CC -target x86_64-windows-gnu "${CFLAGS[@]}" -municode Tests/Fixtures/argv-echo.c -o "$out/argv-echo.exe"
}

# runs the probe (with a runner, or none) in a fresh directory; prints only what failed.
run_probe() {
  local dir
  dir=$(mktemp -d "$out/run.XXXXXX")
  (cd "$dir" && "$@" < /dev/null) > "$dir.log" 2>&1 || { grep -v '^ok ' "$dir.log"; return 1; }
  tail -n 1 "$dir.log" | grep -q '^passed: 0 failed' || { cat "$dir.log"; return 1; }
}

for target in x86_64-linux-musl aarch64-linux-musl x86_64-macos aarch64-macos; do
  report "platform.c for $target" "$out/err" compile Sources/CPlatform/platform.c "$target"
done
report "platform_windows.c for x86_64-windows-gnu" "$out/err" \
  compile Sources/CPlatform/platform_windows.c x86_64-windows-gnu
report "platform.c is empty for x86_64-windows-gnu" "$out/err" \
  empty_for Sources/CPlatform/platform.c x86_64-windows-gnu
report "platform_windows.c is empty for x86_64-linux-musl" "$out/err" \
  empty_for Sources/CPlatform/platform_windows.c x86_64-linux-musl

report "probe linked for x86_64-linux-musl" "$out/err" link_probe x86_64-linux-musl "$out/probe"
[ -x "$out/probe" ] && report "probe run here (platform.c)" "$out/err" run_probe "$out/probe"

report "probe linked for x86_64-windows-gnu (PE, -ladvapi32)" "$out/err" \
  link_probe x86_64-windows-gnu "$out/probe.exe" -ladvapi32

# The spawn hand-off (cplat_spawn_wait): its probe natively (ENOSYS only), and for Windows with
# the child it runs (argv-echo.exe, beside it: the probe finds it there).
report "spawn probe linked for x86_64-linux-musl" "$out/err" \
  link_probe x86_64-linux-musl "$out/spawn-probe" Tests/Fixtures/spawn-probe.c
[ -x "$out/spawn-probe" ] && report "spawn probe run here (ENOSYS)" "$out/err" run_probe "$out/spawn-probe"
report "spawn probe and argv-echo linked for x86_64-windows-gnu" "$out/err" \
  link_spawn_probe_windows
wine=${WINE:-$(command -v wine64 || command -v wine || true)}
if [ ! -f "$out/probe.exe" ]; then
  :
elif [ -n "$wine" ]; then
  export WINEDEBUG=${WINEDEBUG:--all}
  report "probe run under wine (platform_windows.c)" "$out/err" run_probe "$wine" "$out/probe.exe"
  [ -f "$out/spawn-probe.exe" ] && [ -f "$out/argv-echo.exe" ] &&
    report "spawn probe run under wine (cplat_spawn_wait: arguments, exit codes, job, PATH)" "$out/err" \
      run_probe "$wine" "$out/spawn-probe.exe"
else
  echo "platform-compile-check: probe for x86_64-windows-gnu: linked, not run (no wine here; WINE=/path/to/wine64 runs it)"
fi
exit $status
