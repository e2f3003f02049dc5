#!/bin/bash
# File tables stored compressed (docs/format.md, "File table"): stored table bytes, bundle size and
# the launcher's cold-start peak RSS and time, for a 100-file and a 20,000-file layer, and for DGMO's
# layers when a DGMO binary is given. With OLD_BIN (a bundle-append of the previous format, e.g.
# /work/main/.build/release) and OLD_STUB, the same trees are built the old way beside.
#
#   scripts/bench-filetables.sh [--dgmo DGMO_BINARY]
# Env: BIN (default: swift build -c release bin path), STUB (default: BIN/stubs/linux-x64/bundle-stub),
#      OLD_BIN, OLD_STUB, RUNS (default 9).
set -euo pipefail
cd "$(dirname "$0")/.."
DGMO=""
[ "${1:-}" = "--dgmo" ] && DGMO="$2"
RUNS="${RUNS:-9}"
if [ -z "${BIN:-}" ]; then
  swift build -c release --product bundle-append >/dev/null
  BIN="$(swift build -c release --show-bin-path)"
fi
STUB="${STUB:-$BIN/stubs/linux-x64/bundle-stub}"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"

# Trees whose paths are the first N file paths under /usr (real path lengths and sharing).
python3 - "$W" <<'PY'
import os, sys
W = sys.argv[1]
paths = []
for dp, dn, fn in os.walk("/usr"):
    dn.sort(); fn.sort()
    for f in fn:
        p = os.path.relpath(os.path.join(dp, f), "/")
        if os.path.isfile(os.path.join(dp, f)) and not os.path.islink(os.path.join(dp, f)):
            paths.append(p)
    if len(paths) >= 20000: break
for n in (100, 20000):
    root = os.path.join(W, f"t{n}", "l")
    for i, p in enumerate(paths[:n]):
        full = os.path.join(root, p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f: f.write(f"{i} {p}\n")
    os.system(f"cp /bin/true {root}/true")
    with open(os.path.join(W, f"t{n}", "spec.toml"), "w") as f:
        f.write(f'[bundle]\nname = "tables{n}"\nversion = "1"\n[layers.l]\npath = "l"\ncompression = "zstd"\nlevel = 9\n[entries.run]\nexec = ["{{l}}/true"]\n')
PY

# Bytes of the tables region (trailer offset 56) and the file size.
sizes() {
  python3 - "$1" <<'PY'
import os, struct, sys
p = sys.argv[1]
with open(p, "rb") as f:
    f.seek(-96, 2); t = f.read(96)
print(struct.unpack_from("<Q", t, 56)[0], os.path.getsize(p))
PY
}

# Median and min-max of peak RSS (KiB) and wall time (s) of a cold start (empty cache each run).
cold() {
  local b="$1" name="$2" rss=() secs=()
  for _ in $(seq "$RUNS"); do
    rm -rf "$W/cache"
    # The old launcher's variable is <NAME>_CACHE_DIR; since issue 28 the default is <NAME>_LAUNCHER_CACHE_DIR.
    env "${name}_CACHE_DIR=$W/cache" "${name}_LAUNCHER_CACHE_DIR=$W/cache" /usr/bin/time -f "%M %e" -o "$W/time.txt" "$b"
    read -r r s < "$W/time.txt"; rss+=("$r"); secs+=("$s")
  done
  printf '%s\n' "${rss[@]}" | sort -n | awk '{a[NR]=$1} END {printf "peak RSS median %.1f MiB (%.1f-%.1f)", a[int((NR+1)/2)]/1024, a[1]/1024, a[NR]/1024}'
  printf '%s\n' "${secs[@]}" | sort -n | awk '{a[NR]=$1} END {printf ", cold start median %.3f s (%.3f-%.3f)\n", a[int((NR+1)/2)], a[1], a[NR]}'
}

"$BIN/bundle-append" keygen "$W/k" >/dev/null
for n in 100 20000; do
  "$BIN/bundle-append" build "$W/t$n/spec.toml" -o "$W/new$n" --key "$W/k.key" -q --stub "$STUB"
  read -r tb fb < <(sizes "$W/new$n")
  echo "== $n files"
  echo "  compressed tables: table bytes $tb, bundle $fb bytes"
  if [ -n "${OLD_BIN:-}" ]; then
    "$OLD_BIN/bundle-append" build "$W/t$n/spec.toml" -o "$W/old$n" --key "$W/k.key" -q --stub "${OLD_STUB:-$OLD_BIN/stubs/linux-x64/bundle-stub}"
    read -r otb ofb < <(sizes "$W/old$n")
    echo "  raw tables (old):  table bytes $otb, bundle $ofb bytes; compressed/raw tables $(awk -v a="$tb" -v b="$otb" 'BEGIN{printf "%.2f", a/b}'), bundle $(awk -v a="$fb" -v b="$ofb" 'BEGIN{printf "%+.1f %%", (a-b)*100/b}')"
    echo -n "  old launcher: "; cold "$W/old$n" "TABLES$n"
  fi
  echo -n "  new launcher: "; cold "$W/new$n" "TABLES$n"
done

if [ -n "$DGMO" ]; then
  read -r tb fb < <(sizes "$DGMO")
  echo "== DGMO ($DGMO): tables region $tb bytes, binary $fb bytes"
fi
