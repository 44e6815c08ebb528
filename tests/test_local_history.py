"""Flat with history: the engine's queries read the window they need, not every meeting ever booked.

Speed is the bench's business (bench/scale.py); here the query plans and the maintained count
are checked, which is what keeps 100,000 past meetings as cheap as ten.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.store import _HOST_MEETINGS, _MEETING_CONFLICT, MAX_MEETING
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def plan(db: Path, sql: str, params: dict[str, object]) -> str:
    with sqlite3.connect(db) as conn:
        return " | ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


async def engine(db: Path) -> LocalBackend:
    backend = LocalBackend(db_path=db, time_zone="Europe/Berlin", plan="premium", clock=lambda: NOW)
    await backend.get_account()  # provisions the file
    return backend


async def test_slot_and_conflict_queries_search_a_bounded_range_of_the_host_index(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    (await engine(db)).close()
    window = {"host": "h", "ignore": "", "lo": 0, "hi": 1, "day": MAX_MEETING, "start": 0, "end": 1, "buf": 0}
    for sql in (_HOST_MEETINGS, _MEETING_CONFLICT):
        found = plan(db, sql, window)
        assert "USING INDEX meetings_host_start (host_id=? AND start_ts>? AND start_ts<?)" in found, found


async def test_upcoming_and_attendee_listings_use_bounded_index_ranges(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    (await engine(db)).close()
    upcoming = (
        "SELECT * FROM meetings WHERE status != 'cancelled' AND end_ts > :now AND start_ts > :since"
        " ORDER BY start_ts, meeting_id LIMIT 21"
    )
    assert "start_ts>?" in plan(db, upcoming, {"now": 1, "since": 0})
    by_email = "SELECT * FROM meetings WHERE lower(attendee_email) = lower(:e) ORDER BY start_ts LIMIT 21"
    assert "meetings_attendee_email" in plan(db, by_email, {"e": "a@x.org"})


async def test_the_live_meeting_count_follows_bookings_and_cancellations(tmp_path: Path) -> None:
    backend = await engine(tmp_path / "m.db")
    link = (await backend.list_links())[0]
    slots = await backend.find_slots(
        link, start=NOW, end=NOW + timedelta(days=2), duration=timedelta(minutes=30)
    )
    booked = [
        await backend.book(
            BookingRequest(slot=s, attendee=Attendee(name="A", email=f"{i}@x.org")), meetings_limit=None
        )
        for i, s in enumerate(slots[:3])
    ]
    assert (await backend.get_account()).meetings_used == 3
    await backend.cancel(booked[0].meeting_id, reason=None, notify_attendee=False)
    await backend.cancel(booked[0].meeting_id, reason=None, notify_attendee=False)  # twice: counted once
    assert (await backend.get_account()).meetings_used == 2
    backend.close()
