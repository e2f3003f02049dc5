"""Command line of the engine: `dgm-engine evolve --seed N --generations N [--json]`."""

import argparse
import errno
import os
import sys

from pydantic import ValidationError

from . import __version__
from .evolution import evolve
from .models import EvolutionConfig


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dgm-engine", description="DGM evolutionary engine.")
    p.add_argument("--version", action="version", version=f"dgm-engine {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("evolve", help="run the evolutionary loop", description="Run the evolutionary loop.")
    e.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")
    e.add_argument("--generations", type=int, default=10, help="number of generations")
    e.add_argument("--population", type=int, default=32, help="candidates per generation")
    e.add_argument("--genome-length", type=int, default=24, help="genes per candidate")
    e.add_argument("--mutation-rate", type=float, default=0.05, help="probability a gene mutates")
    e.add_argument("--json", action="store_true", help="one JSON object per generation")
    return p


def main(argv: list[str] | None = None) -> int:
    if sys.platform == "win32":
        # The same bytes on every platform: Windows' text mode would end lines with "\r\n", while
        # the CLI (Bun) and the Go components write "\n" there too.
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(newline="\n")
    args = _parser().parse_args(argv)
    try:
        config = EvolutionConfig(
            seed=args.seed,
            generations=args.generations,
            population=args.population,
            genome_length=args.genome_length,
            mutation_rate=args.mutation_rate,
        )
    except ValidationError as e:
        err = e.errors()[0]
        print(f"dgm-engine: --{'-'.join(map(str, err['loc'])).replace('_', '-')}: {err['msg']}", file=sys.stderr)
        return 2
    try:
        for report in evolve(config):
            if args.json:
                print(report.model_dump_json(), flush=True)
            else:
                print(f"generation {report.generation}: best score {report.best_score:.6f}", flush=True)
    except OSError as e:
        # The reader went away (`dgmo evolve | head`): stop quietly, as Unix tools do. Windows
        # reports a write to a closed pipe as EINVAL (ERROR_NO_DATA), not EPIPE.
        if not (isinstance(e, BrokenPipeError) or (sys.platform == "win32" and e.errno == errno.EINVAL)):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
