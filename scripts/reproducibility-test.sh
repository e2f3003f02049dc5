#!/usr/bin/env bash
# Builds DGMO and every release artifact twice from the same inputs, from scratch each time
# (stage emptied, PyInstaller re-run), and compares the two sets byte for byte: both targets,
# linux-x64 and linux-arm64 (REPRO_TARGETS=linux-x64 for x64 only). dgmo-build stages into
# .build-dgmo/stage and .build-dgmo/linux-arm64/stage (its spec names that path): a stage already
# there is put aside first and put back at the end, so the work tree's build is left as it was.
#
#   scripts/reproducibility-test.sh            release settings (as `make release`)
#   DGMO_BUILD_FLAGS= scripts/...              dev compression (faster; what `make test` runs)
#
# Like two plain `make release` runs, it sets no SOURCE_DATE_EPOCH of its own: each tool takes the
# last commit's time when the variable is unset (BuildTime in dgmo-build and bundle-append,
# scripts/release.sh for archives and packages), so that default is what is tested. A
# SOURCE_DATE_EPOCH in the environment is used as given.
#
# BIN: the directory with dgmo-build, bundle-append and stubs/<target>/bundle-stub (default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  when="SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
else
  git log -1 --format=%ct >/dev/null 2>&1 || { echo "reproducibility-test: not in a git repository and SOURCE_DATE_EPOCH is unset" >&2; exit 2; }
  when="SOURCE_DATE_EPOCH unset: every tool uses the last commit's time, $(git log -1 --format=%ct)"
fi
BIN=${BIN:-$(swift build -c release --show-bin-path)}
FLAGS=${DGMO_BUILD_FLAGS---release}
TARGETS=${REPRO_TARGETS:-linux-x64 linux-arm64}
W=$(mktemp -d /tmp/dgmo-repro.XXXXXX)
stage_of() { if [ "$1" = linux-x64 ]; then echo .build-dgmo/stage; else echo ".build-dgmo/$1/stage"; fi; }
for t in $TARGETS; do
  s=$(stage_of "$t"); [ -e "$s" ] && mv "$s" "$s.repro-saved.$$"
done
# shellcheck disable=SC2317  # run by the EXIT trap
restore() {
  rm -rf "$W"
  for t in $TARGETS; do
    s=$(stage_of "$t")
    if [ -e "$s.repro-saved.$$" ]; then rm -rf "$s"; mv "$s.repro-saved.$$" "$s"; fi
  done
}
trap restore EXIT

for i in 1 2; do
  echo "== build $i ($when)"
  mkdir -p "$W/$i"
  for t in $TARGETS; do
    # shellcheck disable=SC2086
    if ! "$BIN/dgmo-build" $FLAGS --rebuild --target "$t" --stub "$BIN/stubs/$t/bundle-stub" -o "$W/$i/dgmo-$t" >"$W/$i/build-$t.log" 2>&1; then
      cat "$W/$i/build-$t.log" >&2
      echo "reproducibility-test: dgmo-build --target $t failed in build $i (its output is above)" >&2
      exit 1
    fi
    grep -E '^built|^\[' "$W/$i/build-$t.log" | sed 's/^/   /' || true
    mkdir -p "$W/$i/stage"; cp -a "$(stage_of "$t")" "$W/$i/stage/$t"
  done
  arm64=""; case " $TARGETS " in *" linux-arm64 "*) arm64="$W/$i/dgmo-linux-arm64" ;; esac
  BIN="$BIN" SRC="$W/$i/dgmo-linux-x64" SRC_ARM64="$arm64" OUT="$W/$i/release" scripts/release.sh | sed 's/^/   /'
done

echo "== comparing"
status=0
bins=(); for t in $TARGETS; do bins+=("$W/1/dgmo-$t" "$W/1/dgmo-$t.cdx.json"); done
for f in "$W/1/release"/* "${bins[@]}"; do
  rel=${f#"$W/1/"}
  if cmp -s "$f" "$W/2/$rel"; then echo "identical  $rel"; else echo "DIFFERENT  $rel"; status=1; fi
done
if [ $status -eq 0 ]; then
  echo "reproducibility-test: every artifact is byte-identical"
else
  echo "staged files that differ:"; diff -rq "$W/1/stage" "$W/2/stage" | sed 's/^/   /' | head -20
  echo "reproducibility-test: FAILED" >&2
fi
# REPRO_KEEP=DIR keeps the first build's release directory (the tests install from it).
if [ -n "${REPRO_KEEP:-}" ]; then rm -rf "$REPRO_KEEP"; cp -a "$W/1/release" "$REPRO_KEEP"; fi
exit $status
