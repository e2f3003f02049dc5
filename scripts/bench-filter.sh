#!/usr/bin/env bash
# What the branch filters cost the launcher: undo throughput of the x86 and the arm64 filter on a
# real executable (each filter's source file, unchanged, compiled into the benchmark program).
#   scripts/bench-filter.sh [FILE]   (default: the staged Bun runtime, else this machine's swift-frontend)
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-.build-dgmo/stage/bun/embedded-resources/bun-runtime/bun}
[ -f "$file" ] || file=$(command -v swift-frontend)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for name in x86:X86BranchFilter arm64:Arm64BranchFilter; do
  label=${name%%:*} filter=${name#*:}
  for opt in -O -Osize; do
    # top-level code must be main.swift; the program names X86BranchFilter, swapped for the other
    sed -e "s/X86BranchFilter/$filter/g" -e "s/x86 filter undo/$label filter undo/" \
      scripts/bench/filter-throughput.swift > "$work/main.swift"
    swiftc "$opt" -o "$work/bench" "$work/main.swift" "Sources/BundleCodecs/$filter.swift"
    printf '%-7s ' "$opt"; "$work/bench" "$file"
  done
done
