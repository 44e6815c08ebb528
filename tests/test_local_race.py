"""Two OS processes, one store (a SQLite file, or a PostgreSQL database): each slot is booked exactly
once, and provisioning happens once."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Queue
from zoneinfo import ZoneInfo

import pytest

from wix_meetings_mcp.bookings.errors import SlotUnavailable
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.storage import open_store
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, MeetingQuery

pytestmark = pytest.mark.slow

ROUNDS = 50
NOW = datetime(2026, 6, 1, 6, 0, tzinfo=ZoneInfo("Europe/Berlin"))
WAIT = 30.0  # seconds; bounds every barrier and queue wait so a broken run fails instead of hanging


@pytest.fixture(params=["sqlite", "postgres"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where both processes keep their meetings: a file path or a PostgreSQL URL."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "shared.db")


def open_backend(db: str) -> LocalBackend:
    store = open_store(db, ZoneInfo("Europe/Berlin"))
    return LocalBackend(store=store, time_zone="Europe/Berlin", plan="premium", clock=lambda: NOW)


def contender(db_path: str, name: str, barrier: Barrier, results: Queue[tuple[str, int, str]]) -> None:
    """Runs in a spawned process; reports (name, round, won/lost/error) for every round."""
    try:
        asyncio.run(contend(db_path, name, barrier, results))
    except Exception as exc:  # the parent must see a failure, not wait for a result that never comes
        barrier.abort()  # and the other contender must not wait for this one
        results.put((name, -1, f"error: {exc!r}"))


async def contend(db_path: str, name: str, barrier: Barrier, results: Queue[tuple[str, int, str]]) -> None:
    barrier.wait(WAIT)  # both open the fresh file at once: provisioning races too
    backend = open_backend(db_path)
    link = (await backend.list_links())[0]
    slots = await backend.find_slots(
        link, start=NOW, end=NOW + timedelta(days=14), duration=timedelta(minutes=30)
    )
    for i, slot in enumerate(slots[:ROUNDS]):
        barrier.wait(WAIT)
        request = BookingRequest(
            slot=slot, attendee=Attendee(name=f"{name} {i}", email=f"{name}@example.com")
        )
        try:
            await backend.book(request, meetings_limit=None)
        except SlotUnavailable:
            results.put((name, i, "lost"))
        else:
            results.put((name, i, "won"))
    backend.close()


async def test_two_processes_racing_for_fifty_slots_book_each_slot_exactly_once(shared_db: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results: Queue[tuple[str, int, str]] = context.Queue()  # type: ignore[assignment]
    db_path = shared_db
    processes = [
        context.Process(target=contender, args=(db_path, name, barrier, results))
        for name in ("alpha", "beta")
    ]
    for process in processes:
        process.start()
    outcomes: dict[int, list[str]] = {}
    try:
        for _ in range(2 * ROUNDS):
            name, i, outcome = await asyncio.to_thread(results.get, True, 2 * WAIT)
            assert not outcome.startswith("error"), f"{name}: {outcome}"
            outcomes.setdefault(i, []).append(outcome)
    finally:
        for process in processes:
            process.join(WAIT)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes)
    assert sorted(outcomes) == list(range(ROUNDS))
    assert all(sorted(pair) == ["lost", "won"] for pair in outcomes.values())

    backend = open_backend(db_path)
    assert len(await backend.list_links(include_inactive=True)) == 1
    meetings = (await backend.list_meetings(MeetingQuery(status="all", limit=ROUNDS + 10))).meetings
    starts = [m.start for m in meetings]
    assert len(meetings) == ROUNDS and len(set(starts)) == ROUNDS
    backend.close()
