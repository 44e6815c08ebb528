"""The local engine on PostgreSQL: the database holds the invariants, whoever writes and however many.

Every test on a database gets a fresh one (`postgres_url`) and skips with one line without
TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.test_cli_startup import one_line_error, run
from wix_meetings_mcp.bookings.errors import BackendUnavailable, PlanLimitReached, SlotUnavailable
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.backend import FREE_PLAN_MEETINGS
from wix_meetings_mcp.bookings.local.calendar_sync import CalendarSync
from wix_meetings_mcp.bookings.local.pg_store import PgStore
from wix_meetings_mcp.bookings.local.storage import calendar_sync, open_store
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, CalendarConnection, Meeting, Slot
from wix_meetings_mcp.server.app import HttpClient, open_backend
from wix_meetings_mcp.server.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 1, 6, 0, tzinfo=BERLIN)  # a Monday morning
HALF_HOUR = timedelta(minutes=30)
WAIT = 60.0  # seconds; a broken lock fails the test instead of hanging it


def replica(url: str, *, plan: str = "premium", store: PgStore | None = None) -> LocalBackend:
    """One engine with its own connection pool, as one server replica would have."""
    return LocalBackend(
        store=store or open_store(url, BERLIN),
        time_zone="Europe/Berlin",
        plan=plan,  # type: ignore[arg-type]  # the tests pass "free" or "premium"
        clock=lambda: NOW,
    )


def stored(url: str, where: str = "TRUE") -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM meetings WHERE {where}".encode()).fetchone()
    assert row is not None
    return int(row[0])


async def slots_of(backend: LocalBackend, link_id: str, n: int) -> list[Slot]:
    link = await backend.get_link(link_id)
    found = await backend.find_slots(link, start=NOW, end=NOW + timedelta(days=7), duration=HALF_HOUR)
    return found[:n]


async def test_many_concurrent_bookings_on_a_free_plan_make_exactly_three_across_hosts_and_replicas(
    postgres_url: str,
) -> None:
    # Different hosts, so no host's lock orders the bookings: only the plan's count can stop them.
    first, second = replica(postgres_url, plan="free"), replica(postgres_url, plan="free")
    try:
        link_ids = [(await first.list_links())[0].link_id]
        for n in range(4):
            host = await first.create_host(name=f"Host {n}")
            link_ids.append((await first.create_link(name=f"Talk {n}", host_id=host.host_id)).link_id)
        requests = [
            BookingRequest(slot=slot, attendee=Attendee(name=f"Guest {i}", email=f"g{i}@example.com"))
            for link_id in link_ids
            for i, slot in enumerate(await slots_of(first, link_id, 8))
        ]
        assert len(requests) == 40

        async def attempt(backend: LocalBackend, request: BookingRequest) -> Meeting | Exception:
            try:
                return await backend.book(request, meetings_limit=FREE_PLAN_MEETINGS)
            except (PlanLimitReached, SlotUnavailable) as exc:
                return exc

        async with asyncio.timeout(WAIT):
            outcomes = await asyncio.gather(
                *(attempt(first if i % 2 else second, r) for i, r in enumerate(requests))
            )
        booked = [o for o in outcomes if isinstance(o, Meeting)]
        assert len(booked) == FREE_PLAN_MEETINGS
        assert all(isinstance(o, PlanLimitReached) for o in outcomes if not isinstance(o, Meeting))
        assert stored(postgres_url) == FREE_PLAN_MEETINGS
        assert (await second.get_account()).meetings_used == FREE_PLAN_MEETINGS
        # A cancellation frees one place, and exactly one.
        await first.cancel(booked[0].meeting_id, reason=None, notify_attendee=False)
        again = await asyncio.gather(*(attempt(second, r) for r in requests[-6:]))
        assert sum(isinstance(o, Meeting) for o in again) == 1
    finally:
        first.close()
        second.close()


async def test_refreshers_on_several_replicas_never_claim_the_same_due_feed(postgres_url: str) -> None:
    feeds, replicas = 40, 4
    setup = replica(postgres_url)
    stores = [PgStore(postgres_url, BERLIN) for _ in range(replicas)]
    try:
        host_id = (await setup.list_links())[0].host.host_id  # provisions the database
        for n in range(feeds):
            stores[0].save_connection(
                CalendarConnection(
                    connection_id=f"feed-{n}", host_id=host_id, provider="google", status="connected"
                ),
                ics_url=f"https://calendar.example.com/{n}.ics",
                busy=[],
                imported_at=NOW - timedelta(hours=1),
            )
        syncs = [calendar_sync(store) for store in stores]
        start = threading.Barrier(replicas)

        def refresher(sync: CalendarSync) -> list[str]:
            """Claims in small batches, as fast as it can, while the other replicas do the same."""
            start.wait(WAIT)
            return [
                feed.connection_id
                for _ in range(feeds)
                for feed in sync.claim_due(
                    NOW, every=timedelta(minutes=15), lease=timedelta(minutes=5), limit=3
                )
            ]

        with ThreadPoolExecutor(replicas) as pool:
            claimed = [c for found in pool.map(refresher, syncs, timeout=WAIT) for c in found]
        assert len(claimed) == len(set(claimed))  # no feed went to two refreshers
        rest = [
            f.connection_id
            for f in syncs[0].claim_due(
                NOW, every=timedelta(minutes=15), lease=timedelta(minutes=5), limit=feeds
            )
        ]
        assert sorted(claimed + rest) == sorted(f"feed-{n}" for n in range(feeds)) and not rest
    finally:
        for store in stores:
            store.close()
        setup.close()


async def test_replicas_making_a_hosts_export_feed_at_once_agree_on_one_secret(postgres_url: str) -> None:
    setup = replica(postgres_url)
    stores = [PgStore(postgres_url, BERLIN) for _ in range(4)]
    try:
        host_id = (await setup.list_links())[0].host.host_id
        start = threading.Barrier(len(stores))

        def first_use(sync: CalendarSync) -> str:
            start.wait(WAIT)
            return sync.export_secret(host_id)

        with ThreadPoolExecutor(len(stores)) as pool:
            made = set(pool.map(first_use, [calendar_sync(store) for store in stores], timeout=WAIT))
        assert len(made) == 1  # no replica handed out an address another one replaced
        assert await setup.export_feed(made.pop()) is not None
    finally:
        for store in stores:
            store.close()
        setup.close()


class SkipsTheCheck(PgStore):
    """A writer whose conflict check saw nothing (as a racing one might): only the database is left."""

    def _check_free(self, *args: object, **kwargs: object) -> None:
        return None


async def test_the_database_itself_refuses_an_overlapping_meeting_of_one_host(postgres_url: str) -> None:
    backend = replica(postgres_url, store=SkipsTheCheck(postgres_url, BERLIN))
    try:
        link = (await backend.list_links())[0]
        nine = (await slots_of(backend, link.link_id, 1))[0]
        first = await backend.book(
            BookingRequest(slot=nine, attendee=Attendee(name="Ann")), meetings_limit=None
        )
        overlapping = nine.model_copy(
            update={"start": nine.start + timedelta(minutes=15), "end": nine.end + timedelta(minutes=15)}
        )
        with pytest.raises(SlotUnavailable):
            await backend.book(
                BookingRequest(slot=overlapping, attendee=Attendee(name="Bo")), meetings_limit=None
            )
        assert stored(postgres_url) == 1
        # Back to back is no overlap, and a cancelled meeting holds no time.
        after = nine.model_copy(update={"start": nine.end, "end": nine.end + HALF_HOUR})
        await backend.book(BookingRequest(slot=after, attendee=Attendee(name="Cy")), meetings_limit=None)
        await backend.cancel(first.meeting_id, reason=None, notify_attendee=False)
        await backend.book(BookingRequest(slot=nine, attendee=Attendee(name="Di")), meetings_limit=None)
        assert stored(postgres_url, "status != 'cancelled'") == 2
    finally:
        backend.close()


async def test_a_move_onto_a_taken_time_is_refused_by_the_database_too(postgres_url: str) -> None:
    backend = replica(postgres_url, store=SkipsTheCheck(postgres_url, BERLIN))
    try:
        link = (await backend.list_links())[0]
        nine, half_past = await slots_of(backend, link.link_id, 2)
        await backend.book(BookingRequest(slot=nine, attendee=Attendee(name="Ann")), meetings_limit=None)
        moving = await backend.book(
            BookingRequest(slot=half_past, attendee=Attendee(name="Bo")), meetings_limit=None
        )
        with pytest.raises(SlotUnavailable):
            await backend.reschedule(moving.meeting_id, nine, notify_attendee=False)
        assert (await backend.get_meeting(moving.meeting_id)).start == half_past.start
    finally:
        backend.close()


async def test_two_replicas_booking_back_to_back_slots_of_a_buffered_link_book_one_of_each_pair(
    postgres_url: str,
) -> None:
    # The slots do not overlap, so the exclusion constraint cannot decide: the buffer-aware check
    # inside the booking's transaction, under the host's lock, must.
    first, second = replica(postgres_url), replica(postgres_url)
    try:
        link = await first.create_link(name="Buffered", buffer_minutes=15)
        host, kind = link.host.host_id, link.location.kind
        winners = 0
        for day in range(5):
            start = NOW.replace(hour=9) + timedelta(days=day)
            pair = [
                Slot(link_id=link.link_id, host_id=host, start=s, end=s + HALF_HOUR, location_kind=kind)
                for s in (start, start + HALF_HOUR)
            ]

            async def attempt(backend: LocalBackend, slot: Slot) -> bool:
                try:
                    await backend.book(
                        BookingRequest(slot=slot, attendee=Attendee(name="Ann")), meetings_limit=None
                    )
                except SlotUnavailable:
                    return False
                return True

            async with asyncio.timeout(WAIT):
                won = await asyncio.gather(attempt(first, pair[0]), attempt(second, pair[1]))
            assert sum(won) == 1, won
            winners += 1
        assert stored(postgres_url) == winners == 5
    finally:
        first.close()
        second.close()


def test_meetings_db_takes_a_postgresql_url_and_a_path_stays_a_path() -> None:
    url = "postgresql://meetings@db.internal:5432/meetings"
    assert Settings(db=url).db_url == url
    on_file = Settings(db="data/meetings.db")
    assert on_file.db_path == Path("data/meetings.db") and on_file.db_url is None
    with pytest.raises(ValueError, match="needs a SQLite file"):
        _ = Settings(db=url).db_path  # nothing falls back to a file silently


async def test_the_server_opens_the_engine_on_the_database_meetings_db_names(postgres_url: str) -> None:
    settings = Settings(db=postgres_url, time_zone="Europe/Berlin", plan="premium")
    http = HttpClient()
    backend = await open_backend(settings, lambda: NOW, http)
    try:
        assert isinstance(backend, LocalBackend)
        link = (await backend.list_links())[0]
        slot = (await slots_of(backend, link.link_id, 1))[0]
        await backend.book(BookingRequest(slot=slot, attendee=Attendee(name="Ann")), meetings_limit=None)
        assert stored(postgres_url) == 1
    finally:
        backend.close()
        await http.aclose()


def test_an_unreachable_postgresql_is_one_line_at_start_up_without_the_password(tmp_path: Path) -> None:
    result = run(tmp_path, MEETINGS_DB="postgresql://meetings:s3cret@127.0.0.1:9/meetings")
    line = one_line_error(result)
    assert line.startswith(
        "meetings-mcp: MEETINGS_DB postgresql://meetings@127.0.0.1:9/meetings cannot be used"
    )
    assert "s3cret" not in result.stderr


def test_reset_on_postgresql_needs_yes_then_drops_only_our_tables(tmp_path: Path, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE someone_elses (x INTEGER)")
    assert run(tmp_path, "migrate", MEETINGS_DB=postgres_url).returncode == 0
    refused = run(tmp_path, "reset", MEETINGS_DB=postgres_url)
    assert "run `meetings-mcp reset --yes`" in one_line_error(refused)
    assert run(tmp_path, "reset", "--yes", MEETINGS_DB=postgres_url).returncode == 0
    with psycopg.connect(postgres_url) as conn:
        left = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert left == {"someone_elses"}
    assert run(tmp_path, "migrate", MEETINGS_DB=postgres_url).returncode == 0  # and it starts afresh


async def test_an_unreachable_database_is_backend_unavailable_not_a_driver_error() -> None:
    backend = replica("postgresql://meetings@127.0.0.1:9/meetings")  # nothing listens on port 9
    try:
        with pytest.raises(BackendUnavailable, match="cannot be reached"):
            await backend.list_links()
    finally:
        backend.close()
