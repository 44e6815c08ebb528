"""Several replicas on PostgreSQL: HTTP booking throughput with 1, 2 and 4 server processes on one PostgreSQL database,
against one process on a SQLite file, measured in the same run.

Each case gets a fresh database; 64 sessions (in the load-client processes of bench/throughput.py)
are dealt round-robin to the replicas and book distinct slots with fresh idempotency keys. On
2 cores shared with the load generator the ceiling is near 2 replicas: more processes than cores
only add switching, so 4 replicas are expected no faster than 2 here; the case is there to show
correctness under load and scaling on bigger machines. A second table times find_slots and book_meeting at 10 and 100,000 past meetings on both stores.
Needs TEST_POSTGRES_URL (a server where
the bench may create and drop databases); without it the table says so and measures nothing.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench import servers
from bench.config import Config
from bench.history import NOW, seed_past, seed_past_postgres
from bench.report import Section, median, ms, ratio
from bench.servers import in_process_settings
from bench.throughput import PROCESSES, Plan, calls_per_second
from bench.workload import bookable_slots, booking, structured
from wix_meetings_mcp.server.app import build_server

COLUMNS = ["store", "replicas", "bookings", "seconds", "bookings/s", "× one SQLite process"]
HISTORY_COLUMNS = [
    "store",
    "past meetings",
    "find_slots ms",
    "book_meeting ms",
    "find_slots ×10",
    "book_meeting ×10",
]
HISTORY = (10, 100_000)


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    import psycopg

    name = f"meetings_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


async def bookings_per_second(
    cfg: Config, replicas: int, db_url: str | None, calls: tuple[int, int]
) -> float:
    clients, each = calls
    token = secrets.token_urlsafe(24)
    async with AsyncExitStack() as stack:
        started = [
            await stack.enter_async_context(
                servers.meetings_http(
                    cfg.workdir, f"replica-{uuid.uuid4().hex[:6]}.db", db_url=db_url, token=token
                )
            )
            for _ in range(replicas)
        ]
        urls = [url for url, _, _ in started]
        auth = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=auth) as http,
            Client(streamable_http_client(urls[0], http_client=http)) as c,
        ):
            link_id = (await structured(c, "list_scheduling_links", {}))["links"][0]["link_id"]
            slots = await bookable_slots(c, link_id, clients * each)
        plan: Plan = [
            [("book_meeting", booking(slots[i * each + j], i * each + j, prefix="r")) for j in range(each)]
            for i in range(clients)
        ]
        rate = await calls_per_second(
            (urls, started[0][2]), auth, plan, ("get_account", {}),
            processes=min(PROCESSES, clients), log=cfg.workdir / "replica-clients.log",
        )  # fmt: skip
    return rate.calls_per_second


async def history(cfg: Config, server_url: str) -> Section:
    """find_slots and book_meeting at 10 and 100,000 past meetings on both stores, paired per round."""
    rounds = 20 if cfg.quick else 3 * cfg.repeats
    table = Section(
        "history_stores", "Flat with history on both stores (in memory, MCP client)", HISTORY_COLUMNS
    )
    async with AsyncExitStack() as stack:
        samples: dict[tuple[str, int], dict[str, list[float]]] = {}
        clients: dict[tuple[str, int], tuple[Client, str, list[dict[str, Any]]]] = {}
        for store in ("SQLite", "PostgreSQL"):
            for size in HISTORY:
                if store == "SQLite":
                    db: Path | str = cfg.workdir / f"history-store-{size}.db"
                else:
                    db = await stack.enter_async_context(fresh_database(server_url))
                client = await stack.enter_async_context(
                    Client(build_server(in_process_settings(db), clock=lambda: NOW))
                )
                link_id = (await structured(client, "list_scheduling_links", {}))["links"][0]["link_id"]
                if isinstance(db, Path):
                    seed_past(db, size)
                else:
                    seed_past_postgres(db, size)
                clients[(store, size)] = client, link_id, await bookable_slots(client, link_id, rounds)
                samples[(store, size)] = {"find_slots": [], "book_meeting": []}
        for round_ in range(rounds):
            for key, (client, link_id, slots) in clients.items():
                for tool, arguments in (
                    ("find_slots", {"link_id": link_id}),
                    ("book_meeting", booking(slots[round_], round_, prefix=f"s{key[0][0]}{key[1]}-")),
                ):
                    started = perf_counter()
                    await structured(client, tool, arguments)
                    samples[key][tool].append(perf_counter() - started)
    for store in ("SQLite", "PostgreSQL"):
        base = samples[(store, HISTORY[0])]
        for size in HISTORY:
            mine = samples[(store, size)]
            paired = {
                tool: median([a / b for a, b in zip(mine[tool], base[tool], strict=True)])
                for tool in ("find_slots", "book_meeting")
            }
            table.add(
                store, f"{size:,}", ms(median(mine["find_slots"])), ms(median(mine["book_meeting"])),
                round(paired["find_slots"], 2), round(paired["book_meeting"], 2),
            )  # fmt: skip
    table.notes.append(
        f"median of {rounds} rounds; ×10: each call over the same round's call at 10 past meetings on the same store."
    )
    return table


async def run(cfg: Config) -> list[Section]:
    table = Section("replicas", "Replicas: HTTP bookings/s on PostgreSQL vs one SQLite process", COLUMNS)
    server_url = os.environ.get("TEST_POSTGRES_URL")
    if not server_url:
        table.notes.append("Skipped: TEST_POSTGRES_URL is not set (a PostgreSQL server the bench may use).")
        return [table]
    calls = (8, 3) if cfg.quick else (64, 8)
    baseline = await bookings_per_second(cfg, 1, None, calls)
    table.add(
        "SQLite file", 1, calls[0] * calls[1], round(calls[0] * calls[1] / baseline, 2), round(baseline, 1), 1
    )
    for replicas in (1, 2, 4):
        async with fresh_database(server_url) as db_url:
            rate = await bookings_per_second(cfg, replicas, db_url, calls)
        table.add(
            "PostgreSQL", replicas, calls[0] * calls[1], round(calls[0] * calls[1] / rate, 2), round(rate, 1),
            ratio(rate, baseline),
        )  # fmt: skip
    table.notes.append(
        f"{calls[0]} sessions in {min(PROCESSES, calls[0])} client processes, dealt round-robin to the replicas; "
        "distinct slots, fresh idempotency keys. The clients share the machine's cores with the servers."
    )
    return [table, await history(cfg, server_url)]
