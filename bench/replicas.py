"""Replicas: HTTP booking throughput with 1, 2 and 4 server processes on one PostgreSQL database,
against one process on a SQLite file, measured in the same run.

Each case gets a fresh database; 64 sessions (in the load-client processes of bench/throughput.py)
are dealt round-robin to the replicas and book distinct slots with fresh idempotency keys. On
2 cores shared with the load generator the ceiling is near 2 replicas: more processes than cores
only add switching, so 4 replicas are expected no faster than 2 here; the case is there to show
correctness under load and scaling on bigger machines. Needs TEST_POSTGRES_URL (a server where
the bench may create and drop databases); without it the table says so and measures nothing.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench import servers
from bench.config import Config
from bench.report import Section, ratio
from bench.throughput import PROCESSES, Plan, calls_per_second
from bench.workload import bookable_slots, booking, structured

COLUMNS = ["store", "replicas", "bookings", "seconds", "bookings/s", "× one SQLite process"]


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
    return [table]
