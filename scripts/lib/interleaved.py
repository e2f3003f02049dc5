#!/usr/bin/env python3
"""Interleaved pairs: runs command A and command B alternately (A B, B A, A B, ...), each after its
own prepare command (e.g. emptying a cache), and prints median, min-max and the ratio A/B of the
medians plus the median of the per-pair ratios. Wall time of posix_spawn to waitpid; the spawn
cost of this harness (measured on /bin/true the same way) is printed too, not subtracted.

  interleaved.py RUNS LABEL -- A... -- B... [-- PREP_A... [-- PREP_B...]]
Commands are shell-free argv lists; environment from the caller. stdout/stderr go to /dev/null,
and a non-zero exit of A or B fails the run (a broken command must not look fast)."""
import os, statistics, subprocess, sys, time

def split(args):
    groups, cur = [], None
    for a in args:
        if a == "--":
            cur = []; groups.append(cur)
        elif cur is not None:
            cur.append(a)
    return groups

def timed(argv, devnull, env=None, who="interleaved"):
    """Seconds from posix_spawn to waitpid, stdout and stderr to devnull; exits naming a command
    that failed. Also used by recipe-bench.py (with its own environment)."""
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ if env is None else env, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    t = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{who}: {' '.join(argv)} exited with {os.waitstatus_to_exitcode(status)}")
    return t

def fmt(xs):
    return f"{statistics.median(xs) * 1000:8.2f} ms ({min(xs) * 1000:.2f}-{max(xs) * 1000:.2f})"

def main():
    runs, label = int(sys.argv[1]), sys.argv[2]
    groups = split(sys.argv[3:])
    a, b = groups[0], groups[1]
    prep = [groups[2] if len(groups) > 2 and groups[2] else None, groups[3] if len(groups) > 3 and groups[3] else None]
    devnull = os.open(os.devnull, os.O_WRONLY)
    times = [[], []]
    for i in range(runs):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            if prep[k]:
                subprocess.run(prep[k], check=True, stdout=subprocess.DEVNULL)
            times[k].append(timed((a, b)[k], devnull))
    spawn = [timed(["/bin/true"], devnull) for _ in range(20)]
    ratios = [x / y for x, y in zip(times[0], times[1])]
    load = open("/proc/loadavg").read().split()[:3]
    print(f"{label}: n={runs} interleaved, load {' '.join(load)}")
    print(f"  dgmo  {fmt(times[0])}")
    print(f"  naive {fmt(times[1])}")
    print(f"  ratio of medians {statistics.median(times[0]) / statistics.median(times[1]):.2f}x, "
          f"median of pair ratios {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}); "
          f"harness spawn /bin/true {statistics.median(spawn) * 1000:.2f} ms")

if __name__ == "__main__":
    main()
