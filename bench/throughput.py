"""Throughput under concurrency: 64 MCP clients at once over streamable HTTP on 127.0.0.1.

Bookings per second (distinct slots, a fresh idempotency key each) as a fraction of echo calls per
second with the same clients on the same transport (issue 12: at least 0.5). All sessions are
opened and warmed before the clock starts; each then makes its calls one after another, so at
most 64 calls are in flight.

The clients run in separate processes (bench/load_client.py), one per CPU core and at least two,
at most eight; 64 sessions are dealt round-robin among them. Why: one Python process drives at most one core,
and an MCP client spends about as much CPU per call as the server (JSON-RPC framing, httpx,
validating the result), so a single client process caps the echo floor at its own speed and
the ratio would measure the client. With a process per core the clients can take every core the
server leaves idle; more processes than cores only add switching. The table shows how busy the
server process was (CPU seconds per second): near 1.0 means its one event loop, not the
clients, set the pace. On a 2-core machine the clients and the server still share the CPUs.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import anyio
import httpx2
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench import servers
from bench.config import Config
from bench.report import Section, ratio
from bench.workload import bookable_slots, booking, structured

LIMIT = 0.5  # issue 12: bookings/s at least half of echo calls/s
PROCESSES = max(2, min(8, os.cpu_count() or 2))
CLIENT = [sys.executable, "-m", "bench.load_client"]
ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["tool", "clients", "calls each", "seconds", "calls/s", "× echo", "server CPU busy", "target", "check"]  # fmt: skip
Plan = list[list[tuple[str, dict[str, Any]]]]  # per client: its calls in order


@dataclass
class Rate:
    calls_per_second: float
    server_busy: float | None  # the server's CPU seconds per second of the run (1.0 = one core)


async def calls_per_second(
    server: tuple[str | list[str], int],
    headers: dict[str, str],
    plan: Plan,
    warm: tuple[str, dict[str, Any]],
    *,
    processes: int,
    log: Path,
) -> Rate:
    """Calls per second of `plan` (one list of calls per client) spread over `processes` processes."""
    url, pid = server
    shares = [plan[i::processes] for i in range(processes)]
    with log.open("ab") as errlog, anyio.fail_after(600):
        async with AsyncExitStack() as stack:
            children: list[tuple[Process, BufferedByteReceiveStream]] = []
            for share in shares:
                proc = await anyio.open_process(CLIENT, cwd=ROOT, stderr=errlog)
                stack.push_async_callback(proc.aclose)
                assert proc.stdin is not None and proc.stdout is not None
                job = {
                    "urls": url if isinstance(url, list) else [url],
                    "headers": headers,
                    "warm": warm,
                    "plan": share,
                }
                await proc.stdin.send(json.dumps(job).encode() + b"\n")
                children.append((proc, BufferedByteReceiveStream(proc.stdout)))
            for _, out in children:
                await _expect(out, log, b"ready")
            started, cpu = perf_counter(), servers.cpu_seconds(pid)
            for proc, _ in children:
                await proc.stdin.send(b"go\n")  # type: ignore[union-attr]  # checked above
            done = [json.loads(await _expect(out, log, None)) for _, out in children]
            elapsed, cpu_after = perf_counter() - started, servers.cpu_seconds(pid)
    busy = None if cpu is None or cpu_after is None else (cpu_after - cpu) / elapsed
    return Rate(sum(d["calls"] for d in done) / elapsed, busy)


async def _expect(out: BufferedByteReceiveStream, log: Path, wanted: bytes | None) -> bytes:
    try:
        line = await out.receive_until(b"\n", 1 << 20)
    except (anyio.EndOfStream, anyio.IncompleteRead):
        line = b""
    if not line or (wanted is not None and line != wanted):
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"a load client failed:\n{tail}")
    return line


async def run(cfg: Config, processes: int = PROCESSES) -> list[Section]:
    clients, each = (8, 3) if cfg.quick else (64, 10)
    processes = min(processes, clients)
    log = cfg.workdir / "load-clients.log"
    async with (
        servers.echo_http(cfg.workdir) as echo_server,
        servers.meetings_http(cfg.workdir, "throughput.db") as (url, token, pid),
    ):
        auth = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=auth) as http,
            Client(streamable_http_client(url, http_client=http)) as c,
        ):
            link_id = (await structured(c, "list_scheduling_links", {}))["links"][0]["link_id"]
            slots = await bookable_slots(c, link_id, clients * each)
        echo_plan: Plan = [[("echo", {"text": "hello"})] * each for _ in range(clients)]
        book_plan: Plan = [
            [("book_meeting", booking(slots[i * each + j], i * each + j, prefix="c")) for j in range(each)]
            for i in range(clients)
        ]

        async def echo() -> Rate:
            warm = ("echo", {"text": "warm"})
            return await calls_per_second(echo_server, {}, echo_plan, warm, processes=processes, log=log)

        # Echo before and after the bookings: a change in the machine's load shows as a spread
        # between the two and is averaged out of the ratio.
        echoes = [await echo()]
        book = await calls_per_second(
            (url, pid), auth, book_plan, ("get_account", {}), processes=processes, log=log
        )
        echoes.append(await echo())
    echo_rate = sum(e.calls_per_second for e in echoes) / 2
    busy = [e.server_busy for e in echoes]
    echo_busy = None if None in busy else sum(b or 0 for b in busy) / 2

    title = f"Throughput: {clients} concurrent clients in {processes} processes over streamable HTTP"
    table = Section("throughput", title, COLUMNS)
    for name, rate, server_busy, limit in (
        ("echo (bare MCPServer)", echo_rate, echo_busy, None),
        ("book_meeting", book.calls_per_second, book.server_busy, LIMIT),
    ):
        measure = "HTTP throughput, bookings/s vs echo calls/s"
        check = "" if limit is None else table.check(measure, rate / echo_rate, limit, at_least=True)
        table.add(
            name, clients, each, round(clients * each / rate, 2), round(rate, 1), ratio(rate, echo_rate),
            None if server_busy is None else round(server_busy, 2), f"≥ {limit}×" if limit else "", check,
        )  # fmt: skip
    table.notes.append(
        f"{processes} client processes with {clients // processes} sessions each (2026-07-28), one HTTP "
        "connection pool per process; bookings take distinct slots and fresh idempotency keys, so none "
        "is refused. Echo is the mean of a run before and one after the bookings "
        f"({echoes[0].calls_per_second:.0f} and {echoes[1].calls_per_second:.0f} calls/s). Server CPU "
        "busy: CPU seconds the server process used per second of the run (1.0 = one core)."
    )
    return [table]
