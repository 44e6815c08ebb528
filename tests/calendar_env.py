"""What the calendar tests share (feeds, CalDAV, OAuth): a premium engine in Berlin on either store,
and the Tuesday they book on and read free times of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import FakeClock
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.storage import open_store
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, Meeting, Slot

TUESDAY = datetime(2026, 12, 1, tzinfo=UTC)  # the day after the conftest clock
DENTIST = (datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC))  # 10:00 Berlin
EXPORTED = (datetime(2026, 12, 1, 13, tzinfo=UTC), datetime(2026, 12, 1, 14, tzinfo=UTC))


def berlin_engine(db: Path | str, clock: FakeClock, http: httpx.AsyncClient, **options: Any) -> LocalBackend:
    """A premium engine in Europe/Berlin on the SQLite file or the PostgreSQL database `db`;
    `options` are the rest of LocalBackend's (tests close it)."""
    return LocalBackend(
        store=open_store(db, ZoneInfo("Europe/Berlin")),
        time_zone="Europe/Berlin",
        plan="premium",
        clock=clock,
        http=http,
        **options,
    )


async def tuesday_slots(backend: LocalBackend) -> list[Slot]:
    """Tuesday's half-hour slots of the engine's first link."""
    link = (await backend.list_links())[0]
    return await backend.find_slots(
        link, start=TUESDAY, end=TUESDAY + timedelta(days=1), duration=timedelta(minutes=30)
    )


async def free_starts(backend: LocalBackend) -> set[datetime]:
    return {s.start.astimezone(UTC) for s in await tuesday_slots(backend)}


async def slot(backend: LocalBackend, n: int) -> Slot:
    return (await tuesday_slots(backend))[n]


async def book(backend: LocalBackend, n: int = 0) -> Meeting:
    """Ann Lee books Tuesday's slot number `n`."""
    return await backend.book(
        BookingRequest(
            slot=await slot(backend, n), attendee=Attendee(name="Ann Lee", email="ann@example.com")
        ),
        meetings_limit=None,
    )
