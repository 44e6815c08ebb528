"""The export worker's queue under races, on the SQLite file and on PostgreSQL (`engine_db`).

The exporter here is an in-memory calendar (what the host's calendar ends up holding, last write
wins), so the tests can stall a write, move the clock past a lease, move the meeting and let a
second worker (another process or replica on the same database) run in between. What they pin: a
drain always ends, a job's lease outlasts the job, and however the workers interleave the calendar
ends on the meeting as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.calendar_env import berlin_engine, book, slot
from tests.conftest import FakeClock
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.exporters import ExportEvent, ExportFailed
from wix_meetings_mcp.bookings.local.exports import ExportQueue
from wix_meetings_mcp.server.export_worker import JOB_SECONDS, ExportWorker

CONNECTION = "c1"


def execute(db: str, sql: str) -> None:
    """A write beside the engine (what another process does to the same database)."""
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            conn.execute(sql.encode())
        return
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(sql)


def queue_class(db: str) -> type:
    if db.startswith("postgresql://"):
        from wix_meetings_mcp.bookings.local.pg_exports import PgExportQueue

        return PgExportQueue
    return ExportQueue


def open_queue(db: str, kind: type | None = None) -> Any:
    """The export queue on `db` as a worker process opens it (`kind`: a subclass of its class)."""
    return (kind or queue_class(db))(db if db.startswith("postgresql://") else Path(db))


@pytest.fixture
async def backend(engine_db: str, clock: FakeClock) -> AsyncIterator[LocalBackend]:
    """An engine whose host has one exporting calendar connection (an Apple one, by its row)."""
    made = berlin_engine(engine_db, clock, None)  # type: ignore[arg-type]  # no HTTP: nothing leaves
    host = (await made.list_links())[0].host.host_id
    execute(
        engine_db,
        "INSERT INTO calendar_connections (connection_id, host_id, provider, status, ics_url,"
        f" import_enabled, export_enabled, imported_at) VALUES ('{CONNECTION}', '{host}', 'apple',"
        " 'connected', 'caldav:c1', TRUE, TRUE, 0)",
    )
    yield made
    made.close()


class Calendar:
    """The host's calendar as exports leave it: UID → the meeting's start. `stall` runs inside a
    put, before it lands (a slow server), for a test to act while the write is in flight."""

    def __init__(self) -> None:
        self.starts: dict[str, datetime] = {}
        self.puts = 0
        self.stall: Callable[[ExportEvent], Awaitable[None]] | None = None

    async def put_event(self, connection_id: str, event: ExportEvent) -> None:
        self.puts += 1
        if self.stall is not None:
            await self.stall(event)
        self.starts[event.uid] = event.meeting.start

    async def delete_event(self, connection_id: str, uid: str) -> None:
        self.starts.pop(uid, None)


class Refusing:
    """A calendar that refuses the credentials of every request."""

    def __init__(self) -> None:
        self.requests = 0

    async def put_event(self, connection_id: str, event: ExportEvent) -> None:
        self.requests += 1
        raise ExportFailed("auth", "HTTP 401")

    async def delete_event(self, connection_id: str, uid: str) -> None:
        self.requests += 1
        raise ExportFailed("auth", "HTTP 401")


async def test_a_drain_ends_when_a_refused_connection_is_marked_connected_again_meanwhile(
    engine_db: str, clock: FakeClock, backend: LocalBackend
) -> None:
    for n in (0, 3, 6):
        await book(backend, n)
    claims: list[int] = []

    class Reconnected(queue_class(engine_db)):  # type: ignore[misc]
        """Its refusal is followed at once by a good import of the same calendar (the refresher,
        another task), which marks the connection connected again."""

        def claim(self, now: datetime, **options: object) -> list[object]:
            found = super().claim(now, **options)
            claims.append(len(found))
            return found  # type: ignore[no-any-return]

        def auth_failed(self, claimed: object, *, error: str, now: datetime) -> None:
            super().auth_failed(claimed, error=error, now=now)
            execute(engine_db, "UPDATE calendar_connections SET status = 'connected', error_reason = NULL")

    queue, refusing = open_queue(engine_db, Reconnected), Refusing()
    run = ExportWorker(queue, {"apple": refusing}, clock=clock)

    with anyio.fail_after(10):
        assert await run.drain() == 0
    assert refusing.requests == 1  # not one more request with the refused credentials in this drain
    assert claims == [1, 0]  # the refused connection's other jobs were never claimed, nor released
    assert queue.counts() == {"failed": 1, "pending": 2}

    with anyio.fail_after(10):  # the next drain tries the connection, connected again, afresh
        assert await run.drain() == 0
    assert refusing.requests == 2
    queue.close()


async def test_each_export_job_holds_its_own_lease_so_no_second_worker_takes_it_mid_write(
    engine_db: str, clock: FakeClock, backend: LocalBackend
) -> None:
    meetings = [await book(backend, 0) for _ in range(10)]  # the first free slot each time
    assert JOB_SECONDS * len(meetings) > ExportWorker.lease.total_seconds()  # one lease for all would run out
    last, moved_to = meetings[-1], await slot(backend, 0)
    other = open_queue(engine_db)  # a second process on the same database
    calendar = Calendar()
    taken: list[str] = []

    async def slow_then_move(event: ExportEvent) -> None:
        clock.advance(seconds=JOB_SECONDS - 1)  # a slow server, within the job's time
        if event.uid.startswith(last.meeting_id) and not taken:
            await backend.reschedule(last.meeting_id, moved_to, notify_attendee=False)
            taken.extend(job.meeting_id for job in other.claim(clock(), lease=ExportWorker.lease))
            taken.append("looked")

    calendar.stall = slow_then_move
    worker_queue = open_queue(engine_db)
    await ExportWorker(worker_queue, {"apple": calendar}, clock=clock).drain()

    assert taken == ["looked"]  # the job being written was still leased: the other process took nothing
    (uid,) = [u for u in calendar.starts if u.startswith(last.meeting_id)]
    assert calendar.starts[uid] == (await backend.get_meeting(last.meeting_id)).start == moved_to.start
    assert worker_queue.counts() == {"done": 10}
    other.close()
    worker_queue.close()


async def test_a_worker_whose_lease_ran_out_mid_write_arms_the_job_again_so_the_newer_time_wins(
    engine_db: str, clock: FakeClock, backend: LocalBackend
) -> None:
    meeting, moved_to = await book(backend, 0), await slot(backend, 6)
    calendar = Calendar()
    second = ExportWorker(open_queue(engine_db), {"apple": calendar}, clock=clock)
    paused: list[bool] = []

    async def pause_past_the_lease(event: ExportEvent) -> None:
        if paused:
            return
        paused.append(True)
        # This process stalls past its lease; meanwhile the meeting moves and a second worker
        # claims the job and writes the new time.
        clock.advance(seconds=ExportWorker.lease.total_seconds() + 1)
        await backend.reschedule(meeting.meeting_id, moved_to, notify_attendee=False)
        assert await second.drain() == 1

    calendar.stall = pause_past_the_lease
    first_queue = open_queue(engine_db)
    await ExportWorker(first_queue, {"apple": calendar}, clock=clock).drain()  # writes its stale copy last

    (start,) = calendar.starts.values()
    assert start == (await backend.get_meeting(meeting.meeting_id)).start == moved_to.start
    assert calendar.puts == 3  # the stale write, the second worker's, and the one armed after it
    assert first_queue.counts() == {"done": 1}
    first_queue.close()


async def test_a_process_without_a_providers_exporter_leaves_its_jobs_to_one_that_has_it(
    engine_db: str, clock: FakeClock, backend: LocalBackend
) -> None:
    """A stdio server without the Google client shares the database with an HTTP one that has it:
    the Google jobs wait for the latter instead of being given up (or polled for) by the former."""
    execute(engine_db, "UPDATE calendar_connections SET provider = 'google'")
    await book(backend, 0)
    is_pg = engine_db.startswith("postgresql://")
    kind = queue_class(engine_db)
    target = engine_db if is_pg else Path(engine_db)
    apple_only, everyone = kind(target, providers=["apple"]), kind(target, providers=["apple", "google"])
    calendar = Calendar()

    assert await ExportWorker(apple_only, {"apple": Calendar()}, clock=clock).drain() == 0
    assert apple_only.next_due() is None  # nothing it could take: it sleeps until the poll
    assert await ExportWorker(everyone, {"google": calendar}, clock=clock).drain() == 1
    assert len(calendar.starts) == 1 and everyone.counts() == {"done": 1}
    apple_only.close()
    everyone.close()
