# shellcheck shell=bash
# shellcheck disable=SC2030,SC2031 # the state variables are set inside the flock subshell on purpose
# Registers qemu-aarch64 with the kernel's binfmt_misc while something needs it, and undoes only
# what it did. Sourced by scripts, or run as a command by tests (Arm64Tests):
#
#   scripts/lib/qemu-binfmt.sh register OWNER_PID     # OWNER_PID: the process that needs it (a test run)
#   scripts/lib/qemu-binfmt.sh unregister OWNER_PID
#   scripts/lib/qemu-binfmt.sh status                 # one line: what is registered and who uses it
#
# Why: qemu-aarch64-static runs one arm64 program, but when that program execs another arm64
# program (the arm64 launcher exec'ing its arm64 payload, a PyInstaller bootloader re-exec'ing
# itself), the host kernel is asked to run an aarch64 ELF file and answers "Exec format error"
# unless binfmt_misc knows to hand it to qemu. docs/platforms.md, "What qemu cannot tell us".
#
# What it does, all under one lock (/run/dgmo-qemu-binfmt.lock), so concurrent test runs share one
# registration:
# - mounts binfmt_misc on /proc/sys/fs/binfmt_misc if it is not mounted (and remembers that);
# - if no `qemu-aarch64` entry exists, registers one from qemu-user-static's own description
#   (/usr/share/binfmts/qemu-aarch64: magic, mask, interpreter), with flags F (the kernel opens the
#   interpreter now, so it also works inside chroots and mount namespaces that lack
#   /usr/bin/qemu-aarch64-static) and P when Debian's interpreter supports it (argv[0] is
#   preserved, which the launcher uses to pick an entry); without that file, the same magic and
#   mask written here and qemu-aarch64-static with F;
# - records the owner's PID in /run/dgmo-qemu-binfmt.state.
# `unregister` removes the PID (and any PID that no longer runs, so a killed test run does not
# keep it forever); when none is left it removes the entry only if this helper made it and
# unmounts binfmt_misc only if this helper mounted it. An entry the system registered (for
# example by binfmt-support or systemd-binfmt) is used and left alone. Needs root.

QEMU_BINFMT_DIR=${QEMU_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}
QEMU_BINFMT_STATE=${QEMU_BINFMT_STATE:-/run/dgmo-qemu-binfmt.state}
QEMU_BINFMT_NAME=qemu-aarch64

# The registration line ":name:M::magic:mask:interpreter:flags" for aarch64 ELF executables.
qemu_binfmt_line() {
  local desc=/usr/share/binfmts/$QEMU_BINFMT_NAME magic mask interpreter flags=F
  if [ -f "$desc" ]; then
    magic=$(sed -n 's/^magic //p' "$desc")
    mask=$(sed -n 's/^mask //p' "$desc")
    interpreter=$(sed -n 's/^interpreter //p' "$desc")
    if grep -qx 'preserve yes' "$desc"; then flags=PF; fi
  fi
  if [ -z "${magic:-}" ] || [ -z "${mask:-}" ] || [ ! -x "${interpreter:-}" ]; then
    # ELF, 64-bit, little-endian, version 1, any OS ABI; e_type EXEC or DYN; e_machine 183.
    magic='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    interpreter=$(command -v qemu-aarch64-static || true)
    flags=F
  fi
  [ -x "$interpreter" ] || { echo "qemu-binfmt: qemu-aarch64-static is not installed (scripts/lib/arm64-toolchain.sh installs it)" >&2; return 1; }
  printf ':%s:M::%s:%s:%s:%s' "$QEMU_BINFMT_NAME" "$magic" "$mask" "$interpreter" "$flags"
}

# Reads the state file into the variables owners, mounted, registered.
qemu_binfmt_read_state() {
  owners="" mounted=0 registered=0
  if [ -f "$QEMU_BINFMT_STATE" ]; then
    owners=$(sed -n 's/^owners=//p' "$QEMU_BINFMT_STATE")
    mounted=$(sed -n 's/^mounted=//p' "$QEMU_BINFMT_STATE")
    registered=$(sed -n 's/^registered=//p' "$QEMU_BINFMT_STATE")
  fi
  # Owners that no longer run (a test run killed before it could unregister) do not count.
  local p alive=""
  for p in $owners; do
    if kill -0 "$p" 2>/dev/null; then alive="$alive $p"; fi
  done
  owners=${alive# }
}

qemu_binfmt_write_state() {
  printf 'owners=%s\nmounted=%s\nregistered=%s\n' "$owners" "$mounted" "$registered" > "$QEMU_BINFMT_STATE.tmp"
  mv "$QEMU_BINFMT_STATE.tmp" "$QEMU_BINFMT_STATE"
}

qemu_binfmt_is_mounted() { [ -f "$QEMU_BINFMT_DIR/register" ]; }

qemu_binfmt_register() {
  local owner=${1:?qemu_binfmt_register needs the owner PID}
  (
    flock 9
    qemu_binfmt_read_state
    # What this call did, undone if it fails before the state is written (else a failed
    # registration would leave a mount or an entry that no later unregister knows of).
    mounted_now=0 registered_now=0
    give_up() {
      echo "qemu-binfmt: $1" >&2
      if [ "$registered_now" = 1 ]; then echo -1 > "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME" 2>/dev/null || true; fi
      if [ "$mounted_now" = 1 ]; then umount "$QEMU_BINFMT_DIR" 2>/dev/null || true; fi
      exit 1
    }
    if [ -z "$owners" ]; then
      # Nobody uses it: look at the machine afresh (what a previous owner did is still in the state).
      if ! qemu_binfmt_is_mounted; then
        mount -t binfmt_misc binfmt_misc "$QEMU_BINFMT_DIR" || give_up "cannot mount binfmt_misc on $QEMU_BINFMT_DIR"
        mounted=1 mounted_now=1
      fi
      if [ ! -e "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME" ]; then
        line=$(qemu_binfmt_line) || give_up "no qemu-aarch64 description to register (is qemu-user-static installed?)"
        printf '%s' "$line" > "$QEMU_BINFMT_DIR/register" || give_up "the kernel refused the registration $line"
        registered=1 registered_now=1
      fi
    fi
    grep -qx enabled "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME" \
      || give_up "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME exists but is disabled (left as the system set it)"
    # shellcheck disable=SC2086 # one PID per word
    owners=$(printf '%s\n' $owners "$owner" | sort -un | tr '\n' ' ')
    owners=${owners% }
    qemu_binfmt_write_state
  ) 9> /run/dgmo-qemu-binfmt.lock
}

qemu_binfmt_unregister() {
  local owner=${1:?qemu_binfmt_unregister needs the owner PID}
  (
    flock 9
    qemu_binfmt_read_state
    local p rest=""
    for p in $owners; do [ "$p" = "$owner" ] || rest="$rest $p"; done
    owners=${rest# }
    if [ -z "$owners" ]; then
      if [ "$registered" = 1 ] && [ -e "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME" ]; then
        echo -1 > "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME" || { echo "qemu-binfmt: cannot remove the $QEMU_BINFMT_NAME entry" >&2; exit 1; }
      fi
      if [ "$mounted" = 1 ] && qemu_binfmt_is_mounted; then
        umount "$QEMU_BINFMT_DIR" || { echo "qemu-binfmt: cannot unmount $QEMU_BINFMT_DIR" >&2; exit 1; }
      fi
      rm -f "$QEMU_BINFMT_STATE"
    else
      qemu_binfmt_write_state
    fi
  ) 9> /run/dgmo-qemu-binfmt.lock
}

qemu_binfmt_status() {
  local owners mounted registered
  qemu_binfmt_read_state
  local entry="not registered"
  if qemu_binfmt_is_mounted && [ -e "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME" ]; then
    entry="registered ($(sed -n 's/^interpreter //p' "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME"), $(sed -n 's/^flags: //p' "$QEMU_BINFMT_DIR/$QEMU_BINFMT_NAME"))"
  fi
  echo "binfmt_misc $(qemu_binfmt_is_mounted && echo mounted || echo 'not mounted'); $QEMU_BINFMT_NAME $entry; owners: ${owners:-none}; made by this helper: mount=$mounted entry=$registered"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    register) qemu_binfmt_register "${2:-}" ;;
    unregister) qemu_binfmt_unregister "${2:-}" ;;
    status) qemu_binfmt_status ;;
    *) echo "usage: $0 register|unregister OWNER_PID | status" >&2; exit 2 ;;
  esac
fi
