"""Calendar sync on the local engine: the background refresh of secret iCal addresses (conditional
requests, a claim per connection, a failing feed keeping its busy times), the age hint of find_slots,
the import switch, and the switch on Wix (fake) and meetergo. The local engine's tests run on the
SQLite file and on PostgreSQL (`engine_db`).

Feeds are served by a small HTTP server on 127.0.0.1 that this test starts and changes, honouring
ETag / If-None-Match as a real calendar host does; 127.0.0.1 is allowed as a private host.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
from mcp import Client

from tests._meetergo import open_world
from tests.calendar_env import DENTIST, berlin_engine, free_starts
from tests.conftest import Caller, FakeClock
from tests.fakes.wix_setup import wix_world
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.storage import calendar_sync, open_store
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, ConnectCalendarRequest
from wix_meetings_mcp.bookings.outbound import Validators
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

GYM = (datetime(2026, 12, 1, 13, tzinfo=UTC), datetime(2026, 12, 1, 14, tzinfo=UTC))  # 14:00 Berlin
LATE = (datetime(2026, 12, 1, 15, tzinfo=UTC), datetime(2026, 12, 1, 16, tzinfo=UTC))


def feed(*events: tuple[datetime, datetime]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for n, (start, end) in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:event-{n}", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                  f"DTEND:{end:%Y%m%dT%H%M%SZ}", "END:VEVENT"]  # fmt: skip
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


@dataclass
class FeedHost:
    """One calendar at /cal.ics: its body, its ETag, and every request's If-None-Match."""

    port: int = 0
    body: bytes = b""
    version: int = 1
    failing: bool = False
    asked: list[str | None] = field(default_factory=list)
    release: asyncio.Event | None = None  # set: answers wait for it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cal.ics"

    def publish(self, body: bytes) -> None:
        self.body, self.version = body, self.version + 1

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:] if ln)
            }
            self.asked.append(headers.get("if-none-match"))
            if self.release is not None:
                await self.release.wait()
            etag = f'"v{self.version}"'
            if self.failing:
                status, body, extra = "500 Internal Server Error", b"down", ""
            elif headers.get("if-none-match") == etag:
                status, body, extra = "304 Not Modified", b"", f"ETag: {etag}\r\n"
            else:
                status, body, extra = "200 OK", self.body, f"ETag: {etag}\r\n"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/calendar\r\nContent-Length: {len(body)}\r\n"
                f"{extra}Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()


@asynccontextmanager
async def feed_host(body: bytes) -> AsyncIterator[FeedHost]:
    host = FeedHost(body=body)
    server = await asyncio.start_server(host.serve, "127.0.0.1", 0)
    host.port = server.sockets[0].getsockname()[1]
    async with server:
        yield host


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


Engines = Callable[[], LocalBackend]


@pytest.fixture
def engines(engine_db: str, clock: FakeClock, http: httpx.AsyncClient) -> Iterator[Engines]:
    """Makes engines on one database, each with its own connections as another process has them."""
    made: list[LocalBackend] = []

    def make() -> LocalBackend:
        made.append(
            berlin_engine(
                engine_db,
                clock,
                http,
                allowed_private_hosts="127.0.0.1",
                refresh_interval=timedelta(minutes=15),
            )
        )
        return made[-1]

    yield make
    for backend in made:
        backend.close()


async def connect(backend: LocalBackend, url: str) -> str:
    result = await backend.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=url))
    assert result.connection is not None
    return result.connection.connection_id


async def test_a_changed_feed_is_picked_up_by_the_refresh_and_a_304_keeps_its_busy_times(
    engines: Engines, clock: FakeClock
) -> None:
    async with feed_host(feed(DENTIST)) as cal:
        backend = engines()
        await connect(backend, cal.url)
        assert DENTIST[0] not in await free_starts(backend)
        assert await backend.refresh_calendars() == 0  # not due yet: the feed is not asked again
        assert len(cal.asked) == 1

        cal.publish(feed(GYM))  # the host moves the appointment in their calendar
        clock.advance(minutes=16)
        assert await backend.refresh_calendars() == 1
        assert cal.asked[-1] == '"v1"'  # asked conditionally with the ETag of the last import
        free = await free_starts(backend)
        assert DENTIST[0] in free and GYM[0] not in free

        clock.advance(minutes=16)
        assert await backend.refresh_calendars() == 1
        assert cal.asked[-1] == '"v2"'  # unchanged: the host answered 304 Not Modified
        free = await free_starts(backend)
        assert DENTIST[0] in free and GYM[0] not in free
        (connection,) = await backend.list_calendar_connections()
        assert connection.status == "connected" and connection.busy_intervals == 1


async def test_a_failing_feed_keeps_its_last_good_busy_times_and_says_why_until_it_recovers(
    engines: Engines, clock: FakeClock
) -> None:
    async with feed_host(feed(DENTIST)) as cal:
        backend = engines()
        await connect(backend, cal.url)
        cal.failing = True
        clock.advance(minutes=16)
        assert await backend.refresh_calendars() == 1
        (connection,) = await backend.list_calendar_connections()
        assert (connection.status, connection.error_reason) == ("error", "unreachable")
        assert DENTIST[0] not in await free_starts(backend)
        assert cal.url not in str(connection.model_dump())

        cal.failing = False
        cal.publish(feed(GYM))
        clock.advance(minutes=16)
        assert await backend.refresh_calendars() == 1
        (connection,) = await backend.list_calendar_connections()
        assert (connection.status, connection.error_reason) == ("connected", None)
        assert GYM[0] not in await free_starts(backend)


async def test_two_processes_on_one_database_refresh_a_feed_once(engines: Engines, clock: FakeClock) -> None:
    async with feed_host(feed(DENTIST)) as cal:
        first, second = engines(), engines()
        await connect(first, cal.url)
        clock.advance(minutes=16)
        cal.release = asyncio.Event()  # the first refresh hangs at the host while the second looks
        tried: list[int] = []
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:

                async def refresh(backend: LocalBackend) -> None:
                    tried.append(await backend.refresh_calendars())

                tasks.start_soon(refresh, first)
                while not cal.asked[1:]:
                    await anyio.sleep(0.01)
                tried.append(await second.refresh_calendars())  # the connection is claimed
                cal.release.set()
        assert sorted(tried) == [0, 1]
        assert len(cal.asked) == 2  # the connect and one refresh


async def test_an_expired_claim_is_taken_again_and_its_late_holder_overwrites_nothing(
    engines: Engines, engine_db: str, clock: FakeClock
) -> None:
    async with feed_host(feed(DENTIST)) as cal:
        backend = engines()
        await connect(backend, cal.url)
    elsewhere = open_store(engine_db, ZoneInfo("Europe/Berlin"))  # another process on the database
    try:
        sync = calendar_sync(elsewhere)
        due = clock.now + timedelta(minutes=16)
        every, lease = timedelta(minutes=15), timedelta(minutes=5)
        (late,) = sync.claim_due(due, every=every, lease=lease)
        # While its lease runs the feed stays with it; when the holder stalls past it, it is retaken.
        assert sync.claim_due(due + timedelta(minutes=4), every=every, lease=lease) == []
        (retaken,) = sync.claim_due(due + timedelta(minutes=6), every=every, lease=lease)
        assert retaken.token != late.token

        at = due + timedelta(minutes=7)
        sync.refreshed(late, busy=[GYM], validators=Validators(), now=at, host_limit=1000)
        sync.refresh_failed(late, reason="unreachable", now=at)
        (connection,) = await backend.list_calendar_connections()
        assert (connection.status, connection.busy_intervals) == ("connected", 1)
        free = await free_starts(backend)
        assert DENTIST[0] not in free and GYM[0] in free

        sync.refreshed(retaken, busy=[GYM, LATE], validators=Validators(), now=at, host_limit=1000)
        free = await free_starts(backend)
        assert DENTIST[0] in free and GYM[0] not in free and LATE[0] not in free
    finally:
        elsewhere.close()


async def test_find_slots_says_how_old_the_import_is_when_the_refresh_is_late(
    engines: Engines, engine_db: str, clock: FakeClock
) -> None:
    async with feed_host(feed(DENTIST)) as cal:
        backend = engines()
        await connect(backend, cal.url)
        settings = Settings(db=engine_db, time_zone="Europe/Berlin")
        async with Client(build_server(settings, backend=backend, clock=clock)) as client:
            call = Caller(client)
            fresh = await call("find_slots", from_date="2026-12-01", to_date="2026-12-01")
            assert "hint" not in fresh
            clock.advance(hours=3)  # no refresh ran (e.g. the feed host is slow): no waiting for it
            with anyio.fail_after(5):
                late = await call("find_slots", from_date="2026-12-01", to_date="2026-12-01")
            assert "last imported 3 hours ago" in late["hint"]
            assert late["slots"]  # still the last good import's free times


async def test_switching_import_off_frees_its_busy_times_and_back_on_blocks_them_again(
    engines: Engines, engine_db: str, clock: FakeClock
) -> None:
    async with feed_host(feed(DENTIST)) as cal:
        backend = engines()
        connection_id = await connect(backend, cal.url)
        settings = Settings(db=engine_db, time_zone="Europe/Berlin")
        async with Client(build_server(settings, backend=backend, clock=clock)) as client:
            call = Caller(client)
            off = await call("update_calendar_sync", connection_id=connection_id, import_enabled=False)
            assert off["connection"]["import_enabled"] is False
            assert off["connection"]["busy_intervals"] == 1  # kept for when it is switched back on
            assert DENTIST[0] in await free_starts(backend)
            link = (await backend.list_links())[0]
            (half_past,) = [  # inside the switched-off busy time: booking it is allowed too
                s
                for s in await backend.find_slots(
                    link, start=DENTIST[0], end=DENTIST[1], duration=timedelta(minutes=30)
                )
                if s.start == DENTIST[0] + timedelta(minutes=30)
            ]
            await backend.book(
                BookingRequest(slot=half_past, attendee=Attendee(name="Ann")), meetings_limit=None
            )
            clock.advance(hours=1)
            assert await backend.refresh_calendars() == 0  # a switched-off import is not fetched
            on = await call("update_calendar_sync", connection_id=connection_id, import_enabled=True)
            assert on["connection"]["import_enabled"] is True
            assert DENTIST[0] not in await free_starts(backend)

            refused = await call.error(
                "update_calendar_sync", connection_id=connection_id, export_enabled=True
            )
            assert refused.startswith("not_supported: ") and "export_feed_url" in refused
            assert (await call.error("update_calendar_sync", connection_id=connection_id)).startswith(
                "invalid_argument: "
            )
            missing = await call.error("update_calendar_sync", connection_id="nope", import_enabled=True)
            assert missing.startswith("not_found: ")


async def test_wix_switches_sync_through_update_sync_config(tmp_path: Path, clock: FakeClock) -> None:
    async with wix_world(clock=clock) as world:
        settings = Settings(db=tmp_path / "state.db", confirm="off")
        async with Client(build_server(settings, backend=world.backend, clock=clock)) as client:
            call = Caller(client)
            connected = await call(
                "connect_calendar", provider="apple", email="host@example.com", password="app-specific"
            )
            connection_id = connected["connection_id"]
            changed = await call("update_calendar_sync", connection_id=connection_id, export_enabled=True)
            assert (changed["connection"]["import_enabled"], changed["connection"]["export_enabled"]) == (
                True,
                True,
            )
            stored: dict[str, Any] = world.fake.connections[connection_id]["syncConfig"]
            assert stored["syncToCalendar"]["enabled"] is True
            assert stored["listEventFromCalendars"] == {"enabled": True, "primaryCalendar": {}}
            off = await call("update_calendar_sync", connection_id=connection_id, import_enabled=False)
            assert off["connection"]["import_enabled"] is False
            assert world.fake.connections[connection_id]["syncConfig"]["syncToCalendar"]["enabled"] is True


async def test_meetergo_has_no_sync_switch(db_path: Path, clock: FakeClock) -> None:
    async with open_world(clock) as world:
        settings = Settings(db=db_path, time_zone="Europe/Berlin", confirm="off")
        async with Client(build_server(settings, backend=world.backend, clock=clock)) as client:
            refused = await Caller(client).error(
                "update_calendar_sync", connection_id="c1", import_enabled=False
            )
            assert refused.startswith("not_supported: ")


async def test_the_server_refreshes_calendars_in_the_background(
    engines: Engines, engine_db: str, clock: FakeClock
) -> None:
    async with feed_host(feed(DENTIST)) as cal:
        await connect(engines(), cal.url)
        cal.publish(feed(GYM, LATE))
        clock.advance(minutes=2)
        settings = Settings(
            db=engine_db,
            time_zone="Europe/Berlin",
            plan="premium",
            allowed_private_hosts="127.0.0.1",
            calendar_refresh_minutes=1,
        )
        async with Client(build_server(settings, clock=clock)) as client:
            with anyio.fail_after(10):
                while len(cal.asked) < 2:  # the lifespan's refresher looks at once, then every minute
                    await anyio.sleep(0.02)
                while (await Caller(client)("list_calendar_connections"))["connections"][0][
                    "busy_intervals"
                ] != 2:
                    await anyio.sleep(0.02)
            starts = {
                datetime.fromisoformat(s["start"]).astimezone(UTC)
                for s in (
                    await Caller(client)(
                        "find_slots", from_date="2026-12-01", to_date="2026-12-01", limit=100
                    )
                )["slots"]
            }
        assert DENTIST[0] in starts and GYM[0] not in starts


async def test_doctor_reports_each_calendar_with_its_last_refresh_and_error(
    engines: Engines, engine_db: str, clock: FakeClock
) -> None:
    from wix_meetings_mcp.server.doctor import run_doctor

    async with feed_host(feed(DENTIST)) as cal:
        backend = engines()
        good = await connect(backend, cal.url)
        cal.failing = True
        clock.advance(minutes=16)
        await backend.refresh_calendars()
    lines: list[str] = []
    code = await anyio.to_thread.run_sync(lambda: run_doctor(Settings(db=engine_db), emit=lines.append))
    (line,) = [ln for ln in lines if "calendar google" in ln]
    assert line.startswith("FIX") and good in line and "error (unreachable)" in line
    assert "last refresh 2026-11-30 08:16 UTC" in line and "imported 2026-11-30 08:00 UTC" in line
    assert cal.url not in "\n".join(lines) and code == 1
