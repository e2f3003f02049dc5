#!/usr/bin/env bash
# `make release`: every artifact a release page needs, from dist/dgmo-linux-x64 (`make dgmo`) and,
# when SRC_ARM64 names it, dist/dgmo-linux-arm64 (`make dgmo TARGET=linux-arm64`; `make release` does).
#
#   dgmo-<v>-linux-x64.tar.gz / .tar.xz   the binary, its SBOM, man page and README
#   dgmo_<v>-1_amd64.deb                  installs /usr/bin/dgmo (dpkg-deb; lintian-checked)
#   dgmo-<v>-1.x86_64.rpm                 installs /usr/bin/dgmo (rpmbuild)
#   dgmo-<v>-linux-x64                    the bare binary
#   dgmo-<v>.cdx.json                     CycloneDX SBOM (also inside: dgmo --launcher sbom)
#   linux-arm64: dgmo-<v>-linux-arm64.tar.gz/.tar.xz, dgmo_<v>-1_arm64.deb, dgmo-<v>-1.aarch64.rpm,
#   dgmo-<v>-linux-arm64 and dgmo-<v>-linux-arm64.cdx.json (the arm64 binary runs here under qemu,
#   registered with binfmt_misc for the run: scripts/lib/qemu-binfmt.sh)
#   windows-x64, when SRC_WINDOWS names it (dist/dgmo-windows-x64.exe, `make dgmo TARGET=windows-x64`,
#   its SBOM beside it as dgmo-windows-x64.exe.cdx.json): dgmo-<v>-windows-x64.exe,
#   dgmo-<v>-windows-x64-setup.exe (NSIS), dgmo-<v>-windows-x64.zip and dgmo-<v>-windows-x64.cdx.json
#   (scripts/windows-installer.sh; Authenticode-signed when DGMO_WINDOWS_CERT names a PKCS#12 file)
#   bundle-append-<tv>-linux-x64.tar.gz   the packager's tool with its stubs, when TOOL_X64 names the
#                                         binary (scripts/tool-archive.sh build; `make release` does);
#   bundle-append-<tv>-linux-arm64.tar.gz likewise TOOL_ARM64 (built by the release workflow only).
#                                         Their stubs come from $BIN/stubs/<target>/ (all three targets).
#   checksums.sha256                      `sha256sum -c checksums.sha256`
#   *.minisig, dgmo.pub                   `minisign -Vm FILE -p dgmo.pub`
#
# Reproducible: with the same inputs and SOURCE_DATE_EPOCH (default: the last commit's time),
# two runs give byte-identical files (scripts/reproducibility-test.sh checks it).
# Key: $DGMO_RELEASE_KEY (minisign secret key), default the development key dgmo-build made.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export TZ=UTC LC_ALL=C
BIN=${BIN:-$(swift build -c release --show-bin-path)}
KEY=${DGMO_RELEASE_KEY:-.build-dgmo/dev-signing.key}
SRC=${SRC:-dist/dgmo-linux-x64}
SRC_ARM64=${SRC_ARM64:-}
SRC_WINDOWS=${SRC_WINDOWS:-}
TOOL_X64=${TOOL_X64:-}
TOOL_ARM64=${TOOL_ARM64:-}
OUT=${OUT:-dist/release}
[ -x "$SRC" ] || { echo "release: $SRC is missing (run 'make dgmo')" >&2; exit 2; }
[ -z "$SRC_ARM64" ] || [ -x "$SRC_ARM64" ] || { echo "release: $SRC_ARM64 is missing (run 'make dgmo TARGET=linux-arm64')" >&2; exit 2; }
[ -z "$SRC_WINDOWS" ] || [ -f "$SRC_WINDOWS" ] || { echo "release: $SRC_WINDOWS is missing (run 'make dgmo TARGET=windows-x64')" >&2; exit 2; }
[ -z "$SRC_WINDOWS" ] || [ -f "$SRC_WINDOWS.cdx.json" ] || { echo "release: $SRC_WINDOWS.cdx.json (its SBOM) is missing (run 'make dgmo TARGET=windows-x64')" >&2; exit 2; }
for t in $TOOL_X64 $TOOL_ARM64; do
  [ -f "$t" ] || { echo "release: the bundle-append binary $t is missing (scripts/tool-archive.sh build $t)" >&2; exit 2; }
done
[ -f "$KEY" ] || { echo "release: signing key $KEY not found (set DGMO_RELEASE_KEY)" >&2; exit 2; }
VERSION=$(python3 -c "import json; print(json.load(open('examples/dgmo/package.json'))['version'])")

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [ -n "$SRC_ARM64" ]; then
  # register undoes its own partial work when it fails; unregister then is the trap's job.
  bash scripts/lib/qemu-binfmt.sh register $$
  trap 'bash scripts/lib/qemu-binfmt.sh unregister $$; rm -rf "$W"' EXIT
fi
[ -f "${KEY%.key}.pub" ] || { echo "release: no public key ${KEY%.key}.pub beside $KEY" >&2; exit 2; }
for s in "$SRC" $SRC_ARM64; do
  [ "$("$s" --launcher info --json | python3 -c "import json,sys; print(json.load(sys.stdin)['version'])")" = "$VERSION" ] \
    || { echo "release: $s is not version $VERSION (run 'make dgmo')" >&2; exit 2; }
  # Signed by the key the artifacts are signed with (a prebuilt arm64 binary comes from another job).
  "$BIN/bundle-append" verify "$s" --pubkey "${KEY%.key}.pub" >/dev/null \
    || { echo "release: $s is not signed by ${KEY%.key}.pub: build it with the same DGMO_RELEASE_KEY" >&2; exit 2; }
done
# The Windows exe does not run here: its version and signature are read with bundle-append.
if [ -n "$SRC_WINDOWS" ]; then
  win_version=$("$BIN/bundle-append" inspect --json "$SRC_WINDOWS" | python3 -c "import json, sys
d = json.load(sys.stdin)
print(d['version'] if d.get('target') == 'windows-x64' else '')" 2>/dev/null) || true
  [ "$win_version" = "$VERSION" ] \
    || { echo "release: $SRC_WINDOWS is not a windows-x64 DGMO $VERSION (run 'make dgmo TARGET=windows-x64')" >&2; exit 2; }
  "$BIN/bundle-append" verify "$SRC_WINDOWS" --pubkey "${KEY%.key}.pub" >/dev/null \
    || { echo "release: $SRC_WINDOWS is not signed by ${KEY%.key}.pub: build it with the same DGMO_RELEASE_KEY" >&2; exit 2; }
fi
rm -rf "$OUT"; mkdir -p "$OUT"
touch_all() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }
# The man page carries the release's version and date (SOURCE_DATE_EPOCH's day).
sed -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)/g" packaging/dgmo.1 > "$W/dgmo.1"
gzip -9 -n -c "$W/dgmo.1" > "$W/dgmo.1.gz"     # Debian's convention (.deb)
bzip2 -9 -c "$W/dgmo.1" > "$W/dgmo.1.bz2"       # rpmlint's default CompressExtension (.rpm); no timestamps

# The artifacts of one target: TARGET, the binary SRC, and the names and architectures for it.
release_target() {
TARGET=$1 SRC=$2
NAME=dgmo-$VERSION-$TARGET
case $TARGET in
  linux-x64) DEB_ARCH=amd64 RPM_ARCH=x86_64 MACHINE=x86_64 SBOM=dgmo-$VERSION.cdx.json ;;
  linux-arm64) DEB_ARCH=arm64 RPM_ARCH=aarch64 MACHINE=aarch64 SBOM=dgmo-$VERSION-$TARGET.cdx.json ;;
esac
WT=$W/$TARGET; mkdir -p "$WT"; cp "$W"/dgmo.1* "$WT/"
# The oldest glibc every file in the binary runs on, measured (scripts/lib/glibc-floor.sh): the
# .deb Depends and the .rpm Requires say exactly that.
GLIBC_FLOOR=$(scripts/lib/glibc-floor.sh "$SRC")

# --- the binary and its SBOM ---------------------------------------------------------------
cp "$SRC" "$OUT/$NAME"
"$SRC" --launcher sbom > "$OUT/$SBOM"

# --- archives ------------------------------------------------------------------------------
make_archives() {
mkdir -p "$WT/$NAME"
cp "$SRC" "$WT/$NAME/dgmo"
cp "$OUT/$SBOM" "$WT/$NAME/sbom.cdx.json"
cp "$WT/dgmo.1" "$WT/$NAME/dgmo.1"
cat > "$WT/$NAME/README.txt" <<TXT
DGMO $VERSION for Linux $MACHINE: one file, no runtime to install.

  ./dgmo --version
  ./dgmo help
  ./dgmo --launcher sbom     what is inside (CycloneDX)

Check the download first:  minisign -Vm $NAME.tar.xz -p dgmo.pub
TXT
chmod 0755 "$WT/$NAME/dgmo"; chmod 0644 "$WT/$NAME"/{sbom.cdx.json,dgmo.1,README.txt}
touch_all "$WT/$NAME"
tar_det() { tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu -C "$WT" -cf - "$NAME"; }
tar_det | gzip -9 -n > "$OUT/$NAME.tar.gz"
tar_det | xz -9 -T1 > "$OUT/$NAME.tar.xz"
}

# --- .deb ----------------------------------------------------------------------------------
make_deb() {
D=$WT/deb
install -D -m 0755 "$SRC" "$D/usr/bin/dgmo"
install -D -m 0644 packaging/copyright "$D/usr/share/doc/dgmo/copyright"
install -D -m 0644 "$OUT/$SBOM" "$D/usr/share/doc/dgmo/sbom.cdx.json"
install -D -m 0644 "$WT/dgmo.1.gz" "$D/usr/share/man/man1/dgmo.1.gz"
# lintian reads the accepted tags from the package itself (docs/release.md lists each with its reason).
install -D -m 0644 packaging/lintian-overrides "$D/usr/share/lintian/overrides/dgmo"
printf 'dgmo (%s-1) unstable; urgency=medium\n\n  * Release %s.\n\n -- DGMO maintainers <maintainers@dgmo.invalid>  %s\n' \
  "$VERSION" "$VERSION" "$(date -u -d "@$SOURCE_DATE_EPOCH" -R)" | gzip -9 -n > "$D/usr/share/doc/dgmo/changelog.Debian.gz"
chmod 0644 "$D/usr/share/doc/dgmo/changelog.Debian.gz"
mkdir -p "$D/DEBIAN"
cat > "$D/DEBIAN/control" <<CTL
Package: dgmo
Version: $VERSION-1
Architecture: $DEB_ARCH
Maintainer: DGMO maintainers <maintainers@dgmo.invalid>
Installed-Size: $(du -sk --apparent-size "$D/usr" | cut -f1)
Depends: libc6 (>= $GLIBC_FLOOR)
Section: utils
Priority: optional
Homepage: https://dgmo.invalid/
Description: polyglot command-line app (Bun, Python, Go) in one verified binary
 DGMO combines a TypeScript command line (run by Bun), a Python evolutionary
 engine and Go system components. The binary carries all three runtimes,
 verifies its Ed25519 signature and extracts what each command needs into a
 per-user cache on first use.
CTL
find "$D" -type d -exec chmod 0755 {} +
touch_all "$D"
dpkg-deb --root-owner-group -Zxz -z9 --build "$D" "$OUT/dgmo_${VERSION}-1_${DEB_ARCH}.deb" >/dev/null
}

# --- .rpm ----------------------------------------------------------------------------------
make_rpm() {
R=$WT/rpm
# The host's architecture is named in the spec; another one comes from rpmbuild --target below.
if [ "$RPM_ARCH" = "$(uname -m)" ]; then BUILD_ARCH_LINE="BuildArch:      $RPM_ARCH"; else BUILD_ARCH_LINE="# BuildArch: $RPM_ARCH (rpmbuild --target)"; fi
mkdir -p "$R"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}
cp "$SRC" "$R/SOURCES/dgmo"; cp packaging/copyright "$R/SOURCES/copyright"
cp "$WT/dgmo.1.bz2" "$R/SOURCES/dgmo.1.bz2"; cp "$OUT/$SBOM" "$R/SOURCES/sbom.cdx.json"
cat > "$R/SPECS/dgmo.spec" <<SPEC
Name:           dgmo
Version:        $VERSION
Release:        1
Summary:        Polyglot command-line app (Bun, Python, Go) in one verified binary
License:        DGMO-unreleased
Group:          Applications/System
Packager:       DGMO maintainers <maintainers@dgmo.invalid>
URL:            https://dgmo.invalid/
Source0:        dgmo
Source1:        copyright
Source2:        dgmo.1.bz2
Source3:        sbom.cdx.json
$BUILD_ARCH_LINE
AutoReqProv:    no
Requires:       glibc >= $GLIBC_FLOOR

# The binary carries its payload after the ELF image: stripping, debuginfo extraction or
# build-id links would cut or rewrite it, so all of them are off.
%global debug_package %{nil}
%global __strip /bin/true
%global __os_install_post %{nil}
%define _build_id_links none

%description
DGMO combines a TypeScript command line (run by Bun), a Python evolutionary
engine and Go system components. The binary carries all three runtimes,
verifies its Ed25519 signature and extracts what each command needs into a
per-user cache on first use.

%install
install -D -m 0755 %{SOURCE0} %{buildroot}/usr/bin/dgmo
install -D -m 0644 %{SOURCE2} %{buildroot}/usr/share/man/man1/dgmo.1.bz2
install -D -m 0644 %{SOURCE1} %{buildroot}/usr/share/doc/dgmo/copyright
install -D -m 0644 %{SOURCE3} %{buildroot}/usr/share/doc/dgmo/sbom.cdx.json

%files
/usr/bin/dgmo
/usr/share/man/man1/dgmo.1*
%doc /usr/share/doc/dgmo/copyright
%doc /usr/share/doc/dgmo/sbom.cdx.json

%changelog
* $(date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y') DGMO maintainers <maintainers@dgmo.invalid> - $VERSION-1
- Release $VERSION.
SPEC
touch_all "$R/SOURCES"
# shellcheck disable=SC2046 # another architecture: --target (rpmbuild refuses a foreign BuildArch)
rpmbuild -bb --quiet $([ "$RPM_ARCH" = "$(uname -m)" ] || echo --target "$RPM_ARCH") \
  --define "_topdir $R" --define "_buildhost reproducible" \
  --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
  --define "_binary_payload w9.xzdio" --define "source_date_epoch_from_changelog 0" \
  "$R/SPECS/dgmo.spec" >/dev/null 2>"$WT/rpmbuild.log" || { cat "$WT/rpmbuild.log" >&2; exit 1; }
cp "$R/RPMS/$RPM_ARCH/dgmo-$VERSION-1.$RPM_ARCH.rpm" "$OUT/"
}

# The three are independent and mostly compression: run them side by side.
make_archives & p1=$!
make_deb & p2=$!
make_rpm & p3=$!
status=0
for p in $p1 $p2 $p3; do wait "$p" || status=1; done
[ $status -eq 0 ] || { echo "release: packaging $TARGET failed" >&2; exit 1; }
}
release_target linux-x64 "$SRC"
[ -z "$SRC_ARM64" ] || release_target linux-arm64 "$SRC_ARM64"
# windows-x64: the exe (Authenticode-signed first when DGMO_WINDOWS_CERT is set), its installer and zip.
if [ -n "$SRC_WINDOWS" ]; then
  cp "$SRC_WINDOWS.cdx.json" "$OUT/dgmo-$VERSION-windows-x64.cdx.json"
  scripts/windows-installer.sh "$SRC_WINDOWS" "$VERSION" "$OUT" "$OUT/dgmo-$VERSION-windows-x64.cdx.json" \
    || { echo "release: packaging windows-x64 failed" >&2; exit 1; }
fi

# bundle-append itself, with the launcher stubs of every target (scripts/tool-archive.sh).
for t in $TOOL_X64 $TOOL_ARM64; do
  scripts/tool-archive.sh pack "$t" "$BIN/stubs" "$OUT" >/dev/null \
    || { echo "release: packing bundle-append ($t) failed" >&2; exit 1; }
done

# --- lintian and rpmlint ------------------------------------------------------------------
# The accepted tags ship inside the .deb (usr/share/lintian/overrides/dgmo) and in
# packaging/rpmlint.toml, each listed with its reason in docs/release.md; anything else fails.
scripts/lint-packages.sh "$OUT" >&2 || { echo "release: the packages have unaccepted lintian or rpmlint tags" >&2; exit 1; }

# --- checksums, signatures, public key ---------------------------------------------------
( cd "$OUT" && sha256sum -- * > checksums.sha256 )
for f in "$OUT"/*; do
  "$BIN/bundle-append" sign "$f" --key "$KEY" >/dev/null
done
# The public key beside the secret key (bundle-append keygen and dgmo-build write both).
cp "${KEY%.key}.pub" "$OUT/dgmo.pub"

# --- the table -----------------------------------------------------------------------------
echo
printf '%-44s %12s  %s\n' ARTIFACT SIZE SHA-256
for f in "$OUT"/*; do
  printf '%-44s %12s  %s\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)"
done
