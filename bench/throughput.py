"""Throughput under concurrency: many MCP clients at once over streamable HTTP on 127.0.0.1.

Issue 6: 64 concurrent clients booking distinct slots, in bookings per second as a fraction of
echo calls per second with the same clients on the same transport (target ≥ 0.4). All sessions
are opened and warmed before the clock starts; each then makes its calls one after another, so
at most `clients` calls are in flight. The clients run in this process and share its CPU with
the server, as they do for echo.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from time import perf_counter
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench import servers
from bench.config import Config
from bench.report import Section, ratio, verdict
from bench.workload import bookable_slots, structured

LIMIT = 0.4
COLUMNS = ["tool", "clients", "calls each", "seconds", "calls/s", "× echo", "target", "check"]
Plan = list[list[tuple[str, dict[str, Any]]]]  # per client: its calls in order


async def calls_per_second(
    url: str, headers: dict[str, str], plan: Plan, warm: tuple[str, dict[str, Any]]
) -> float:
    limits = httpx2.Limits(max_connections=len(plan) + 8, max_keepalive_connections=len(plan) + 8)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, limits=limits))
        sessions = [
            await stack.enter_async_context(Client(streamable_http_client(url, http_client=http)))
            for _ in plan
        ]
        for session in sessions:
            await structured(session, *warm)  # connects and fetches the tool list for validation

        async def work(session: Client, calls: list[tuple[str, dict[str, Any]]]) -> None:
            for tool, arguments in calls:
                await structured(session, tool, arguments)

        started = perf_counter()
        async with anyio.create_task_group() as group:
            for session, calls in zip(sessions, plan, strict=True):
                group.start_soon(work, session, calls)
        elapsed = perf_counter() - started
    return sum(map(len, plan)) / elapsed


async def run(cfg: Config) -> list[Section]:
    clients, each = (8, 3) if cfg.quick else (64, 10)
    async with (
        servers.echo_http(cfg.workdir) as (echo_url, _),
        servers.meetings_http(cfg.workdir, "throughput.db") as (url, token, _),
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
            [
                (
                    "book_meeting",
                    {
                        "slot_id": slots[i * each + j],
                        "attendee": {"name": "Bench", "email": f"c{i}-{j}@example.com"},
                    },
                )
                for j in range(each)
            ]
            for i in range(clients)
        ]
        # Echo before and after the bookings: a change in the machine's load shows as a spread
        # between the two and is averaged out of the ratio.
        echo_rates = [await calls_per_second(echo_url, {}, echo_plan, ("echo", {"text": "warm"}))]
        book_rate = await calls_per_second(url, auth, book_plan, ("get_account", {}))
        echo_rates.append(await calls_per_second(echo_url, {}, echo_plan, ("echo", {"text": "warm"})))
        echo_rate = sum(echo_rates) / 2

    table = Section("throughput", f"Throughput: {clients} concurrent clients over streamable HTTP", COLUMNS)
    for name, rate, limit in (("echo (bare MCPServer)", echo_rate, None), ("book_meeting", book_rate, LIMIT)):
        table.add(
            name, clients, each, round(clients * each / rate, 2), round(rate, 1), ratio(rate, echo_rate),
            f"≥ {limit}×" if limit else "", verdict(rate / echo_rate, limit, at_least=True),
        )  # fmt: skip
    table.notes.append(
        "Each client is its own MCP session (2026-07-28) over one shared HTTP connection pool; "
        "bookings take distinct slots, so none is refused. Echo is the mean of a run before and one "
        f"after the bookings ({echo_rates[0]:.0f} and {echo_rates[1]:.0f} calls/s)."
    )
    return [table]
