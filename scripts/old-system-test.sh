#!/usr/bin/env bash
# Runs every DGMO command on a real old system: a Debian 11 root (bullseye, glibc 2.31) made with
# `debootstrap --variant=minbase` once and cached (scripts/lib/bullseye-root.sh), seen through a
# throw-away overlay so runs never change the cache. No network (a new network namespace), an
# empty environment; first with /proc mounted, then without.
#
#   scripts/old-system-test.sh BINARY NEWER
#
# NEWER: a newer build of the same app, signed by the same key, with NEWER.minisig beside it
# (for `dgmo update`). BUNDLE_APPEND (default .build/debug/bundle-append) reads the entries for
# the runs without /proc. BULLSEYE_ROOT overrides the cache (default .build-dgmo/bullseye-root).
#
# Without /proc the launcher (Embedded Swift, it finds its own file through argv[0]) runs: its own
# commands and the engine entry through it must work. Bun 1.4.4 cannot start without /proc
# ("panic: abort() called"), whatever starts it, so no CLI command can run; this script then runs
# each layer's entry directly from `--launcher extract`: the engine (through its own loader) and
# the Go components must work; Bun is reported.
# Needs root (debootstrap, mount, chroot). Exits non-zero on the first failure; unmounts everything.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: old-system-test.sh BINARY NEWER" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "old-system-test: needs root (debootstrap, mount, chroot)" >&2; exit 2; }
binary=$(realpath "$1") newer=$(realpath "$2")
[ -f "$binary" ] && [ -f "$newer" ] && [ -f "$newer.minisig" ] || { echo "old-system-test: need BINARY, NEWER and NEWER.minisig" >&2; exit 2; }
bundle_append=${BUNDLE_APPEND:-.build/debug/bundle-append}
cache=${BULLSEYE_ROOT:-$(pwd)/.build-dgmo/bullseye-root}

. scripts/lib/bullseye-root.sh
bullseye_root "$cache"

W=$(mktemp -d /tmp/dgmo-bullseye.XXXXXX)
R=$W/root
cleanup() {
  umount "$R/proc" 2>/dev/null || true
  umount "$R" 2>/dev/null || true
  rm -rf --one-file-system "$W"
}
trap cleanup EXIT
mkdir -p "$W/upper" "$W/work" "$R"
if ! mount -t overlay overlay -o "lowerdir=$cache,upperdir=$W/upper,workdir=$W/work" "$R" 2>/dev/null; then
  cp -a "$cache/." "$R/"     # no overlayfs here: a copy (about 180 MB) instead
fi
echo "root: $(cat "$R/.dgmo-root-complete")"
mkdir -p "$R/opt/dgmo" "$R/work/my-project"
cp "$binary" "$R/opt/dgmo/dgmo"
cp "$binary" "$R/opt/dgmo/dgmo-to-update"
cp "$newer" "$R/opt/dgmo/newer"; cp "$newer.minisig" "$R/opt/dgmo/newer.minisig"
version=$("$binary" --launcher info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
newer_version=$("$newer" --launcher info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')

# in_root WD PROGRAM ARGS...: in the root, empty environment, no network.
in_root() { local wd=$1; shift; env -i "$(command -v unshare)" --net --root="$R" --wd="$wd" "$@"; }
# expect DESCRIPTION WANTED_STATUS NEEDLE WD PROGRAM ARGS...: prints the command and its output;
# fails unless it exits WANTED_STATUS and its stdout+stderr contain NEEDLE.
expect() {
  local what=$1 want=$2 needle=$3 wd=$4 status=0 out; shift 4
  echo "\$ ${what}"
  out=$(in_root "$wd" "$@" 2>&1) || status=$?
  printf '%s\n' "$out" | head -20
  [ "$status" -eq "$want" ] || { echo "old-system-test: '$what' exited $status, expected $want" >&2; exit 1; }
  case "$out" in *"$needle"*) ;; *) echo "old-system-test: '$what' did not print '$needle'" >&2; exit 1 ;; esac
}

run_commands() {
  local d=/opt/dgmo/dgmo
  expect "dgmo --version" 0 "DGMO v$version" / $d --version
  expect "dgmo help" 0 "  evolve " / $d help
  for c in evolve help init plugins supervise sysinfo update watch; do
    expect "dgmo $c --help" 0 "usage: dgmo $c" / $d "$c" --help
  done
  expect "dgmo init (in /work/my-project)" 0 "" /work/my-project $d init
  grep -q '"name": *"my-project"' "$R/work/my-project/dgmo.config.json" || { echo "old-system-test: init wrote no config" >&2; exit 1; }
  rm -f "$R/work/my-project/dgmo.config.json"
  expect "dgmo evolve --seed 1 --generations 3" 0 "generation 3: best score -" / $d evolve --seed 1 --generations 3
  expect "dgmo sysinfo" 0 '"go_version":"go1.' / $d sysinfo
  expect "dgmo plugins" 0 "core" / $d plugins
  expect "dgmo supervise --restarts 1 -- /bin/sh -c 'exit 3'" 3 '"event":"started"' / $d supervise --restarts 1 --delay 10ms -- /bin/sh -c "exit 3"
  expect "dgmo update /opt/dgmo/newer" 0 "update available: $version -> $newer_version" / $d update /opt/dgmo/newer
  expect "dgmo update /opt/dgmo/newer --apply (a copy of dgmo)" 0 "" / /opt/dgmo/dgmo-to-update update /opt/dgmo/newer --apply
  expect "dgmo --version (the updated copy)" 0 "DGMO v$newer_version" / /opt/dgmo/dgmo-to-update --version
  cp "$binary" "$R/opt/dgmo/dgmo-to-update"
}

echo "== with /proc"
mount -t proc proc "$R/proc"
run_commands
with_proc=$(in_root / /opt/dgmo/dgmo evolve --seed 1 --generations 3)
umount "$R/proc"

echo "== without /proc"
expect "dgmo --launcher info (no /proc)" 0 "$version" / /opt/dgmo/dgmo --launcher info
echo "\$ dgmo-engine evolve --seed 1 --generations 3 (no /proc, through the launcher: DGMO_ENTRY=dgmo-engine)"
launched=$(in_root / /usr/bin/env DGMO_ENTRY=dgmo-engine /opt/dgmo/dgmo evolve --seed 1 --generations 3 2>&1) \
  || { echo "$launched"; echo "old-system-test: the launcher failed without /proc" >&2; exit 1; }
echo "$launched"
[ "$launched" = "$with_proc" ] || { echo "old-system-test: the engine through the launcher printed something else without /proc" >&2; exit 1; }

# Each layer's entry run directly, as the launcher would run it, from an extracted copy.
"$binary" --launcher extract "$R/opt/layers" >/dev/null
entries=$("$bundle_append" inspect "$binary" --json | python3 -c '
import json, shlex, sys
b = json.load(sys.stdin)
for e in b["entries"]:
    sub = lambda s: s.replace("{{", "\0").replace("}}", "\1").replace("{", "/opt/layers/").replace("}", "").replace("\0", "{").replace("\1", "}")
    env = " ".join(shlex.quote(k + "=" + sub(v)) for k, v in sorted(e.get("env", {}).items()))
    print(e["name"] + "\t" + env + "\t" + " ".join(shlex.quote(sub(a)) for a in e["argv"]))
')
entry() { printf '%s\n' "$entries" | awk -F'\t' -v n="$1" '$1 == n { print $2 "\t" $3 }'; }
# run_entry NAME ARGS...: the entry's env and argv, then ARGS, in the root without /proc.
run_entry() {
  local line env argv; line=$(entry "$1"); shift
  [ -n "$line" ] || { echo "old-system-test: no entry $1 in $binary" >&2; exit 1; }
  env=${line%%$'\t'*}; argv=${line#*$'\t'}
  eval "env -i $env $(command -v unshare) --net --root=\"$R\" --wd=/ $argv \"\$@\""
}
echo "\$ dgmo-engine evolve --seed 1 --generations 3 (no /proc, through the layer's own loader)"
without_proc=$(run_entry dgmo-engine evolve --seed 1 --generations 3 2>&1) || { echo "$without_proc"; echo "old-system-test: the engine failed without /proc" >&2; exit 1; }
echo "$without_proc"
[ "$without_proc" = "$with_proc" ] || { echo "old-system-test: the engine printed something else without /proc" >&2; exit 1; }
echo "\$ dgmo-system-info (no /proc)"
run_entry dgmo-system-info | grep '"go_version":"go1.' || { echo "old-system-test: system-info failed without /proc" >&2; exit 1; }
echo "\$ dgmo --version, Bun run directly (no /proc)"
status=0; out=$(run_entry dgmo --version 2>&1) || status=$?
if [ $status -eq 0 ]; then echo "$out"; else
  echo "SKIPPED: Bun without /proc: it aborts (exit $status, '$(printf '%s\n' "$out" | grep -m1 panic || true)'), so no CLI command runs without /proc"
fi
echo "old-system-test: OK"
