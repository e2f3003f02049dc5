#!/usr/bin/env bash
# Two DGMO binaries, before and after a change, as interleaved pairs in one run (docs/benchmarks.md):
# cold (cache emptied before each run) and warm --version, sysinfo and evolve; sizes; machine and load.
# Usage: scripts/bench-dgmo-pair.sh OLD_BINARY NEW_BINARY   (env RUNS: cold pairs, 10; WARM_RUNS: 60)
# In the output, "dgmo" is NEW and "naive" is OLD (scripts/lib/interleaved.py's labels).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] && [ -x "$1" ] && [ -x "$2" ] || { echo "usage: scripts/bench-dgmo-pair.sh OLD_BINARY NEW_BINARY (both executable)" >&2; exit 2; }
OLD=$(realpath "$1"); NEW=$(realpath "$2")
P="python3 $(pwd)/scripts/lib/interleaved.py"
W=$(mktemp -d /var/tmp/b17.XXXXXX)
trap 'rm -rf "$W"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sizes: new $(stat -c %s $NEW) B, old $(stat -c %s $OLD) B"
for args in "--version" "sysinfo" "evolve --seed 1 --generations 3"; do
  $P ${RUNS:-10} "cold $args: new (A) vs old (B)" -- env DGMO_CACHE_DIR=$W/new $NEW $args -- env DGMO_CACHE_DIR=$W/old $OLD $args -- rm -rf $W/new -- rm -rf $W/old
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
done
env DGMO_CACHE_DIR=$W/new $NEW --version >/dev/null; env DGMO_CACHE_DIR=$W/old $OLD --version >/dev/null
env DGMO_CACHE_DIR=$W/new $NEW sysinfo >/dev/null; env DGMO_CACHE_DIR=$W/old $OLD sysinfo >/dev/null
for args in "--version" "sysinfo"; do
  $P ${WARM_RUNS:-60} "warm $args: new (A) vs old (B)" -- env DGMO_CACHE_DIR=$W/new $NEW $args -- env DGMO_CACHE_DIR=$W/old $OLD $args
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
done
