#!/usr/bin/env bash
# Builds the libFuzzer target (Fuzz/FuzzFormat.swift + Sources/BundleFormat) with address
# sanitizer and runs it. Usage: scripts/fuzz.sh [SECONDS] (default 600).
# Seeds: Tests/FuzzCorpus/seeds (committed). Findings: Fuzz/out/crash-* (turn each into a test).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
mkdir -p Fuzz/out Fuzz/corpus
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name BundleFormatFuzz \
  Sources/BundleFormat/*.swift Sources/BundleCodecs/X86BranchFilter.swift Fuzz/FuzzFormat.swift -o Fuzz/out/fuzz-format
cp -n Tests/FuzzCorpus/seeds/* Fuzz/corpus/ 2>/dev/null || true
Fuzz/out/fuzz-format Fuzz/corpus -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=512 \
  -artifact_prefix=Fuzz/out/ -print_final_stats=1 2>&1 | tee Fuzz/out/last-run.log | grep -E "^#|stat::|ERROR|SUMMARY|Done" | tail -25
