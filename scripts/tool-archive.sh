#!/usr/bin/env bash
# The release archive of bundle-append itself: the tool with its launcher stubs, so that a packager
# who downloads it builds bundles without our source tree (docs/release.md, "bundle-append").
#
#   scripts/tool-archive.sh build OUT          builds bundle-append for this machine's architecture
#                                              (release, Swift runtime and Foundation static, libsodium,
#                                              liblzma, zlib, libzstd, libstdc++ and libgcc static too)
#                                              into the file OUT, and checks that it needs only the C
#                                              library (libc, libm, ld-linux) at run time
#                                              TOOL_CONFIG=debug builds it unoptimised, in about half
#                                              the time (ToolReleaseTests: what it checks is the link
#                                              and the layout, which do not depend on optimisation)
#   scripts/tool-archive.sh pack TOOL STUBS OUTDIR
#                                              packs TOOL (a binary from `build`, x86-64 or aarch64) and
#                                              STUBS/<target>/bundle-stub[.exe] for every target into
#                                              OUTDIR/bundle-append-<version>-linux-<arch>.tar.gz
#
# The archive (found by StubLocation: `bin/..` holds `stubs/`, symlinks to the tool resolved):
#   bundle-append-<version>-linux-<arch>/
#     bin/bundle-append
#     stubs/linux-x64/bundle-stub  stubs/linux-arm64/bundle-stub  stubs/windows-x64/bundle-stub.exe
#     share/doc/bundle-append/     README.md and docs/{spec,ops,security,format,platforms,release}.md
#                                  (and recipes.md when there is one)
#     README.txt                   how to install, the runtime needs, the glibc floor
#
# STUB_TARGETS (default: "linux-x64 linux-arm64 windows-x64") names the stubs `pack` requires; the
# tests pack linux-x64 only. Deterministic: sorted, owner 0, every mtime SOURCE_DATE_EPOCH (default:
# the last commit's time), gzip -n. Used by scripts/release.sh (`make release`) and by the release
# workflow's arm64 job (`build` there; the archive is packed with x64's in build-linux-x64).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "tool-archive: $*" >&2; exit "${2:-1}"; }
export TZ=UTC LC_ALL=C

# The NEEDED entries a released tool may have: the C library's own files, present on every glibc
# system. Anything else (libswiftCore, libFoundation, libsodium, libstdc++, libgcc_s) means a user
# would have to install it.
allowed_needed='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'

check_needed() {
  local bad
  bad=$(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev "$allowed_needed" || true)
  [ -z "$bad" ] || die "$1 needs $(echo "$bad" | paste -sd' ') at run time; a released tool may need only the C library"
}

# The newest GLIBC_x.y symbol version the file needs: the oldest glibc it runs on.
glibc_floor() {
  readelf -V --wide "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1
}

cmd_build() {
  local out=${1:?usage: tool-archive.sh build OUT} multiarch static cxx
  multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
  # The linker takes the first directory holding libX.so or libX.a for each -lX: a directory with
  # only the .a files, searched before the system's, makes the system libraries' -l flags (from
  # the module maps in Sources/C*) static without touching Package.swift.
  static=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the directory is this call's
  trap "rm -rf '$static'" EXIT
  for lib in sodium lzma z zstd; do
    [ -f "/usr/lib/$multiarch/lib$lib.a" ] || die "/usr/lib/$multiarch/lib$lib.a is missing (scripts/install-deps.sh installs the -dev packages)"
    ln -s "/usr/lib/$multiarch/lib$lib.a" "$static/"
  done
  # The Swift runtime's link line asks for -lstdc++: its static archive, so no libstdc++.so.6.
  cxx=$(gcc -print-file-name=libstdc++.a 2>/dev/null || true)
  [ -f "$cxx" ] || die "libstdc++.a not found (gcc -print-file-name; Debian: libstdc++-12-dev)"
  ln -s "$cxx" "$static/"
  # Its own scratch path: these flags differ from `swift build -c release`'s, and sharing .build
  # would rebuild everything each time one or the other ran.
  local config=${TOOL_CONFIG:-release}
  case $config in release | debug) ;; *) die "TOOL_CONFIG must be release or debug, not '$config'" 2 ;; esac
  swift build -c "$config" --product bundle-append --scratch-path .build/static-tool --static-swift-stdlib \
    -Xlinker -L"$static" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc >&2
  local bin
  bin=$(swift build -c "$config" --scratch-path .build/static-tool --show-bin-path)/bundle-append
  check_needed "$bin"
  mkdir -p "$(dirname "$out")"
  cp "$bin" "$out"
  strip --strip-unneeded "$out"
  echo "tool-archive: built $out ($(stat -c %s "$out") bytes, glibc $(glibc_floor "$out")+, needs $(readelf -d "$out" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' '))" >&2
}

cmd_pack() {
  local tool=${1:?usage: tool-archive.sh pack TOOL STUBS OUTDIR} stubs=${2:?usage: tool-archive.sh pack TOOL STUBS OUTDIR}
  local outdir=${3:?usage: tool-archive.sh pack TOOL STUBS OUTDIR} version machine arch floor name w t f doc targets
  [ -f "$tool" ] || die "no such tool binary: $tool" 2
  check_needed "$tool"
  version=$(sed -n 's/.*static let number = "\(.*\)".*/\1/p' Sources/BundleBuilder/ToolSupport.swift)
  [ -n "$version" ] || die "cannot read ToolVersion.number from Sources/BundleBuilder/ToolSupport.swift"
  machine=$(readelf -h "$tool" | sed -n 's/^ *Machine: *//p')
  case $machine in
    *X86-64*) arch=x64 ;;
    *AArch64*) arch=arm64 ;;
    *) die "$tool is a $machine ELF file; the archives are for x86-64 and AArch64" ;;
  esac
  floor=$(glibc_floor "$tool")
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
  name=bundle-append-$version-linux-$arch
  w=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the directory is this call's
  trap "rm -rf '$w'" EXIT
  install -D -m 0755 "$tool" "$w/$name/bin/bundle-append"
  targets=${STUB_TARGETS:-linux-x64 linux-arm64 windows-x64}
  for t in $targets; do
    f=bundle-stub; [ "$t" = windows-x64 ] && f=bundle-stub.exe
    [ -f "$stubs/$t/$f" ] || die "$stubs/$t/$f is missing (make stubs, stubs-arm64, stubs-windows)" 2
    install -D -m 0755 "$stubs/$t/$f" "$w/$name/stubs/$t/$f"
  done
  install -D -m 0644 README.md "$w/$name/share/doc/bundle-append/README.md"
  for doc in spec ops security format platforms release recipes; do
    [ -f "docs/$doc.md" ] && install -D -m 0644 "docs/$doc.md" "$w/$name/share/doc/bundle-append/$doc.md"
  done
  cat > "$w/$name/README.txt" <<TXT
bundle-append $version for Linux $arch: builds, signs, inspects, verifies and extracts single-file
bundles, with the launcher stubs for ${targets// /, } in stubs/.

Install: unpack anywhere and put bin/ on PATH (or symlink bin/bundle-append into a directory on
PATH); keep bin/ and stubs/ side by side, the tool finds its stubs at bin/../stubs/<target>/.

  bundle-append keygen mykey
  bundle-append build app.toml -o app --key mykey.key     (share/doc/bundle-append/spec.md)

Runs on: Linux $arch with glibc $floor or newer. It needs nothing else: the Swift runtime,
Foundation, libsodium, liblzma, zlib, libzstd and libstdc++ are linked in.
The bundles it builds have their own floor (the stubs are static; see platforms.md).

Check the download first:  minisign -Vm $name.tar.gz -p dgmo.pub
TXT
  chmod 0644 "$w/$name/README.txt"
  find "$w/$name" -type d -exec chmod 0755 {} +
  find "$w/$name" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  mkdir -p "$outdir"
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$w" -cf - "$name" | gzip -9 -n > "$outdir/$name.tar.gz"
  echo "$outdir/$name.tar.gz"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  pack) shift; cmd_pack "$@" ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) die "usage: tool-archive.sh build OUT | pack TOOL STUBS OUTDIR (see --help)" 2 ;;
esac
