# Sourced. `zig_toolchain` installs the pinned zig (packaging/zig/requirements.txt, from PyPI) into
# .build-dgmo/zig when it is missing or the pin changed, and sets ZIG_CC to a `zig cc` command.
# zig ships musl and lld for every target, so one pinned download links the stub for linux-x64
# and linux-arm64 alike (docs/platforms.md says why musl).
zig_toolchain() {
  local root venv req
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  venv="$root/.build-dgmo/zig"
  req="$root/packaging/zig/requirements.txt"
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
    echo "installing the pinned zig into ${venv#"$root"/}" >&2
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check --require-hashes \
      --only-binary :all: -r "$req"
    cp "$req" "$venv/requirements.txt"
  fi
  ZIG_CC="$venv/bin/python -m ziglang cc"
  export ZIG_CC
}
