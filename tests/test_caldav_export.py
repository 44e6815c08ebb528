"""Meetings exported into a CalDAV account's "Meetings" calendar, against a real Radicale on 127.0.0.1.

The engine books, moves and cancels; the export worker (the server's background task, driven here
with `drain`) writes each change into the account; what a calendar app would see is then read back
from Radicale over plain WebDAV, independently of our client. Radicale's answers used below were
observed on 3.9.0: MKCALENDAR 201, PUT 201 then 204, DELETE 200 then 404, PUT into a missing
calendar 409, wrong password 401.
"""

from __future__ import annotations

import logging
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import anyio
import httpx
import icalendar
import pytest
from mcp import Client

from tests.calendar_env import book, free_starts, slot
from tests.conftest import FakeClock
from tests.test_caldav import (
    EMAIL,
    PASSWORD,
    Radicale,
    apple,
    engine,
    free_port,
    make_calendar,
    running_radicale,
    start_radicale,
    stop_radicale,
)
from wix_meetings_mcp.bookings.calendar_event import meeting_uid
from wix_meetings_mcp.bookings.errors import NotSupported
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.caldav_export import CalDavExporter
from wix_meetings_mcp.bookings.local.exports import ExportQueue
from wix_meetings_mcp.bookings.outbound import Outbound
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.doctor import run_doctor
from wix_meetings_mcp.server.export_worker import ExportWorker
from wix_meetings_mcp.server.settings import Settings

pytest.importorskip("radicale")

_LISTING = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname/><d:resourcetype/></d:prop></d:propfind>"""
_ALL_EVENTS = b"""<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><c:calendar-data/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter>
</c:calendar-query>"""


# --- what a calendar app sees in the account --------------------------------------------------


async def meetings_calendars(server: Radicale) -> list[str]:
    """URLs of the account's calendars named "Meetings"."""
    async with httpx.AsyncClient(auth=(EMAIL, PASSWORD), timeout=10) as dav:
        listing = await dav.request(
            "PROPFIND", f"{server.url}{EMAIL}/", content=_LISTING, headers={"Depth": "1"}
        )
    assert listing.status_code == 207
    return [
        server.url.rstrip("/") + (r.findtext("{DAV:}href") or "")
        for r in ET.fromstring(listing.content).iter("{DAV:}response")
        if r.findtext(".//{DAV:}displayname") == "Meetings"
    ]


async def exported(server: Radicale) -> dict[str, icalendar.Event]:
    """UID → VEVENT of every event in the one "Meetings" calendar (none when there is no calendar)."""
    calendars = await meetings_calendars(server)
    assert len(calendars) <= 1
    if not calendars:
        return {}
    async with httpx.AsyncClient(auth=(EMAIL, PASSWORD), timeout=10) as dav:
        report = await dav.request("REPORT", calendars[0], content=_ALL_EVENTS, headers={"Depth": "1"})
    assert report.status_code == 207
    found: dict[str, icalendar.Event] = {}
    for data in ET.fromstring(report.content).iter("{urn:ietf:params:xml:ns:caldav}calendar-data"):
        calendar = icalendar.Calendar.from_ical(data.text or "")
        assert "METHOD" not in calendar  # a stored object carries no iTIP method (RFC 4791 4.1)
        for event in calendar.walk("VEVENT"):
            found[str(event["UID"])] = event
    return found


# --- the engine and the worker ------------------------------------------------------------------


def worker(
    db_path: Path, clock: FakeClock, http: httpx.AsyncClient, allowed: str = "127.0.0.1"
) -> ExportWorker:
    """The worker the server runs, on the same file, with the operator's list of private hosts."""
    queue = ExportQueue(db_path)
    exporter = CalDavExporter(queue, outbound=Outbound(allowed_private_hosts=allowed), http=lambda: http)
    return ExportWorker(queue, {"apple": exporter}, clock=clock)


def utc(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    with running_radicale(tmp_path) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def caldav_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog
    assert PASSWORD not in caplog.text


# --- the tests ------------------------------------------------------------------------------------


async def test_a_booking_appears_in_the_meetings_calendar_a_reschedule_moves_it_and_a_cancel_removes_it(
    radicale: Radicale, db_path: Path, clock: FakeClock, http: httpx.AsyncClient, caldav_logs: object
) -> None:
    backend = engine(db_path, clock, http)
    connected = await backend.connect_calendar(apple(radicale))
    assert connected.connection is not None and connected.connection.export_enabled  # on, as on Wix
    listed = await backend.list_calendar_connections()
    assert [c.export_enabled for c in listed] == [True]
    run = worker(db_path, clock, http)

    meeting = await book(backend)
    assert await run.drain() == 1

    events = await exported(radicale)
    assert list(events) == [meeting_uid(meeting.meeting_id)]  # the invitations' UID
    event = events[meeting_uid(meeting.meeting_id)]
    assert (utc(event.decoded("DTSTART")), utc(event.decoded("DTEND"))) == (meeting.start, meeting.end)
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert "Ann Lee" in str(event["SUMMARY"]) and "ATTENDEE" not in event  # no server-sent invitations
    free = await free_starts(backend)
    clock.advance(minutes=16)
    await backend.refresh_calendars()  # our own export calendar is never read back as busy time
    assert await free_starts(backend) == free

    later = await slot(backend, 4)
    moved = await backend.reschedule(meeting.meeting_id, later, notify_attendee=False)
    assert await run.drain() == 1
    event = (await exported(radicale))[meeting_uid(meeting.meeting_id)]
    assert utc(event.decoded("DTSTART")) == moved.start == later.start
    assert event["SEQUENCE"] == 1 and len(await exported(radicale)) == 1  # moved, not copied

    await backend.cancel(meeting.meeting_id, reason=None, notify_attendee=False)
    assert await run.drain() == 1
    assert await exported(radicale) == {}
    assert len(await meetings_calendars(radicale)) == 1  # made once, on the first export
    backend.close()


async def test_meetings_already_booked_are_exported_into_an_existing_meetings_calendar_on_connect(
    radicale: Radicale, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await make_calendar(radicale, "meetings", "Meetings")  # e.g. made by Wix before
    backend = engine(db_path, clock, http)
    first, second = await book(backend, 0), await book(backend, 3)
    cancelled = await book(backend, 6)
    await backend.cancel(cancelled.meeting_id, reason=None, notify_attendee=False)

    await backend.connect_calendar(apple(radicale))
    assert await worker(db_path, clock, http).drain() == 2

    assert set(await exported(radicale)) == {meeting_uid(first.meeting_id), meeting_uid(second.meeting_id)}
    reused = [unquote(url) for url in await meetings_calendars(radicale)]
    assert reused == [radicale.collection("meetings")]  # not doubled
    backend.close()


async def test_a_caldav_server_down_during_a_booking_gets_the_export_once_it_is_back(
    tmp_path: Path, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    folder = tmp_path / "radicale"
    folder.mkdir()
    port = free_port()
    server, process = Radicale(port), start_radicale(folder, port)
    try:
        backend = engine(db_path, clock, http)
        await backend.connect_calendar(apple(server))
        run = worker(db_path, clock, http)
        stop_radicale(process)

        with anyio.fail_after(5):  # the booking never waits for the calendar
            meeting = await book(backend)
        assert meeting.status == "confirmed"
        assert await run.drain() == 0
        queue = ExportQueue(db_path)
        assert queue.counts() == {"pending": 1}
        due = queue.next_due()
        assert due is not None and due == pytest.approx(clock.now.timestamp() + 30)  # the first backoff

        process = start_radicale(folder, port)
        assert await run.drain() == 0  # not before its time
        clock.advance(seconds=31)
        assert await run.drain() == 1
        assert list(await exported(server)) == [meeting_uid(meeting.meeting_id)]
        assert queue.counts() == {"done": 1}
        queue.close()
        backend.close()
    finally:
        if process.poll() is None:
            stop_radicale(process)


async def test_nothing_is_written_while_export_is_off_and_switching_it_on_catches_up(
    radicale: Radicale, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    connected = await backend.connect_calendar(apple(radicale))
    assert connected.connection is not None
    connection_id = connected.connection.connection_id
    run = worker(db_path, clock, http)

    off = await backend.update_calendar_sync(connection_id, import_enabled=None, export_enabled=False)
    assert off.export_enabled is False and off.import_enabled is True
    meeting = await book(backend)
    assert await run.drain() == 0
    assert await meetings_calendars(radicale) == []  # nothing at all was written

    on = await backend.update_calendar_sync(connection_id, import_enabled=None, export_enabled=True)
    assert on.export_enabled is True
    assert await run.drain() == 1
    assert list(await exported(radicale)) == [meeting_uid(meeting.meeting_id)]

    await backend.disconnect_calendar(connection_id)
    await backend.cancel(meeting.meeting_id, reason=None, notify_attendee=False)
    assert await run.drain() == 0  # a disconnected calendar is left alone
    assert list(await exported(radicale)) == [meeting_uid(meeting.meeting_id)]
    backend.close()


async def test_export_stays_refused_for_an_ical_feed(
    tmp_path: Path, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    feed = tmp_path / "busy.ics"
    feed.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n")
    backend = engine(db_path, clock, http)
    from wix_meetings_mcp.bookings.model import ConnectCalendarRequest

    connected = await backend.connect_calendar(
        ConnectCalendarRequest(provider="google", ics_url=feed.as_uri())
    )
    assert connected.connection is not None and connected.connection.export_enabled is False
    with pytest.raises(NotSupported):
        await backend.update_calendar_sync(
            connected.connection.connection_id, import_enabled=None, export_enabled=True
        )
    backend.close()


async def test_a_meetings_calendar_deleted_in_the_app_is_made_again_by_the_next_export(
    radicale: Radicale, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    await backend.connect_calendar(apple(radicale))
    run = worker(db_path, clock, http)
    meeting = await book(backend)
    assert await run.drain() == 1
    async with httpx.AsyncClient(auth=(EMAIL, PASSWORD), timeout=10) as dav:
        gone = await dav.delete((await meetings_calendars(radicale))[0])
        assert gone.status_code == 200

    await backend.reschedule(meeting.meeting_id, await slot(backend, 5), notify_attendee=False)
    assert await run.drain() == 1
    event = (await exported(radicale))[meeting_uid(meeting.meeting_id)]
    assert event["SEQUENCE"] == 1
    backend.close()


async def test_refused_credentials_stop_the_export_mark_the_connection_and_never_show_the_password(
    radicale: Radicale,
    tmp_path: Path,
    db_path: Path,
    clock: FakeClock,
    http: httpx.AsyncClient,
    caldav_logs: object,
) -> None:
    backend = engine(db_path, clock, http)
    await backend.connect_calendar(apple(radicale))
    revoked = "zzzz-yyyy-xxxx-wwww"  # the app-specific password was revoked and this is what we hold
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE caldav_accounts SET password = ?", (revoked,))
    run = worker(db_path, clock, http)
    first, second = await book(backend, 0), await book(backend, 3)

    assert await run.drain() == 0
    connection = (await backend.list_calendar_connections())[0]
    assert (connection.status, connection.error_reason) == ("error", "auth_failed")
    with sqlite3.connect(db_path) as db:
        states = dict(db.execute("SELECT meeting_id, state FROM calendar_exports").fetchall())
        kept = " ".join(str(r) for r in db.execute("SELECT * FROM calendar_exports").fetchall())
    # One request was refused and its job given up; the other waits for the account to be fixed.
    assert sorted(states.values()) == ["failed", "pending"]
    assert ExportQueue(db_path).next_due() is None  # nothing more is sent with refused credentials

    lines: list[str] = []
    settings = Settings(db=db_path, time_zone="Europe/Berlin")
    await anyio.to_thread.run_sync(lambda: run_doctor(settings, emit=lines.append))  # runs its own loop
    doctor = "\n".join(lines)
    assert "auth_failed" in doctor and "refused the email and password" in doctor

    await backend.connect_calendar(apple(radicale))  # connected again with the right password
    assert await run.drain() == 2
    assert set(await exported(radicale)) == {meeting_uid(first.meeting_id), meeting_uid(second.meeting_id)}
    shown = [doctor, kept, connection.model_dump_json()]
    assert not any(secret in text for text in shown for secret in (PASSWORD, revoked))
    backend.close()


async def test_a_refused_export_is_queued_again_once_the_account_s_next_refresh_succeeds(
    radicale: Radicale, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    await backend.connect_calendar(apple(radicale))
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE caldav_accounts SET password = 'refused-for-now'")
    run = worker(db_path, clock, http)
    first = await book(backend, 0)
    assert await run.drain() == 0
    assert (await backend.list_calendar_connections())[0].error_reason == "auth_failed"
    second = await book(backend, 3)

    with sqlite3.connect(db_path) as db:  # the server takes the password again
        db.execute("UPDATE caldav_accounts SET password = ?", (PASSWORD,))
    clock.advance(minutes=16)
    assert await backend.refresh_calendars() == 1
    assert (await backend.list_calendar_connections())[0].status == "connected"
    assert await run.drain() == 2  # the refused job too, not only the one that waited
    assert set(await exported(radicale)) == {meeting_uid(first.meeting_id), meeting_uid(second.meeting_id)}
    backend.close()


async def test_a_loopback_caldav_server_not_allowed_by_the_operator_gets_no_export_request(
    radicale: Radicale, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)  # the import was allowed to reach it
    await backend.connect_calendar(apple(radicale))
    await book(backend)
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as recording:
        assert await worker(db_path, clock, recording, allowed="").drain() == 0
    assert sent == []
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT state, last_error FROM calendar_exports").fetchone()
    assert row == ("failed", "refused_address")  # given up: only the operator can allow it
    backend.close()


async def test_the_server_exports_a_booking_made_through_the_tools_in_the_background(
    radicale: Radicale, tmp_path: Path, clock: FakeClock, caldav_logs: object
) -> None:
    settings = Settings(
        db=tmp_path / "t.db",
        time_zone="Europe/Berlin",
        plan="premium",
        allowed_private_hosts="127.0.0.1",
        toolsets="all",
        confirm="off",
    )
    async with Client(build_server(settings, clock=clock)) as client:
        connected = await client.call_tool(
            "connect_calendar",
            {"provider": "apple", "email": EMAIL, "password": PASSWORD, "caldav_url": radicale.url},
        )
        assert not connected.is_error, connected.content
        links = (await client.call_tool("list_scheduling_links", {})).structured_content
        assert links is not None
        slots = await client.call_tool(
            "find_slots", {"link_id": links["links"][0]["link_id"], "from_date": "2026-12-01"}
        )
        assert slots.structured_content is not None
        booked = await client.call_tool(
            "book_meeting",
            {"slot_id": slots.structured_content["slots"][0]["slot_id"], "attendee": {"name": "Ann Lee", "email": "ann@example.com"}},
        )  # fmt: skip
        assert booked.structured_content is not None
        uid = meeting_uid(booked.structured_content["meeting"]["meeting_id"])
        with anyio.fail_after(20):  # the write woke the worker: no poll interval to wait out
            while uid not in await exported(radicale):
                await anyio.sleep(0.05)
        listed = await client.call_tool("list_calendar_connections", {})
    assert listed.structured_content is not None
    assert listed.structured_content["connections"][0]["export_enabled"] is True
    with sqlite3.connect(tmp_path / "t.db") as db:
        audit = " ".join(str(r) for r in db.execute("SELECT * FROM audit").fetchall())
    assert "connect_calendar" in audit and PASSWORD not in audit
    for shown in (connected.content, booked.content, listed.content):
        assert PASSWORD not in str(shown)


async def test_a_throttled_failing_or_slow_caldav_server_is_retried_with_backoff_and_retry_after(
    db_path: Path, clock: FakeClock
) -> None:
    """A scripted CalDAV server on a MockTransport, answering PUT and DELETE as RFC 4791 5.3.2 and
    RFC 9110 15.6 say (201 Created, 204 No Content, 503), and 429 Too Many Requests with
    Retry-After in seconds as RFC 6585 4 and RFC 9110 10.2.3 do (https://www.rfc-editor.org/rfc/rfc6585,
    https://www.rfc-editor.org/rfc/rfc9110#field.retry-after)."""
    home = "http://127.0.0.1:8999/dav/host/"
    script: list[httpx.Response | None] = [  # None: too slow to answer within the deadline
        None,
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "600"}),
        httpx.Response(201),
        httpx.Response(404),  # the DELETE of an event already gone
    ]
    seen: list[tuple[str, str, bool]] = []

    async def server(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, "authorization" in request.headers))
        answer = script.pop(0)
        if answer is None:
            await anyio.sleep(5)
            return httpx.Response(201)
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as fake:
        backend = engine(db_path, clock, fake)
        host_id = (await backend.list_links())[0].host.host_id
        with sqlite3.connect(db_path) as db:  # a CalDAV connection whose Meetings calendar is known
            db.execute(
                "INSERT INTO calendar_connections (connection_id, host_id, provider, status, ics_url,"
                " import_enabled, export_enabled, imported_at) VALUES ('c1', ?, 'apple', 'connected', ?, 0, 1, 0)",
                (host_id, home),
            )
            db.execute("INSERT INTO caldav_accounts VALUES ('c1', ?, ?, ?)", (home, EMAIL, PASSWORD))
            db.execute("INSERT INTO calendar_export_targets VALUES ('c1', ?)", (f"{home}meetings/",))
        queue = ExportQueue(db_path)
        exporter = CalDavExporter(
            queue, outbound=Outbound(allowed_private_hosts="127.0.0.1"), http=lambda: fake, deadline=0.2
        )
        run = ExportWorker(queue, {"apple": exporter}, clock=clock)
        meeting = await book(backend)
        start = clock.now.timestamp()

        assert await run.drain() == 0  # too slow: retried after the first backoff
        assert queue.next_due() == pytest.approx(start + 30)
        clock.advance(seconds=30)
        assert await run.drain() == 0  # 503: after the second
        assert queue.next_due() == pytest.approx(start + 30 + 120)
        clock.advance(seconds=120)
        assert await run.drain() == 0  # 429: the server's Retry-After, longer than the backoff
        assert queue.next_due() == pytest.approx(start + 150 + 600)
        clock.advance(seconds=599)
        assert await run.drain() == 0  # not before it
        clock.advance(seconds=1)
        assert await run.drain() == 1
        await backend.cancel(meeting.meeting_id, reason=None, notify_attendee=False)
        assert await run.drain() == 1  # 404 on DELETE: it is gone, which is what was wanted
        assert queue.counts() == {"done": 1} and queue.next_due() is None
        queue.close()
        backend.close()
    resource = f"/dav/host/meetings/{meeting_uid(meeting.meeting_id)}.ics"
    assert seen == [("PUT", resource, True)] * 4 + [("DELETE", resource, True)]


async def test_on_postgresql_a_connected_calendar_gets_bookings_queued_in_their_transaction_and_one_replica_claims_each(
    postgres_url: str, radicale: Radicale, clock: FakeClock, http: httpx.AsyncClient
) -> None:

    from wix_meetings_mcp.bookings.local.pg_exports import PgExportQueue
    from wix_meetings_mcp.bookings.local.storage import open_store

    backend = LocalBackend(
        store=open_store(postgres_url, ZoneInfo("Europe/Berlin")), time_zone="Europe/Berlin",
        plan="premium", clock=clock, http=http, allowed_private_hosts="127.0.0.1",
    )  # fmt: skip
    connected = (await backend.connect_calendar(apple(radicale))).connection
    assert connected is not None and connected.export_enabled
    off = await backend.update_calendar_sync(
        connected.connection_id, import_enabled=None, export_enabled=False
    )
    assert not off.export_enabled
    on = await backend.update_calendar_sync(connected.connection_id, import_enabled=None, export_enabled=True)
    assert on.export_enabled

    first, second = await book(backend, 0), await book(backend, 3)
    replicas = [PgExportQueue(postgres_url), PgExportQueue(postgres_url)]
    claims = await anyio.to_thread.run_sync(
        lambda: [q.claim(clock.now, lease=timedelta(minutes=5), limit=1) for q in replicas]
    )
    assert sorted(c[0].meeting_id for c in claims) == sorted([first.meeting_id, second.meeting_id])
    assert replicas[0].claim(clock.now, lease=timedelta(minutes=5)) == []  # both are leased
    clock.advance(minutes=5, seconds=1)  # neither replica got to its job: the leases run out

    outbound = Outbound(allowed_private_hosts="127.0.0.1")
    run = ExportWorker(
        replicas[0], {"apple": CalDavExporter(replicas[0], outbound=outbound, http=lambda: http)}, clock=clock
    )
    assert await run.drain() == 2
    assert set(await exported(radicale)) == {meeting_uid(first.meeting_id), meeting_uid(second.meeting_id)}
    await backend.cancel(first.meeting_id, reason=None, notify_attendee=False)
    assert await run.drain() == 1
    assert set(await exported(radicale)) == {meeting_uid(second.meeting_id)}
    for queue in replicas:
        queue.close()
    backend.close()


async def test_two_processes_on_one_file_never_hold_the_same_export_and_a_dead_ones_lease_expires(
    radicale: Radicale, db_path: Path, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    await backend.connect_calendar(apple(radicale))
    first, second = await book(backend, 0), await book(backend, 3)
    one, two = ExportQueue(db_path), ExportQueue(db_path)
    lease = timedelta(minutes=5)

    taken = [one.claim(clock.now, lease=lease, limit=1), two.claim(clock.now, lease=lease, limit=1)]
    assert sorted(job.meeting_id for jobs in taken for job in jobs) == sorted(
        [first.meeting_id, second.meeting_id]
    )
    assert one.claim(clock.now, lease=lease) == [] and two.claim(clock.now, lease=lease) == []
    clock.advance(minutes=5, seconds=1)  # both died mid-job: the jobs come back
    again = one.claim(clock.now, lease=lease)
    assert {job.meeting_id for job in again} == {first.meeting_id, second.meeting_id}
    assert all(job.attempts == 2 for job in again)
    one.close()
    two.close()
    backend.close()
