#!/usr/bin/env bash
# Launcher benchmarks (docs/benchmarks.md). Every ratio compares commands measured in the same run,
# and the stub of this tree ("new") runs beside a baseline stub ("old") built from an earlier commit:
#   0. sizes: both stubs stripped, the big bundle;
#   1. warm launch: both bundles vs exec'ing the same cached program directly (hyperfine);
#   2. cold launch: first run extracting a ~100 MB layer, both stubs, vs `zstd -d | tar -x` of the
#      same tree (and vs `zstd -d | tar -x && sync`, since the launcher makes the layer durable);
#      2b. the cost of that durability; 2c. last-use bookkeeping; 2d. 32 concurrent first launches;
#   3. peak RSS of both launchers while extracting that layer (/usr/bin/time -v);
#   4. extraction (issue 17), interleaved runs: this stub vs the same stub built without the
#      decoding threads (BENCH_INLINE_DECODE: frames decoded on the writer's thread) and built to always use syncfs (BENCH_SYNCFS) vs `zstd -d | tar -x; sync -f`, on 2 cores and on 1 (taskset -c 0), quiet and while
#      another process writes 2 GB of dirty data; for the ~2,000-file layer (flushed with syncfs
#      either way: over CacheRoot.perFileFlushLimit entries) and for a one-file layer of the same
#      bytes (flushed with fsync by this stub), like DGMO's Bun layer.
# Usage: scripts/bench.sh [--quick]     (--quick: 20 MB layer, fewer runs)
#        scripts/bench.sh --warm        (only sections 0 and 1)
#        scripts/bench.sh --extract     (only section 4; BENCH_BASELINE_REF is not needed for it)
# BENCH_BASELINE_REF (default e5554c4, the last commit with the standard-Swift stub): the commit the
# old stub is built from, once, in .build-bench/ (a detached git worktree; its release build is kept).
# BENCH_BASELINE_REF=none leaves the old stub out.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/install-deps.sh
swift build -c release --product bundle-append >/dev/null
BIN=$(swift build -c release --show-bin-path)
# The Embedded launcher stub bundle-append picks up by default (Makefile `stubs`).
make --no-print-directory "$BIN/stubs/linux-x64/bundle-stub" >/dev/null
STUB="$BIN/stubs/linux-x64/bundle-stub"

SIZE_MB=100; RUNS=10; WARM_RUNS=300; WARM_ONLY=""; EXTRACT_ONLY=""
[ "${1:-}" = "--quick" ] && { SIZE_MB=20; RUNS=3; WARM_RUNS=100; }
[ "${1:-}" = "--warm" ] && { SIZE_MB=1; WARM_ONLY=1; }
[ "${1:-}" = "--extract" ] && { EXTRACT_ONLY=1; BENCH_BASELINE_REF=none; }

# The old stub: built from BENCH_BASELINE_REF in its own worktree, kept between runs.
REF=${BENCH_BASELINE_REF:-e5554c4}
OLD_STUB=""
if [ "$REF" != none ]; then
  OLD_SRC="$ROOT/.build-bench/baseline-$REF"
  OLD_STUB="$ROOT/.build-bench/baseline-$REF.stub"
  if [ ! -x "$OLD_STUB" ]; then
    echo "building the baseline stub from $REF (once; kept in .build-bench/)" >&2
    [ -d "$OLD_SRC" ] || git worktree add -q --detach "$OLD_SRC" "$REF"
    swift build -c release --package-path "$OLD_SRC" --product dgmo-stub >/dev/null
    strip -o "$OLD_STUB" "$(swift build -c release --package-path "$OLD_SRC" --show-bin-path)/dgmo-stub"
  fi
fi

W=$(mktemp -d /var/tmp/dgmo-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/native" "$W/data"
cat > "$W/true.c" <<'C'
int main(void) { return 0; }
C
gcc -static -O2 -o "$W/native/true" "$W/true.c"
cp "$W/native/true" "$W/data/true"

# A tree that looks like a runtime: ~2,000 files, half text-like (compressible), half random.
python3 - "$W/data" "$SIZE_MB" <<'PY'
import os, sys, random
root, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz_") for _ in range(rnd.randint(2, 12))) for _ in range(5000)]
total, i = 0, 0
while total < mb * 1024 * 1024:
    d = os.path.join(root, f"pkg{i % 40}", f"mod{i % 7}")
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(1_000, 100_000)
    if i % 2:
        data = os.urandom(size)
    else:
        data = b" ".join(rnd.choice(words) for _ in range(size // 7))[:size]
    with open(os.path.join(d, f"f{i}.dat"), "wb") as f:
        f.write(data)
    total += size; i += 1
print(f"tree: {i} files, {total / 1048576:.1f} MiB", file=sys.stderr)
PY

# The app-named launcher names (BENCH_CACHE_DIR, ~/.cache/bench), which keep the manifest as older
# stubs read it (docs/format.md, "Properties"): the baseline stub (REF) runs the same bundles.
cat > "$W/small.toml" <<T
[bundle]
name = "bench"
version = "1.0.0"
env-prefix = "BENCH"
cache-name = "bench"
[layers.native]
path = "native"
[entries.true]
exec = ["{native}/true"]
T
cat > "$W/big.toml" <<T
[bundle]
name = "bigbench"
version = "1.0.0"
env-prefix = "BIGBENCH"
cache-name = "bigbench"
[layers.data]
path = "data"
compression = "zstd"
level = 9
[entries.true]
exec = ["{data}/true"]
T
"$BIN/bundle-append" keygen "$W/k" >/dev/null
"$BIN/bundle-append" build "$W/small.toml" -o "$W/small" --key "$W/k.key" -q --stub "$STUB"
"$BIN/bundle-append" build "$W/big.toml" -o "$W/big" --key "$W/k.key" -q --stub "$STUB"
# The same stub linked against static glibc instead of musl: why the stub uses musl (docs/platforms.md).
if [ -z "$EXTRACT_ONLY" ]; then
  scripts/build-stub.sh --target linux-x64 --libc glibc -o "$W/stub-glibc" >/dev/null
  "$BIN/bundle-append" build "$W/small.toml" -o "$W/small-glibc" --key "$W/k.key" -q --stub "$W/stub-glibc"
fi
if [ -n "$OLD_STUB" ]; then
  "$BIN/bundle-append" build "$W/small.toml" -o "$W/small-old" --key "$W/k.key" -q --stub "$OLD_STUB"
  "$BIN/bundle-append" build "$W/big.toml" -o "$W/big-old" --key "$W/k.key" -q --stub "$OLD_STUB"
fi

extraction_section() {
echo; echo "== 4. extraction of the ${SIZE_MB} MB layer: interleaved runs (median, min-max, ratio to the last command)"
scripts/build-stub.sh --target linux-x64 --define BENCH_SYNCFS -o "$W/stub-syncfs" >/dev/null
scripts/build-stub.sh --target linux-x64 --define BENCH_INLINE_DECODE -o "$W/stub-nopipe" >/dev/null
"$BIN/bundle-append" build "$W/big.toml" -o "$W/big-syncfs" --key "$W/k.key" -q --stub "$W/stub-syncfs"
"$BIN/bundle-append" build "$W/big.toml" -o "$W/big-nopipe" --key "$W/k.key" -q --stub "$W/stub-nopipe"
mkdir -p "$W/one"
( cd "$W/data" && tar -cf "$W/one/data.tar" . )
cp "$W/native/true" "$W/one/true"
sed 's|path = "data"|path = "one"|' "$W/big.toml" > "$W/one.toml"
"$BIN/bundle-append" build "$W/one.toml" -o "$W/one-fsync" --key "$W/k.key" -q --stub "$STUB"
"$BIN/bundle-append" build "$W/one.toml" -o "$W/one-syncfs" --key "$W/k.key" -q --stub "$W/stub-syncfs"
"$BIN/bundle-append" build "$W/one.toml" -o "$W/one-nopipe" --key "$W/k.key" -q --stub "$W/stub-nopipe"
( cd "$W/one" && tar -cf - . | zstd -q -9 -o "$W/one.tar.zst" )
cat > "$W/interleave.py" <<'PY'
# interleave.py RUNS LABEL DIRTY_MB NAME=COMMAND ... : runs the shell commands in rotating order
# (run i starts at command i mod n), each after emptying the caches and tar's directory and
# `sync`; with DIRTY_MB > 0, a `dd` writing that much to the same filesystem (no fsync) is
# started 1 s before each timed command and killed after it, so syncfs has others' dirty data
# to flush. Prints median, min-max and the ratio of medians to the last command.
import os, signal, statistics, subprocess, sys, time
runs, label, dirty = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
cmds = [a.split("=", 1) for a in sys.argv[4:]]
w = os.environ["W"]
times = {n: [] for n, _ in cmds}
for i in range(runs):
    for k in range(len(cmds)):
        name, cmd = cmds[(i + k) % len(cmds)]
        subprocess.run(f"rm -rf '{w}/cache-big' '{w}/untar'; mkdir -p '{w}/untar'; sync", shell=True, check=True)
        dd = None
        if dirty:
            dd = subprocess.Popen(["dd", "if=/dev/zero", f"of={w}/dirty", "bs=1M", f"count={dirty}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL)
        t = time.perf_counter() - t0
        if dd:
            dd.send_signal(signal.SIGKILL); dd.wait()
            os.unlink(f"{w}/dirty")
        if r.returncode != 0:
            sys.exit(f"interleave: '{name}' exited with {r.returncode}")
        times[name].append(t)
ref = statistics.median(times[cmds[-1][0]])
load = " ".join(open("/proc/loadavg").read().split()[:3])
print(f"{label}: n={runs} each, interleaved, load {load}")
for name, _ in cmds:
    xs = times[name]
    print(f"  {name:<34} {statistics.median(xs):7.3f} s ({min(xs):.3f}-{max(xs):.3f})  {statistics.median(xs) / ref:5.2f}x")
PY
for layer in big one; do
  TAR="zstd -q -d -c '$W/$([ $layer = big ] && echo data || echo one).tar.zst' | tar -x -C '$W/untar'"
  NEW="$W/$([ $layer = big ] && echo big || echo one-fsync)"
  for cpus in "" "taskset -c 0"; do
    for dirty in 0 2000; do
      W="$W" BIGBENCH_CACHE_DIR="$W/cache-big" python3 "$W/interleave.py" "$RUNS" \
        "$([ $layer = big ] && echo "~2,000 files" || echo "one file"), ${cpus:-2 cores}${cpus:+ (1 core)}, $([ $dirty = 0 ] && echo quiet || echo "dd writing ${dirty} MB meanwhile")" "$dirty" \
        "bundle (this stub)=$cpus $NEW" "bundle (no decoding threads)=$cpus $W/$layer-nopipe" \
        "bundle (syncfs always)=$cpus $W/$layer-syncfs" \
        "zstd -d | tar -x; sync -f=$cpus sh -c \"$TAR; sync -f '$W/untar'\""
    done
  done
done
}

if [ -n "$EXTRACT_ONLY" ]; then
  ( cd "$W/data" && tar -cf - . | zstd -q -9 -o "$W/data.tar.zst" )
  extraction_section
  exit 0
fi

echo "== 0. sizes"
strip -o "$W/stub.stripped" "$STUB"
ls -l "$W/stub.stripped" | awk '{printf "new stub (stripped): %d bytes = %.2f MB = %.2f MiB\n", $5, $5/1e6, $5/1048576}'
ls -l "$W/stub-glibc" | awk '{printf "new stub on glibc:   %d bytes = %.2f MB = %.2f MiB (not shipped; for comparison)\n", $5, $5/1e6, $5/1048576}'
[ -n "$OLD_STUB" ] && ls -l "$OLD_STUB" | awk '{printf "old stub (stripped): %d bytes = %.2f MB = %.2f MiB\n", $5, $5/1e6, $5/1048576}'
ls -l "$W/big" | awk '{printf "big bundle:          %.2f MiB\n", $5/1048576}'

echo; echo "== 1. warm launch (cached) vs direct exec, both stubs in one hyperfine run"
export BENCH_CACHE_DIR="$W/cache-small"
"$W/small" >/dev/null
"$W/small-glibc" >/dev/null
DIRECT=$(ls -d "$W"/cache-small/layers/*/true)
OLD=()
if [ -n "$OLD_STUB" ]; then "$W/small-old" >/dev/null; OLD=(-n old "$W/small-old"); fi
hyperfine -N --warmup 20 --runs "$WARM_RUNS" --export-json "$W/warm.json" \
  -n direct "$DIRECT" -n new "$W/small" -n new-glibc "$W/small-glibc" "${OLD[@]}" 2>&1 | grep -Ev '^\s*$'
python3 - "$W/warm.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
def ms(x): return x * 1e3
d = r["direct"]["median"]
for name in ("new", "new-glibc", "old"):
    if name in r:
        x = r[name]
        print(f"warm {name}: median {ms(x['median']):.3f} ms (min {ms(x['min']):.3f}, max {ms(x['max']):.3f}); "
              f"direct {ms(d):.3f} ms; ratio {x['median']/d:.2f}x (target <= 2.2x), overhead {ms(x['median']-d):.3f} ms")
if "old" in r:
    print(f"warm: new/old = {r['new']['median']/r['old']['median']:.2f}")
PY
[ -n "$WARM_ONLY" ] && exit 0

echo; echo "== 2. cold launch: ${SIZE_MB} MB layer"
( cd "$W/data" && tar -cf - . | zstd -q -9 -o "$W/data.tar.zst" )
export BIGBENCH_CACHE_DIR="$W/cache-big"
hyperfine --runs "$RUNS" --export-json "$W/cold.json" \
  --prepare "rm -rf '$W/cache-big' '$W/untar'; mkdir -p '$W/untar'; sync" \
  -n "bundle cold" "$W/big" ${OLD_STUB:+-n "old bundle cold" "$W/big-old"} \
  -n "zstd -d | tar -x" "zstd -q -d -c '$W/data.tar.zst' | tar -x -C '$W/untar'" \
  -n "zstd -d | tar -x; sync" "zstd -q -d -c '$W/data.tar.zst' | tar -x -C '$W/untar'; sync" 2>&1 | grep -Ev '^\s*$'
python3 - "$W/cold.json" "$SIZE_MB" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
b, t, ts = r["bundle cold"], r["zstd -d | tar -x"], r["zstd -d | tar -x; sync"]
mb = int(sys.argv[2])
print(f"cold: bundle {b:.3f} s ({mb/b:.0f} MB/s), tar {t:.3f} s, tar+sync {ts:.3f} s; "
      f"ratio vs tar {b/t:.2f}x, vs tar+sync {b/ts:.2f}x (target <= 1.3x)")
if "old bundle cold" in r:
    o = r["old bundle cold"]
    print(f"cold: old stub {o:.3f} s; new/old = {b/o:.2f}")
PY

echo; echo "== 2b. cost of durability (syncfs before publishing) on the ${SIZE_MB} MB layer"
# A bench-only stub compiled without the syncfs call, in its own build directory.
scripts/build-stub.sh --target linux-x64 --define BENCH_NO_DURABILITY -o "$W/stub-nosync" >/dev/null
"$BIN/bundle-append" build "$W/big.toml" -o "$W/big-nosync" --key "$W/k.key" -q --stub "$W/stub-nosync"
hyperfine --runs "$RUNS" --export-json "$W/sync.json" \
  --prepare "rm -rf '$W/cache-big'; sync" \
  -n "with syncfs" "$W/big" -n "without syncfs" "$W/big-nosync" 2>&1 | grep -Ev '^\s*$'
python3 - "$W/sync.json" "$SIZE_MB" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
w, wo = r["with syncfs"], r["without syncfs"]
mb = int(sys.argv[2])
print(f"durability: with syncfs {w:.3f} s ({mb/w:.0f} MB/s), without {wo:.3f} s ({mb/wo:.0f} MB/s): costs {w-wo:+.3f} s ({(w/wo-1)*100:+.0f}%)")
PY

echo; echo "== 2c. last-use bookkeeping: one utimensat per launch"
cat > "$W/ut.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
int main(int argc, char **argv) {
    struct timespec a, b; int n = 200000;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) utimensat(AT_FDCWD, argv[1], NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("utimensat: %.2f us per call\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
    return 0;
}
C
gcc -O2 -o "$W/ut" "$W/ut.c"
"$W/ut" "$(ls -d "$W"/cache-small/bundles/* | head -1)"

echo; echo "== 2d. 32 concurrent first launches on an empty cache vs one (the small bundle)"
# Wall time from start to the last exit; every launch must succeed, and the layer is committed once.
python3 - "$W/small" "$W" <<'PY'
import os, shutil, subprocess, sys, time
binary, w = sys.argv[1], sys.argv[2]
def run(n, cache):
    shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, BENCH_CACHE_DIR=cache)
    t0 = time.monotonic()
    procs = [subprocess.Popen([binary], env=env) for _ in range(n)]
    codes = [p.wait() for p in procs]
    t = time.monotonic() - t0
    assert codes == [0] * n, codes
    assert len(os.listdir(os.path.join(cache, "layers"))) == 1
    return t
one = min(run(1, f"{w}/c1") for _ in range(5))
many = min(run(32, f"{w}/c32") for _ in range(5))
print(f"concurrent: one cold launch {one*1e3:.1f} ms, 32 at once {many*1e3:.1f} ms wall ({many/one:.1f}x one), best of 5; layer committed once")
PY

echo; echo "== 3. peak RSS while extracting the ${SIZE_MB} MB layer"
for b in big ${OLD_STUB:+big-old}; do
  rm -rf "$W/cache-big"
  /usr/bin/time -v "$W/$b" 2> "$W/time.txt" >/dev/null
  grep -E "Maximum resident" "$W/time.txt" | awk -v b="$b" '{printf "peak RSS %s: %.1f MiB (target <= 16 MiB)\n", (b == "big" ? "new" : "old"), $6/1024}'
done

extraction_section
