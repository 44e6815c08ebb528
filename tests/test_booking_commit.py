"""A booking is one durable commit: the meeting, its invitations, the result kept under the
idempotency key and the audit row commit together or not at all, in at most one worker-thread hop.

Commits are counted with SQLite's statement trace on every connection the server opens; hops by
wrapping anyio's worker-thread entry point. Both are what a booking costs, whatever the machine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client

from tests.conftest import Caller, FakeClock
from tests.test_tools_booking import ANN
from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.audit import AuditTrail
from wix_meetings_mcp.server.settings import Settings

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Tally:
    """Durable commits (COMMIT, or a write outside a transaction) and worker-thread hops."""

    def __init__(self) -> None:
        self.on = False
        self.commits = 0
        self.hops = 0

    def traced(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        in_transaction = wrote = False

        def trace(statement: str) -> None:
            nonlocal in_transaction, wrote
            verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
            if verb == "BEGIN":
                in_transaction, wrote = True, False
            elif verb in ("COMMIT", "END", "ROLLBACK"):
                self.commits += self.on and wrote and verb != "ROLLBACK"  # a read commits nothing
                in_transaction = False
            elif verb in _WRITES:
                wrote = True
                self.commits += self.on and not in_transaction

        conn.set_trace_callback(trace)
        return conn

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.on, self.commits, self.hops = True, 0, 0
        try:
            yield
        finally:
            self.on = False


@pytest.fixture
def tally(monkeypatch: pytest.MonkeyPatch) -> Tally:
    found = Tally()
    connect: Callable[..., sqlite3.Connection] = sqlite.connect
    monkeypatch.setattr(sqlite, "connect", lambda *a, **k: found.traced(connect(*a, **k)))
    run_sync = anyio.to_thread.run_sync

    async def counted(*args: Any, **kwargs: Any) -> Any:
        found.hops += found.on
        return await run_sync(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return found


def server(db: Path | str, clock: FakeClock, **overrides: Any) -> Client:
    settings = Settings(db=db, time_zone="Europe/Berlin", plan="premium", confirm="off", **overrides)
    return Client(build_server(settings, clock=clock))


async def test_a_keyed_booking_is_one_commit_and_one_thread_hop(
    db_path: Path, clock: FakeClock, tally: Tally
) -> None:
    async with server(db_path, clock) as client:
        call = Caller(client)
        slots = (await call("find_slots", from_date="2026-12-03"))["slots"]
        await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN, idempotency_key="warm-up-key")
        with tally.counting():
            booked = await call(
                "book_meeting", slot_id=slots[2]["slot_id"], attendee=ANN, idempotency_key="one-commit"
            )
        assert booked["status"] == "confirmed"
        assert (tally.commits, tally.hops) == (1, 1)
        with tally.counting():
            await call("find_slots", from_date="2026-12-03")
            await call("list_meetings")
        assert (tally.commits, tally.hops) == (0, 0)  # reads run on the loop: WAL never blocks them
        with tally.counting():
            await call("find_slots", from_date="2026-12-03", to_date="2027-01-31")
        assert (tally.commits, tally.hops) == (0, 1)  # a long search leaves the loop free meanwhile
        repeat = {"slot_id": slots[2]["slot_id"], "attendee": ANN, "idempotency_key": "one-commit"}
        assert await call("book_meeting", **repeat) == booked  # (opens the audit trail: it prunes)
        with tally.counting():
            assert await call("book_meeting", **repeat) == booked
        assert tally.commits == 1  # a repeat writes nothing but its own audit row
    trail = AuditTrail(db_path, clock)
    books = [e for e in trail.entries(10) if e.tool == "book_meeting"]
    trail.close()
    assert [(e.result, e.status) for e in books] == [("ok", "confirmed")] * 4  # each call, once


async def test_the_key_and_audit_row_commit_with_the_meeting_or_not_at_all(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("the audit row could not be made")

    async with server(db_path, clock) as client:
        call = Caller(client)
        slot = (await call("find_slots", from_date="2026-12-03"))["slots"][0]
        with monkeypatch.context() as patch:
            patch.setattr(AuditTrail, "row", broken)
            error = await call.error(
                "book_meeting", slot_id=slot["slot_id"], attendee=ANN, idempotency_key="all-or-nothing"
            )
        assert error.startswith("internal_error")
        assert (await call("list_meetings"))["meetings"] == []  # rolled back with its audit row
        booked = await call(
            "book_meeting", slot_id=slot["slot_id"], attendee=ANN, idempotency_key="all-or-nothing"
        )
        assert booked["status"] == "confirmed" and not booked.get("already_booked")
        assert len((await call("list_meetings"))["meetings"]) == 1


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_concurrent_repeats_of_one_key_all_get_the_first_result(
    store: str, db_path: Path, clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    db: Path | str = db_path if store == "sqlite" else request.getfixturevalue("postgres_url")
    async with server(db, clock) as one, server(db, clock) as two:
        first, second = Caller(one), Caller(two)
        slot = (await first("find_slots", from_date="2026-12-03"))["slots"][0]
        results: list[dict[str, Any]] = []

        async def book(call: Caller) -> None:
            results.append(
                await call(
                    "book_meeting", slot_id=slot["slot_id"], attendee=ANN, idempotency_key="duplicate-key"
                )
            )

        async with anyio.create_task_group() as tasks:
            for n in range(12):
                tasks.start_soon(book, (first, second)[n % 2])
        assert len({r["meeting"]["meeting_id"] for r in results}) == 1
        assert all(r == results[0] for r in results) and not results[0].get("already_booked")
        assert len((await first("list_meetings"))["meetings"]) == 1
