#!/usr/bin/env bash
# The oldest glibc a DGMO binary runs on, measured from the files it carries (not written by hand).
#
#   scripts/lib/glibc-floor.sh BINARY            prints the floor, e.g. "2.17"
#   scripts/lib/glibc-floor.sh --report BINARY   also a table per layer (stderr): newest GLIBC_x.y
#                                                symbol version needed, minimum kernel (ELF ABI note)
#
# Every layer is extracted (`BINARY --launcher extract DIR`), and every ELF file in it (found by
# its magic bytes, whatever its name or mode) is read with `readelf -V`: the floor is the newest
# GLIBC_x.y in any "version needs" entry. The launcher stub itself is scanned too (it is static
# today: it needs none). A layer that carries its own loader (a file named ld-linux-x86-64.so.2, or
# ld-linux-aarch64.so.1 in a linux-arm64 binary, which needs binfmt_misc's qemu registration to run here)
# runs on that loader's C library, not the system's, so its files do not raise the floor: they
# are reported, and GlibcFloorTests checks that they stay inside the layer.
# scripts/release.sh writes the result into the .deb Depends and the .rpm Requires.
set -euo pipefail
report=0
if [ "${1:-}" = "--report" ]; then report=1; shift; fi
binary=${1:?usage: glibc-floor.sh [--report] BINARY}
[ -f "$binary" ] || { echo "glibc-floor: no such file: $binary" >&2; exit 2; }
command -v readelf >/dev/null || { echo "glibc-floor: readelf not found (binutils)" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$(realpath "$binary")" --launcher extract "$dir/layers" >/dev/null \
  || { echo "glibc-floor: '$binary --launcher extract' failed" >&2; exit 1; }

# newest_glibc FILE...: the newest GLIBC_x.y any of the files needs (empty when none).
newest_glibc() {
  local f
  for f in "$@"; do
    readelf -V -W "$f" 2>/dev/null | awk '/^Version needs section/ {n=1; next} /^Version (definition|symbols) section/ {n=0} n && /Name: GLIBC_[0-9]/ {for (i=1;i<=NF;i++) if ($i=="Name:") print $(i+1)}'
  done | sed 's/^GLIBC_//' | sort -uV | tail -1
}
# kernel_floor FILE...: the newest minimum kernel in the files' NT_GNU_ABI_TAG notes.
kernel_floor() {
  local f
  for f in "$@"; do readelf -n -W "$f" 2>/dev/null | sed -n 's/.*OS: Linux, ABI: \([0-9.]*\).*/\1/p'; done | sort -uV | tail -1
}
elves() { find "$1" -type f -print0 | while IFS= read -r -d '' f; do [ "$(head -c4 "$f" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && echo "$f"; done; }

floor=$(newest_glibc "$binary")
[ "$report" -eq 1 ] && printf '%-8s %-6s %-14s %-8s %s\n' layer ELFs "newest GLIBC" kernel "own loader" >&2 \
  && printf '%-8s %-6s %-14s %-8s %s\n' stub 1 "${floor:-none}" "$(kernel_floor "$binary")" no >&2
for layer in "$dir"/layers/*/; do
  name=$(basename "$layer")
  mapfile -t files < <(elves "$layer")
  [ ${#files[@]} -gt 0 ] || { [ "$report" -eq 1 ] && printf '%-8s %-6s %-14s %-8s %s\n' "$name" 0 none - - >&2; continue; }
  need=$(newest_glibc "${files[@]}")
  own=no
  if [ -n "$(find "$layer" -type f \( -name ld-linux-x86-64.so.2 -o -name ld-linux-aarch64.so.1 \) | head -1)" ]; then own=yes; fi
  [ "$report" -eq 1 ] && printf '%-8s %-6s %-14s %-8s %s\n' "$name" ${#files[@]} "${need:-none}" "$(k=$(kernel_floor "${files[@]}"); echo "${k:--}")" $own >&2
  [ "$own" = yes ] && continue
  floor=$(printf '%s\n%s\n' "$floor" "$need" | sed '/^$/d' | sort -uV | tail -1)
done
[ -n "$floor" ] || { echo "glibc-floor: no ELF file needs glibc at all; refusing to guess a floor" >&2; exit 1; }
echo "$floor"
