"""Flat with history: the everyday tools as the business's past grows from 10 to 100,000 meetings.

Each size gets its own database, built by the server itself (a fresh file is provisioned on the
first call) and then filled with past meetings by plain SQL inserts into the engine's `meetings`
table: booking 100,000 meetings through the tools would take minutes and measure nothing new.
The past meetings are back to back, 30 minutes each, ending before the fixed clock's now (so
100,000 of them reach back ~5.7 years); every tenth is cancelled and attendees come back, as a
real calendar's do. Nothing else is written: no ANALYZE, as a file grown through the tools has none.

Then the tools are timed through MCP in memory (`Client(server)`), round-robin over the sizes so
a change in the machine's load hits all of them alike: `get_account` (it counts the plan's
meetings), `find_slots` (defaults), `book_meeting` (a distinct slot beyond the first week and a
fresh idempotency key) and `list_meetings` (upcoming, the default). Ratios are to 10 past meetings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from mcp import Client

from bench.config import Config
from bench.report import Section, median, ms
from bench.servers import in_process_settings
from bench.workload import bookable_slots, booking, structured
from wix_meetings_mcp.bookings.local import rows
from wix_meetings_mcp.bookings.model import Attendee, Host, Location, Meeting
from wix_meetings_mcp.server.app import build_server

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday morning, as in the tests
SIZES = (10, 1_000, 10_000, 100_000)
LIMIT = 1.2  # issue 12: each tool at every size within 1.2x of its time at 10 past meetings
TOOLS = ("get_account", "find_slots", "book_meeting", "list_meetings")
HALF_HOUR = timedelta(minutes=30)
COLUMNS = ["past meetings", "seed s", *(f"{t} ms" for t in TOOLS), *(f"{t} ×10" for t in TOOLS), "check"]


def seed_past(db: Path, count: int) -> float:
    """Insert `count` past meetings of the file's first link; returns the seconds it took."""
    started = perf_counter()
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        link = conn.execute(rows.LINK_SELECT + " ORDER BY l.rowid LIMIT 1").fetchone()
        template, row = past_rows(link, count)
        conn.executemany(rows.insert_sql("meetings", template), (row(i) for i in range(count)))
    return perf_counter() - started


def seed_past_postgres(url: str, count: int) -> float:
    """The same past meetings in a PostgreSQL database (the engine's columns are the same there)."""
    import psycopg
    from psycopg.rows import dict_row

    started = perf_counter()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        link = conn.execute((rows.LINK_SELECT + " ORDER BY l.link_id LIMIT 1").encode()).fetchone()
        assert link is not None
        template, row = past_rows(link, count)
        insert = rows.insert_sql("meetings", template).replace("?", "%s")
        with conn.cursor() as cur:
            cur.executemany(insert.encode(), [row(i) for i in range(count)])
    return perf_counter() - started


def past_rows(link: Any, count: int) -> tuple[dict[str, object], Callable[[int], tuple[object, ...]]]:
    """The columns of one past meeting of `link`, and the row of the i-th one before now."""
    template = rows.meeting_columns(
        Meeting(
            meeting_id="seed",
            link_id=link["link_id"],
            link_name=link["name"],
            status="confirmed",
            start=NOW - HALF_HOUR,
            end=NOW,
            attendee=Attendee(name="Past Client", email="client@example.com"),
            host=Host(host_id=link["host_id"], name=link["host_name"], email=link["host_email"]),
            location=Location(kind=link["location_kind"], address=link["location_address"]),
            created_at=NOW,
        )
    )
    returning = max(1, count // 4)  # each attendee came about four times

    def row(i: int) -> tuple[object, ...]:
        end = int((NOW - i * HALF_HOUR).timestamp())
        return tuple(
            (template | {
                "meeting_id": f"past{i:07d}",
                "status": "cancelled" if i % 10 == 9 else "confirmed",
                "start_ts": end - 1800,
                "end_ts": end,
                "attendee_email": f"client{i % returning}@example.com",
                "created_at": end - 7 * 86400,
            }).values()
        )  # fmt: skip

    return template, row


async def run(cfg: Config) -> Section:
    rounds, warmup = 3 * cfg.repeats, 3  # calls are cheap; more of them steady the paired ratios
    samples: dict[int, dict[str, list[float]]] = {size: {t: [] for t in TOOLS} for size in SIZES}
    seeded: dict[int, float] = {}
    async with AsyncExitStack() as stack:
        clients: dict[int, tuple[Client, str, list[str]]] = {}
        for size in SIZES:
            db = cfg.workdir / f"history-{size}.db"
            server = build_server(in_process_settings(db), clock=lambda: NOW)
            client = await stack.enter_async_context(Client(server))
            link_id = (await structured(client, "list_scheduling_links", {}))["links"][0]["link_id"]
            seeded[size] = seed_past(db, size)
            clients[size] = client, link_id, await bookable_slots(client, link_id, rounds + warmup)

        for round_ in range(warmup + rounds):
            # Alternate the order, so no size always runs right after another's booking.
            for size, (client, link_id, slots) in list(clients.items())[:: 1 if round_ % 2 else -1]:
                plan: list[tuple[str, dict[str, Any]]] = [
                    ("get_account", {}),
                    ("find_slots", {"link_id": link_id}),
                    ("book_meeting", booking(slots[round_], round_, prefix=f"h{size}-")),
                    ("list_meetings", {}),
                ]
                for tool, arguments in plan:
                    started = perf_counter()
                    await structured(client, tool, arguments)
                    if round_ >= warmup:
                        samples[size][tool].append(perf_counter() - started)

    title = "Flat with history: the tools at 10 to 100,000 past meetings (in memory, LocalBackend)"
    table = Section("scale", title, COLUMNS)
    floor = samples[SIZES[0]]
    for size in SIZES:
        p50 = {tool: median(samples[size][tool]) for tool in TOOLS}
        # Paired: each round's call against the same round's call at 10, so drift in the machine's
        # load (other work, disk flushes) cancels instead of landing on one size.
        ratios = {
            tool: median([ours / base for ours, base in zip(samples[size][tool], floor[tool], strict=True)])
            for tool in TOOLS
        }
        verdict = "" if size == SIZES[0] else ("pass" if max(ratios.values()) <= LIMIT else "miss")
        if size == SIZES[-1]:  # the summary quotes the largest history, as the target is stated
            for tool in TOOLS:
                table.check(f"{tool} at {size:,} past meetings vs 10", ratios[tool], LIMIT)
        table.add(
            f"{size:,}", round(seeded[size], 2), *(ms(p50[t]) for t in TOOLS),
            *(round(ratios[t], 2) for t in TOOLS), verdict,
        )  # fmt: skip
    table.notes.append(
        f"ms: median of {rounds} calls per tool and size after {warmup} warm-up rounds, round-robin over "
        "the sizes (order reversed every other round); ×10: median over the rounds of each call's time "
        f"over the same round's call at 10 past meetings; target ≤ {LIMIT}× for every tool. Past meetings are "
        "back to back before now, every tenth cancelled; seed s: the SQL inserts. book_meeting takes "
        "a fresh idempotency_key; list_meetings is the default (upcoming, 20)."
    )
    return table
