# Sourced by install-deps.sh (and GlibcLockTests).
#
# glibc_pin LOCK: the libc6 version examples/dgmo/glibc.lock pins (empty if none).
glibc_pin() { sed -n 's/^libc6==\([^ ]*\).*/\1/p' "$1" 2>/dev/null || true; }

# glibc_pin_served LOCK: succeeds when apt's index offers that libc6 (amd64, the engine's) for
# download, i.e. `apt-get download` can fetch it. `apt-cache show libc6=VERSION` alone does not
# tell: it exits 0 with no output for a version it does not know, and the installed package's
# stanza (from dpkg's status) has no download; only a served one has a SHA256 field.
glibc_pin_served() {
  local pin; pin=$(glibc_pin "$1")
  [ -n "$pin" ] && apt-cache show "libc6:amd64=$pin" 2>/dev/null | grep -q '^SHA256: '
}
