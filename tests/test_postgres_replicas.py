"""Storms across replicas: four HTTP server processes on one PostgreSQL database.

Each storm's outcome is read from the database itself, past every replica: exactly one meeting per
slot, no overlaps, exactly three on the free plan, and no acknowledged booking lost when a replica
is killed mid-storm while the others keep serving.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psycopg
import pytest
from mcp import Client
from mcp.types import CallToolResult

from tests.test_reliability_contention import bookable_slots, mcp_client, servers, text_of

pytestmark = pytest.mark.slow

REPLICAS = 4


def stored(url: str) -> tuple[list[tuple[str, str]], int]:
    """(meeting_id, attendee_email) of live meetings, and how many pairs of them overlap."""
    with psycopg.connect(url) as conn:
        live = conn.execute(
            "SELECT meeting_id, attendee_email FROM meetings WHERE status != 'cancelled'"
        ).fetchall()
        overlaps = conn.execute(
            """SELECT COUNT(*) FROM meetings a JOIN meetings b
               ON a.host_id = b.host_id AND a.meeting_id < b.meeting_id
               WHERE a.status != 'cancelled' AND b.status != 'cancelled'
                 AND a.start_ts < b.end_ts AND b.start_ts < a.end_ts"""
        ).fetchone()
    assert overlaps is not None
    return [(str(m), str(e)) for m, e in live], int(overlaps[0])


async def storm(
    urls: list[str], calls: list[tuple[str, str]], *, per_replica: int = 2, during: Any = None
) -> list[tuple[str, CallToolResult | BaseException]]:
    """Every (slot_id, email) booked at once through the replicas; exceptions are kept, not raised."""
    outcomes: list[tuple[str, CallToolResult | BaseException]] = []

    async def book(client: Client, slot_id: str, email: str) -> None:
        args = {"slot_id": slot_id, "attendee": {"name": email.split("@")[0], "email": email}}
        try:
            outcomes.append((email, await client.call_tool("book_meeting", args)))
        except Exception as exc:  # a killed replica drops its calls
            outcomes.append((email, exc))

    with anyio.fail_after(150):
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(tolerant(url)) for _ in range(per_replica) for url in urls
            ]
            async with anyio.create_task_group() as tg:
                for i, (slot_id, email) in enumerate(calls):
                    tg.start_soon(book, clients[i % len(clients)], slot_id, email)
                if during is not None:
                    tg.start_soon(during)
    return outcomes


@asynccontextmanager
async def tolerant(url: str) -> AsyncIterator[Client]:
    """A client whose closing may fail: its replica may have been killed under it."""
    try:
        async with mcp_client(url) as client:
            yield client
    except* Exception as group:
        for exc in group.exceptions:
            if not isinstance(
                exc, (httpx2.HTTPError, OSError, anyio.ClosedResourceError, anyio.BrokenResourceError)
            ):
                raise


def booked(outcomes: list[tuple[str, CallToolResult | BaseException]]) -> list[str]:
    return [
        email
        for email, result in outcomes
        if isinstance(result, CallToolResult)
        and not result.is_error
        and not result.structured_content["already_booked"]  # type: ignore[index]
    ]


async def test_a_thousand_bookings_on_fifty_slots_across_four_replicas_make_fifty_meetings(
    tmp_path: Path, postgres_url: str
) -> None:
    with servers(tmp_path, tmp_path / "unused.db", REPLICAS, MEETINGS_DB=postgres_url) as running:
        async with mcp_client(running[0].url) as first:
            slots = await bookable_slots(first, 50)
        calls = [
            (slot["slot_id"], f"p{j}-slot{s}@example.com") for s, slot in enumerate(slots) for j in range(20)
        ]
        outcomes = await storm([r.url for r in running], calls)
        for served in running:
            assert served.proc.poll() is None and "Traceback" not in served.log.read_text()
    assert len(outcomes) == 1000
    codes = Counter(
        "ok" if not r.is_error else text_of(r).split(":")[0]
        for _, r in outcomes
        if isinstance(r, CallToolResult)
    )
    assert set(codes) <= {"ok", "slot_unavailable"}, codes
    live, overlaps = stored(postgres_url)
    assert len(live) == 50 == len(booked(outcomes)) and overlaps == 0
    assert sorted(e for _, e in live) == sorted(booked(outcomes))


async def test_two_hundred_bookings_on_the_free_plan_across_replicas_make_exactly_three(
    tmp_path: Path, postgres_url: str
) -> None:
    with servers(
        tmp_path, tmp_path / "unused.db", REPLICAS, MEETINGS_DB=postgres_url, MEETINGS_PLAN="free"
    ) as running:
        async with mcp_client(running[0].url) as first:
            slots = await bookable_slots(first, 200)
        outcomes = await storm(
            [r.url for r in running], [(s["slot_id"], f"p{i}@example.com") for i, s in enumerate(slots)]
        )
    refused = [text_of(r) for _, r in outcomes if isinstance(r, CallToolResult) and r.is_error]
    assert all(t.startswith("plan_limit_reached:") for t in refused), refused[:3]
    live, _ = stored(postgres_url)
    assert len(live) == 3 == len(booked(outcomes)) and len(refused) == 197


async def test_killing_a_replica_mid_storm_loses_no_acknowledged_booking(
    tmp_path: Path, postgres_url: str
) -> None:
    with servers(tmp_path, tmp_path / "unused.db", REPLICAS, MEETINGS_DB=postgres_url) as running:
        async with mcp_client(running[0].url) as first:
            slots = await bookable_slots(first, 60)

        async def kill_one() -> None:
            await anyio.sleep(0.3)
            running[1].proc.send_signal(signal.SIGKILL)

        calls = [
            (slot["slot_id"], f"p{j}-slot{s}@example.com") for s, slot in enumerate(slots) for j in range(4)
        ]
        outcomes = await storm([r.url for r in running], calls, during=kill_one)
        survivors = [r for i, r in enumerate(running) if i != 1]
        async with mcp_client(survivors[0].url) as after:  # the others keep serving
            assert not (await after.call_tool("get_account", {})).is_error
    assert running[1].proc.poll() is not None  # it really died
    live, overlaps = stored(postgres_url)
    acknowledged = booked(outcomes)
    assert set(acknowledged) <= {e for _, e in live} and overlaps == 0
    assert len(live) <= 60
