"""`python -m bench [--quick] [--only NAME ...] [--calls N] [--out PATH]`: run, print, save.

Prints one markdown table per benchmark, then the targets of issue 12 with pass/miss, and writes
them all, with the machine they ran on, to `bench/results.json` (or `--out`). Runs from the
repository root. `--quick` only shows that the runner works: it says so above every table.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter

import anyio

from bench import latency, replicas, scale, startup, throughput, tokens, upstream
from bench.config import Config
from bench.report import QUICK_WARNING, Section, machine, render, targets, write

Benchmark = Callable[[Config], Awaitable[list[Section]]]

# Cheapest first, so a failure shows up early.
BENCHMARKS: dict[str, Benchmark] = {
    "tokens": tokens.run,
    "upstream": upstream.run,
    "inmemory": latency.inmemory,
    "scale": scale.run,
    "startup": startup.run,
    "stdio": latency.stdio,
    "http": latency.http,
    "throughput": throughput.run,
    "replicas": replicas.run,
}
RESULTS = Path(__file__).with_name("results.json")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run (~30 s): few calls, few repeats; not for ratios"
    )
    parser.add_argument(
        "--only", action="append", choices=list(BENCHMARKS), metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )  # fmt: skip
    parser.add_argument("--calls", type=int, help="timed rounds per latency benchmark (default 500)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    return parser.parse_args(argv)


async def run_all(names: list[str], cfg: Config) -> tuple[list[Section], dict[str, float]]:
    sections: list[Section] = []
    seconds: dict[str, float] = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = perf_counter()
        found = await BENCHMARKS[name](cfg)
        seconds[name] = round(perf_counter() - started, 1)
        for section in found:
            if cfg.quick:
                section.notes.append(QUICK_WARNING)
            print(render(section), flush=True)
        sections += found
    summary = targets(sections, quick=cfg.quick)
    print(render(summary), flush=True)
    return [*sections, summary], seconds


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.calls is not None and args.calls < 1:
        sys.exit("--calls must be at least 1")
    names = args.only or list(BENCHMARKS)
    # Before any MCPServer exists: it would otherwise set the root logger to INFO, and the HTTP
    # client would then log every request of the run.
    logging.basicConfig(level=logging.WARNING)
    meta = machine()  # before the run: its load average is other work, not this run's
    if args.quick:
        print(f"**{QUICK_WARNING}**\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="meetings-bench-") as tmp:
        cfg = Config(workdir=Path(tmp), quick=args.quick, calls=args.calls)
        sections, seconds = anyio.run(run_all, names, cfg)
    meta |= {
        "load_average_after": machine()["load_average"],
        "quick": args.quick,
        "rounds": cfg.rounds,
        "benchmarks": names,
        "seconds": seconds,
        "token_estimate": tokens.ESTIMATE,
    }
    write(args.out, meta, sections)
    print(f"wrote {args.out} ({sum(seconds.values()):.0f} s)", file=sys.stderr)
    if args.quick:
        print(QUICK_WARNING, file=sys.stderr)


if __name__ == "__main__":
    main()
