#!/usr/bin/env python3
"""PyInstaller --onefile against the bundle of the same app, in one interleaved run, as a markdown
table (scripts/bench-recipe.sh builds both; docs/recipes.md shows the table).

  recipe-bench.py PAIRS ONEFILE BUNDLE ONEDIR CACHE TMP -- FAST_ARGS... -- BUSY_ARGS...

FAST_ARGS is the app's fast command (`--version`); BUSY_ARGS one whose output is larger than a
pipe holds, so the app blocks writing it while nobody reads: that is "while the app runs" for the
bytes-written and SIGKILL rows. CACHE is the bundle's $XDG_CACHE_HOME (emptied for a cold run);
TMP an empty directory given to every run as $TMPDIR (where the onefile unpacks itself).

Timings are wall time from posix_spawn to waitpid, stdout and stderr to /dev/null. Warm: the
bundle's cache is filled; each pair runs onefile and bundle in alternating order, and the onedir
run directly follows (the launcher's own cost is bundle - onedir). Cold: the cache is emptied
before each bundle run; the onefile unpacks on every run anyway, so its cold run is its warm one
with a fresh _MEI directory (the page cache is not dropped for either: that would disturb every
other job on a shared machine, and a user's second run of the day finds it warm too)."""
import fcntl, hashlib, os, shutil, signal, stat, statistics, sys, termios, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interleaved  # noqa: E402  (its timing, shared: scripts/lib/interleaved.py)

def groups(argv):
    out, cur = [], []
    for a in argv:
        if a == "--":
            out.append(cur); cur = []
        else:
            cur.append(a)
    out.append(cur)
    return out

head, fast, busy = groups(sys.argv[1:])
pairs, onefile, bundle, onedir, cache, tmp = int(head[0]), *head[1:6]
env = dict(os.environ, XDG_CACHE_HOME=cache, TMPDIR=tmp)
devnull = os.open(os.devnull, os.O_WRONLY)

def timed(argv):
    return interleaved.timed(argv, devnull, env, "recipe-bench")

def empty(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)

def tree(d, content=False):
    """path -> (size, mtime_ns[, digest]) of every file under d. With content, a file whose
    digest is unchanged was not written even if its mtime moved: the launcher's one write on a
    warm run is a utimensat on the cache's record of the bundle's last use, which writes no data."""
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            p = os.path.join(base, f)
            st = os.lstat(p)
            digest = None
            if content and stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    digest = hashlib.file_digest(fh, "sha256").digest()
            out[p] = (st.st_size, st.st_mtime_ns, digest)
    return out

def mib(n):
    return f"{n / 1048576:.1f} MiB"

def ms(xs):
    return f"{statistics.median(xs) * 1000:.0f} ms"

def children(pid):
    kids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    return kids

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

def busy_run(exe):
    """Starts exe BUSY_ARGS with stdout a pipe nobody reads and waits until the pipe is full (the
    app is running, blocked writing). Measures what it wrote meanwhile to TMP and to the cache,
    SIGKILLs the process we started, and reports what is left: files in TMP, live processes."""
    empty(tmp)
    before = tree(cache, content=True)
    r, w = os.pipe()
    argv = [exe, *busy]
    pid = os.posix_spawn(exe, argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_DUP2, devnull, 2), (os.POSIX_SPAWN_CLOSE, r)])
    os.close(w)
    buf = bytearray(4)
    deadline = time.monotonic() + 60
    while True:
        fcntl.ioctl(r, termios.FIONREAD, buf)
        if int.from_bytes(buf, sys.byteorder) >= 65536:
            break
        if time.monotonic() > deadline:
            sys.exit(f"recipe-bench: {' '.join(argv)} did not fill its pipe in 60 s")
        time.sleep(0.01)
    in_tmp = sum(v[0] for v in tree(tmp).values())
    after = tree(cache, content=True)
    written = [p for p, v in after.items() if p not in before or (before[p][0], before[p][2]) != (v[0], v[2])]
    in_cache = sum(after[p][0] for p in written)
    touched = sum(1 for p, v in after.items() if p not in written and before[p][1] != v[1])
    kids = children(pid)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    time.sleep(0.5)
    left_files = tree(tmp)
    orphans = [k for k in kids if alive(k)]
    for k in orphans:  # ours: the onefile's child, started by the process we spawned
        os.kill(k, signal.SIGKILL)
    os.close(r)
    empty(tmp)
    return in_tmp, in_cache, touched, left_files, orphans

def left(files, orphans):
    parts = []
    if files:
        dirs = sorted({os.path.relpath(p, tmp).split("/")[0] for p in files})
        parts.append(f"{', '.join(f'`{d}`' for d in dirs)} left in `$TMPDIR` ({len(files)} files, "
                     f"{mib(sum(v[0] for v in files.values()))})")
    if orphans:
        parts.append(f"{len(orphans)} orphan process{'es' if len(orphans) > 1 else ''} still running the app")
    return ", and ".join(parts) or "nothing left"

empty(tmp)
empty(cache)
timed([bundle, *fast])  # fills the cache
warm = {"onefile": [], "bundle": [], "onedir": []}
wins = 0
for i in range(pairs):
    order = ("onefile", "bundle") if i % 2 == 0 else ("bundle", "onefile")
    t = {k: timed([{"onefile": onefile, "bundle": bundle}[k], *fast]) for k in order}
    wins += t["bundle"] < t["onefile"]
    for k in order:
        warm[k].append(t[k])
    warm["onedir"].append(timed([onedir, *fast]))
cold = {"onefile": [], "bundle": []}
for i in range(pairs):
    for k in (("onefile", "bundle") if i % 2 == 0 else ("bundle", "onefile")):
        if k == "bundle":
            empty(cache)
        cold[k].append(timed([{"onefile": onefile, "bundle": bundle}[k], *fast]))
cold_wins = sum(b < o for b, o in zip(cold["bundle"], cold["onefile"]))
load = " ".join(open("/proc/loadavg").read().split()[:3])

timed([bundle, *fast])  # warm again for the busy run
one = busy_run(onefile)
bun = busy_run(bundle)

def written(in_tmp, in_cache, touched):
    if in_tmp == 0 and in_cache == 0:
        return "nothing" + (f" (the last-use time of {touched} cache record{'s' if touched > 1 else ''} is updated)" if touched else "")
    return " + ".join(x for x in (in_tmp and f"{mib(in_tmp)} (`$TMPDIR`)", in_cache and f"{in_cache} bytes (cache)") if x)

cmd = " ".join(fast)
print(f"| | PyInstaller onefile | our bundle |")
print(f"|---|---|---|")
print(f"| warm `{cmd}` | {ms(warm['onefile'])} | {ms(warm['bundle'])} (faster in {wins} of {pairs} pairs) |")
print(f"| cold `{cmd}` | {ms(cold['onefile'])} | {ms(cold['bundle'])} (faster in {cold_wins} of {pairs} pairs) |")
print(f"| size | {mib(os.path.getsize(onefile))} | {mib(os.path.getsize(bundle))} |")
print(f"| written to `/tmp` on every run | {written(*one[:3])} | {written(*bun[:3])} |")
print(f"| after SIGKILL | {left(*one[3:])} | {left(*bun[3:])} |")
print()
print(f"Medians of {pairs} interleaved pairs each, load average {load} at the end of the timings; "
      f"the onedir run directly, warm: {ms(warm['onedir'])}. "
      f"Written and SIGKILL: `{' '.join(busy)[:40]}...` with its output pipe left unread, killed once the pipe was full.")
