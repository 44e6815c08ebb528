"""Start-up over stdio: spawn → first `tools/list` answer, against the bare echo server.

Each run is what an agent host does when it starts a server: the official client spawns the
process, connects and lists the tools; the clock stops at the answer (shutdown is not counted).
The servers alternate, after one untimed spawn each (it creates the database and warms the OS
file cache); the target is checked on the fastest run of each. Import time alone, measured inside a fresh interpreter, shows how much of the
difference is imports.
"""

from __future__ import annotations

import sys
from pathlib import Path
from time import perf_counter

import anyio
from mcp import StdioServerParameters

from bench import servers
from bench.config import Config
from bench.report import Section, median, ms, ratio

LIMIT = 1.15  # issue 12: start-up at most 1.15x the bare server's
COLUMNS = ["measure", "server", "median ms", "min ms", "median ×echo", "min ×echo", "target", "check"]
IMPORTS = {"echo (bare MCPServer)": "mcp.server", "meetings-mcp": "wix_meetings_mcp.server.cli"}


async def first_answer(params: StdioServerParameters, log: Path) -> float:
    started = perf_counter()
    with anyio.fail_after(120):
        async with servers.stdio_session(params, log) as client:
            await client.list_tools()
            return perf_counter() - started


async def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = await anyio.run_process([sys.executable, "-c", code])
    return float(done.stdout.decode())


async def run(cfg: Config) -> list[Section]:
    params = {
        "echo (bare MCPServer)": servers.echo_stdio(cfg.workdir),
        "meetings-mcp": servers.meetings_stdio(cfg.workdir, "startup.db"),
    }
    spawn: dict[str, list[float]] = {name: [] for name in params}
    imports: dict[str, list[float]] = {name: [] for name in params}
    for run_ in range(cfg.spawns + 1):
        for name, server in params.items():
            seconds = await first_answer(server, cfg.workdir / "startup.log")
            if run_:
                spawn[name].append(seconds)
                imports[name].append(await import_seconds(IMPORTS[name]))

    table = Section("startup", "Start-up over stdio: spawn → first tools/list answer", COLUMNS)
    for measure, samples, limit in (
        ("spawn → tools/list", spawn, LIMIT),
        ("import (in-process)", imports, None),
    ):
        echo = samples["echo (bare MCPServer)"]
        for name, times in samples.items():
            ours = name == "meetings-mcp"
            table.add(
                measure, name, ms(median(times)), ms(min(times)),
                ratio(median(times), median(echo)), ratio(min(times), min(echo)),
                f"min ≤ {limit}×" if limit and ours else "",
                table.check("start-up, spawn → tools/list (fastest)", min(times) / min(echo), limit)
                if limit and ours else "",
            )  # fmt: skip
    table.notes.append(
        f"{cfg.spawns} timed spawns per server, alternating; import rows: `import mcp.server` vs "
        "`import wix_meetings_mcp.server.cli` (what `python -m wix_meetings_mcp` loads before serving), timed in a fresh "
        "interpreter. The check uses the fastest runs: other work on the machine only ever adds "
        "time, so minima are the steadiest estimate (as `timeit` does)."
    )
    return [table]
