#!/usr/bin/env bash
# What the x86 branch filter costs the launcher: undo throughput on a real executable.
#   scripts/bench-filter.sh [FILE]   (default: the staged Bun runtime, else this machine's swift-frontend)
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-.build-dgmo/stage/bun/embedded-resources/bun-runtime/bun}
[ -f "$file" ] || file=$(command -v swift-frontend)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The filter's source file, unchanged, compiled into the benchmark program (it imports nothing).
for opt in -O -Osize; do
  cp scripts/bench/filter-throughput.swift "$work/main.swift"   # top-level code must be main.swift
  swiftc "$opt" -o "$work/bench" "$work/main.swift" Sources/BundleCodecs/X86BranchFilter.swift
  printf '%-7s ' "$opt"; "$work/bench" "$file"
done
