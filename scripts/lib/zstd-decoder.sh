# Sourced, after scripts/lib/zig-toolchain.sh's `zig_toolchain`. `zstd_decoder ZIGTARGET` builds
# zstd's decoder alone (lib/common and lib/decompress of zstd 1.5.4, the version of Debian's
# libzstd-dev that the Swift side's headers come from) into .build-dgmo/zstd-decoder/ZIGTARGET/libzstd.a with the pinned `zig cc`, when it
# is missing or its recipe changed, and sets ZSTD_DECODER_LIB to it. scripts/build-stub.sh links it
# instead of Debian's libzstd.a.
#
# Why: the launcher only decodes. Debian's libzstd.a is built with the legacy decoders (formats
# v0.5-v0.7, which ZSTD_decompressStream reaches, so --gc-sections cannot drop them) and without
# -ffunction-sections: 193 KB of it stayed in the x64 stub, 114 KB of this one does, and the stub is
# 105 KB smaller with the unwind tables that went with it (docs/platforms.md).
# No legacy format (ZSTD_LEGACY_SUPPORT=0): our builder writes zstd 1.5 frames only.
# Decode speed: -O2 as Debian's, the BMI2 variants chosen at run time and the x86-64 Huffman
# assembly are kept: measured as fast as Debian's library (docs/benchmarks.md).
#
# The source is Debian's orig tarball (upstream's release less files outside lib/), pinned by its
# SHA-256 (the same as in bookworm's Sources index), downloaded once into .build-dgmo/src with
# python3 (no curl needed). Debian's patches for 1.5.4 touch the CLI, the tests and the compressor's
# block splitter only, none of lib/common or lib/decompress.
ZSTD_DECODER_VERSION=1.5.4
ZSTD_DECODER_TARBALL=libzstd_1.5.4+dfsg2.orig.tar.xz
ZSTD_DECODER_SHA256=8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c19953
ZSTD_DECODER_URLS=(
  "https://deb.debian.org/debian/pool/main/libz/libzstd/$ZSTD_DECODER_TARBALL"
  "https://snapshot.debian.org/archive/debian/20250520T000000Z/pool/main/libz/libzstd/$ZSTD_DECODER_TARBALL"
)
ZSTD_DECODER_FILES=(common/debug.c common/entropy_common.c common/error_private.c
  common/fse_decompress.c common/xxhash.c common/zstd_common.c decompress/huf_decompress.c
  decompress/zstd_ddict.c decompress/zstd_decompress.c decompress/zstd_decompress_block.c
  decompress/huf_decompress_amd64.S)
# -g0: no debug info (no build path in the archive); no unwind tables (nothing unwinds in the stub).
ZSTD_DECODER_CFLAGS=(-O2 -g0 -fno-sanitize=all -ffunction-sections -fdata-sections
  -fno-asynchronous-unwind-tables -fno-unwind-tables
  -DXXH_NAMESPACE=ZSTD_ -DZSTD_LEGACY_SUPPORT=0 -DZSTD_MULTITHREAD_SUPPORT=0)

zstd_decoder() {
  local zigtarget=$1 zig cc root src tarball out recipe tmp f
  read -r -a zig <<<"${ZIG_CC% cc}"
  cc=("${zig[@]}" cc -target "$zigtarget")
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  src="$root/.build-dgmo/src"
  tarball="$src/$ZSTD_DECODER_TARBALL"
  out="$root/.build-dgmo/zstd-decoder/$zigtarget"
  ZSTD_DECODER_LIB="$out/libzstd.a"
  # The Swift side compiles against the system's zstd.h (Sources/CZstd): it must be this version.
  if ! grep -Eq '^#define ZSTD_VERSION_MINOR +5$' /usr/include/zstd.h 2>/dev/null ||
     ! grep -Eq '^#define ZSTD_VERSION_RELEASE +4$' /usr/include/zstd.h; then
    echo "zstd-decoder: /usr/include/zstd.h is not zstd $ZSTD_DECODER_VERSION (scripts/lib/zstd-decoder.sh pins that version)" >&2
    return 1
  fi
  recipe="$ZSTD_DECODER_SHA256 $zigtarget $(sha256sum <"$root/packaging/zig/requirements.txt") ${ZSTD_DECODER_CFLAGS[*]} ${ZSTD_DECODER_FILES[*]}"
  if [ -f "$ZSTD_DECODER_LIB" ] && [ "$(cat "$out/recipe" 2>/dev/null)" = "$recipe" ]; then return 0; fi
  if ! echo "$ZSTD_DECODER_SHA256  $tarball" | sha256sum --check --status 2>/dev/null; then
    mkdir -p "$src"
    echo "downloading zstd $ZSTD_DECODER_VERSION's source into ${src#"$root"/}" >&2
    python3 - "$tarball" "$ZSTD_DECODER_SHA256" "${ZSTD_DECODER_URLS[@]}" <<'EOF' || return 1
import hashlib, os, sys, urllib.request
path, sha, urls = sys.argv[1], sys.argv[2], sys.argv[3:]
for url in urls:
    try:
        data = urllib.request.urlopen(url, timeout=60).read()
    except OSError as e:
        print(f"zstd-decoder: {url}: {e}", file=sys.stderr); continue
    if hashlib.sha256(data).hexdigest() != sha:
        print(f"zstd-decoder: {url}: not the pinned SHA-256 {sha}", file=sys.stderr); continue
    with open(path + ".part", "wb") as f: f.write(data)
    os.replace(path + ".part", path); sys.exit(0)
sys.exit(1)
EOF
  fi
  echo "building zstd $ZSTD_DECODER_VERSION's decoder for $zigtarget into ${out#"$root"/}" >&2
  mkdir -p "$out"
  tmp=$(mktemp -d "$out/tmp.XXXXXX")
  tar -xJf "$tarball" -C "$tmp" "zstd-$ZSTD_DECODER_VERSION/lib" || { rm -rf "$tmp"; return 1; }
  local lib="$tmp/zstd-$ZSTD_DECODER_VERSION/lib" objs=() pids=() ok=1
  for f in "${ZSTD_DECODER_FILES[@]}"; do
    objs+=("$tmp/$(basename "$f").o")
    "${cc[@]}" "${ZSTD_DECODER_CFLAGS[@]}" -I "$lib" -I "$lib/common" -c "$lib/$f" -o "${objs[-1]}" &
    pids+=($!)
  done
  for f in "${pids[@]}"; do wait "$f" || ok=0; done
  # llvm-ar (zig ar) with D: no timestamps or owners, so the archive is the same on every machine.
  if [ $ok = 1 ] && "${zig[@]}" ar rcsD "$tmp/libzstd.a" "${objs[@]}"; then
    mv -f "$tmp/libzstd.a" "$ZSTD_DECODER_LIB"
    echo "$recipe" >"$out/recipe"
    rm -rf "$tmp"
    return 0
  fi
  rm -rf "$tmp"
  return 1
}
