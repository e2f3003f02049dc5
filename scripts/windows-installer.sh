#!/usr/bin/env bash
# The Windows x64 release artifacts from one DGMO exe (docs/release.md, "Windows"):
#
#   scripts/windows-installer.sh EXE VERSION OUTDIR [SBOM]
#
#   OUTDIR/dgmo-<v>-windows-x64.exe        EXE, Authenticode-signed when a certificate is given
#   OUTDIR/dgmo-<v>-windows-x64-setup.exe  the NSIS installer (packaging/windows/dgmo.nsi) of that exe
#   OUTDIR/dgmo-<v>-windows-x64.zip        dgmo.exe, README.txt, LICENSE.txt (and dgmo.cdx.json) in
#                                          one folder dgmo-<v>-windows-x64/
#
# Signing: with DGMO_WINDOWS_CERT (a PKCS#12 file) and DGMO_WINDOWS_CERT_PASSWORD (its password, may
# be empty), osslsigncode signs dgmo.exe before it is packed, the uninstaller while makensis builds
# the installer (!uninstfinalize), and the installer. DGMO_WINDOWS_TIMESTAMP_URL adds an RFC 3161
# timestamp (then the signatures, and so the files, differ from run to run). Without a certificate
# all three are unsigned and the script says so. The bundle's own Ed25519 signature is unaffected:
# the launcher finds its trailer before the certificate table (docs/format.md).
#
# Reproducible when unsigned, or signed without a timestamp: the signing time is SOURCE_DATE_EPOCH
# (default: the last commit's time), the zip's entries are sorted with that date, and makensis
# embeds no date (the installed files' mtimes are SOURCE_DATE_EPOCH).
#
#   scripts/windows-installer.sh --sign FILE   signs FILE in place (what makensis runs)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}
export TZ=UTC LC_ALL=C

die() { echo "windows-installer: $*" >&2; exit 1; }

# sign IN OUT: Authenticode (SHA-256) with DGMO_WINDOWS_CERT; OUT may be IN. Runs in a subshell, so
# that its EXIT trap removes the temporary directory (and the password file in it) on every way out,
# a failure under set -e included.
sign() (
  local in=$1 out=$2 tmp pass why
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  pass="$tmp/pass"
  (umask 077; printf '%s' "${DGMO_WINDOWS_CERT_PASSWORD:-}" > "$pass")
  local args=(sign -pkcs12 "$DGMO_WINDOWS_CERT" -readpass "$pass" -h sha256 -n DGMO -i https://dgmo.invalid/
              -time "$SOURCE_DATE_EPOCH")
  [ -z "${DGMO_WINDOWS_TIMESTAMP_URL:-}" ] || args+=(-ts "$DGMO_WINDOWS_TIMESTAMP_URL")
  if ! osslsigncode "${args[@]}" -in "$in" -out "$tmp/signed" > "$tmp/log" 2>&1; then
    # The log is read before the trap removes it.
    why=$(grep -v '^[[:space:]]*$' "$tmp/log" | tail -n 1 || true)
    die "osslsigncode sign $in failed: ${why:-(no output)}"
  fi
  cat "$tmp/signed" > "$out"
)

if [ "${1:-}" = "--sign" ]; then
  [ $# -eq 2 ] || die "usage: $0 --sign FILE"
  [ -n "${DGMO_WINDOWS_CERT:-}" ] || die "--sign needs DGMO_WINDOWS_CERT"
  sign "$2" "$2"
  exit 0
fi

{ [ $# -ge 3 ] && [ $# -le 4 ]; } || die "usage: $0 EXE VERSION OUTDIR [SBOM]"
EXE=$1 VERSION=$2 OUTDIR=$3 SBOM=${4:-}
[ -f "$EXE" ] || die "$EXE is missing"
[ -z "$SBOM" ] || [ -f "$SBOM" ] || die "$SBOM is missing"
# VIProductVersion needs four numbers: 0.4.0 -> 0.4.0.0 (a suffix such as -rc.1 is left out).
VERSION4=${VERSION%%[-+]*}
[[ $VERSION4 =~ ^[0-9]+(\.[0-9]+){0,3}$ ]] || die "version $VERSION is not N[.N[.N[.N]]][-suffix]"
while [[ ! $VERSION4 =~ ^[0-9]+(\.[0-9]+){3}$ ]]; do VERSION4+=.0; done
if [ -n "${DGMO_WINDOWS_CERT:-}" ]; then
  [ -f "$DGMO_WINDOWS_CERT" ] || die "DGMO_WINDOWS_CERT=$DGMO_WINDOWS_CERT is missing"
  command -v osslsigncode >/dev/null || die "osslsigncode is missing (scripts/install-deps.sh installs it)"
fi
# shellcheck source=scripts/lib/nsis-toolchain.sh
. "$ROOT/scripts/lib/nsis-toolchain.sh"
nsis_toolchain || exit 1

NAME=dgmo-$VERSION-windows-x64
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
S=$W/$NAME
mkdir -p "$S"

# --- the files: dgmo.exe (signed first), README, LICENSE, SBOM, with Windows line ends ---------
if [ -n "${DGMO_WINDOWS_CERT:-}" ]; then
  sign "$EXE" "$S/dgmo.exe"
else
  cp "$EXE" "$S/dgmo.exe"
  echo "windows-installer: no DGMO_WINDOWS_CERT: dgmo.exe, the uninstaller and the installer are not Authenticode-signed" >&2
fi
sed 's/$/\r/' > "$S/README.txt" <<TXT
DGMO $VERSION for Windows x64: one file, no runtime to install.

  dgmo.exe --version
  dgmo.exe help
  dgmo.exe --launcher sbom     what is inside (CycloneDX)

DGMO keeps its extracted runtimes in %LOCALAPPDATA%\\dgmo (or %DGMO_CACHE_DIR%).
Check the download first:  minisign -Vm $NAME.zip -p dgmo.pub
TXT
sed 's/$/\r/' "$ROOT/packaging/copyright" > "$S/LICENSE.txt"
[ -z "$SBOM" ] || cp "$SBOM" "$S/dgmo.cdx.json"
chmod 0644 "$S"/*
find "$S" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# --- the installer ------------------------------------------------------------------------------
defs=(-DVERSION="$VERSION" -DVERSION4="$VERSION4" -DSRCDIR="$S" -DOUTFILE="$W/setup.exe")
[ -z "$SBOM" ] || defs+=(-DSBOM)
# makensis runs this through the shell with %1 the uninstaller's path.
[ -z "${DGMO_WINDOWS_CERT:-}" ] || defs+=(-DUNINST_SIGN="\"$ROOT/scripts/windows-installer.sh\" --sign \"%1\"")
"$MAKENSIS" -V2 -INPUTCHARSET UTF8 "${defs[@]}" "$ROOT/packaging/windows/dgmo.nsi" > "$W/makensis.log" 2>&1 \
  || { cat "$W/makensis.log" >&2; die "makensis failed"; }
if [ -n "${DGMO_WINDOWS_CERT:-}" ]; then sign "$W/setup.exe" "$W/setup.exe"; fi

# --- the zip: sorted entries, SOURCE_DATE_EPOCH's date (zip has no time zone: UTC's) -----------
python3 - "$W" "$NAME" "$W/$NAME.zip" <<'PY'
import os, sys, time, zipfile
base, name, out = sys.argv[1:]
when = time.gmtime(max(int(os.environ["SOURCE_DATE_EPOCH"]), 315532800))[:6]  # zip starts at 1980
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    d = zipfile.ZipInfo(name + "/", when)
    d.external_attr = (0o40755 << 16) | 0x10
    z.writestr(d, b"")
    for f in sorted(os.listdir(os.path.join(base, name))):
        i = zipfile.ZipInfo(name + "/" + f, when)
        i.external_attr = 0o100644 << 16
        i.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(base, name, f), "rb") as src:
            z.writestr(i, src.read(), compresslevel=9)
PY

cp "$S/dgmo.exe" "$OUTDIR/$NAME.exe"
cp "$W/setup.exe" "$OUTDIR/$NAME-setup.exe"
cp "$W/$NAME.zip" "$OUTDIR/$NAME.zip"
