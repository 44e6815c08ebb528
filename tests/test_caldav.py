"""Apple / CalDAV calendars on the local engine, against a real Radicale server on 127.0.0.1.

Each test starts Radicale as a subprocess with its own storage folder and a plain htpasswd file,
creates calendars in it over plain WebDAV (MKCALENDAR, PUT) as a calendar app would, then connects
the account the way an agent does: Apple-style email and app-specific password, `caldav_url`
naming the loopback server, which the operator has allowed as a private host. Tests that keep an
account run on the SQLite file and on PostgreSQL (`engine_db`).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from mcp import Client

from tests.calendar_env import DENTIST, EXPORTED, TUESDAY, berlin_engine, free_starts
from tests.conftest import FakeClock, stored
from wix_meetings_mcp.bookings.errors import AuthFailed, InvalidArgument
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

pytest.importorskip("radicale")

EMAIL = "host@example.com"
PASSWORD = "abcd-efgh-ijkl-mnop"  # the shape of an Apple app-specific password
LATER = (datetime(2026, 12, 1, 15, tzinfo=UTC), datetime(2026, 12, 1, 16, tzinfo=UTC))


@dataclass(frozen=True)
class Radicale:
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def collection(self, name: str) -> str:
        return f"{self.url}{EMAIL}/{name}/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_radicale(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """Radicale on 127.0.0.1:`port`, its users and storage in `folder`; returns once it listens."""
    users = folder / "users"
    users.write_text(f"{EMAIL}:{PASSWORD}\n")
    config = folder / "radicale.conf"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\ndelay = 0\n"
        f"[storage]\nfilesystem_folder = {folder / 'collections'}\n"
        "[rights]\ntype = owner_only\n[logging]\nlevel = warning\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):  # at most ~10 s: each round waits 50 ms on the process
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            try:
                process.wait(timeout=0.05)
                pytest.fail("radicale exited at start-up")
            except subprocess.TimeoutExpired:
                pass
    stop_radicale(process)
    pytest.fail("radicale did not start listening")


def stop_radicale(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


@contextmanager
def running_radicale(folder: Path) -> Iterator[Radicale]:
    port = free_port()
    process = start_radicale(folder, port)
    try:
        yield Radicale(port)
    finally:
        stop_radicale(process)


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    with running_radicale(tmp_path) as server:
        yield server


def event(uid: str, start: datetime, end: datetime) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", f"UID:{uid}",
             f"DTSTAMP:{start:%Y%m%dT%H%M%SZ}", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
             f"DTEND:{end:%Y%m%dT%H%M%SZ}", "SUMMARY:Busy", "END:VEVENT", "END:VCALENDAR"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


async def make_calendar(
    server: Radicale, name: str, display: str, *events: tuple[datetime, datetime]
) -> None:
    """What a calendar app does: MKCALENDAR with a display name, then one PUT per event."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
        f"<d:displayname>{display}</d:displayname></d:prop></d:set></c:mkcalendar>"
    )
    async with httpx.AsyncClient(auth=(EMAIL, PASSWORD), timeout=10) as dav:
        made = await dav.request("MKCALENDAR", server.collection(name), content=body)
        assert made.status_code == 201, made.text
        for n, (start, end) in enumerate(events):
            put = await dav.put(
                f"{server.collection(name)}{name}-{n}.ics",
                content=event(f"{name}-{n}", start, end),
                headers={"Content-Type": "text/calendar"},
            )
            assert put.status_code == 201, put.text


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def engine(db: str, clock: FakeClock, http: httpx.AsyncClient, allowed: str = "127.0.0.1") -> LocalBackend:
    """An engine on the SQLite file or the PostgreSQL database `db` (tests close it)."""
    return berlin_engine(db, clock, http, allowed_private_hosts=allowed)


def apple(server: Radicale, password: str = PASSWORD) -> ConnectCalendarRequest:
    return ConnectCalendarRequest(provider="apple", email=EMAIL, password=password, caldav_url=server.url)


async def test_connecting_caldav_credentials_blocks_the_events_of_its_calendars_but_not_the_export_one(
    radicale: Radicale,
    engine_db: str,
    clock: FakeClock,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await make_calendar(radicale, "work", "Work", DENTIST)
    await make_calendar(radicale, "meetings", "Meetings", EXPORTED)
    backend = engine(engine_db, clock, http)
    assert {DENTIST[0], EXPORTED[0], LATER[0]} <= await free_starts(backend)

    result = await backend.connect_calendar(apple(radicale))

    assert result.status == "connected" and result.connection is not None
    assert result.connection.provider == "apple" and result.connection.busy_intervals == 1
    free = await free_starts(backend)
    assert DENTIST[0] not in free and DENTIST[0] - timedelta(minutes=30) in free
    assert EXPORTED[0] in free  # our own export calendar never blocks
    assert PASSWORD not in result.model_dump_json()
    listed = await backend.list_calendar_connections()
    assert PASSWORD not in "".join(c.model_dump_json() for c in listed)
    assert PASSWORD not in caplog.text
    backend.close()


async def test_a_caldav_refresh_picks_up_a_new_event_with_the_stored_credentials(
    radicale: Radicale, engine_db: str, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await make_calendar(radicale, "work", "Work", DENTIST)
    backend = engine(engine_db, clock, http)
    await backend.connect_calendar(apple(radicale))
    async with httpx.AsyncClient(auth=(EMAIL, PASSWORD), timeout=10) as dav:
        put = await dav.put(f"{radicale.collection('work')}late.ics", content=event("late", *LATER))
        assert put.status_code == 201
    assert LATER[0] in await free_starts(backend)

    clock.advance(minutes=16)
    assert await backend.refresh_calendars() == 1

    assert LATER[0] not in await free_starts(backend)
    assert (await backend.list_calendar_connections())[0].status == "connected"
    backend.close()


async def test_disconnecting_deletes_the_stored_password_and_a_reconnect_stores_it_again(
    radicale: Radicale, engine_db: str, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await make_calendar(radicale, "work", "Work", DENTIST)
    backend = engine(engine_db, clock, http)
    connected = await backend.connect_calendar(apple(radicale))
    assert connected.connection is not None
    assert [r[-1] for r in stored(engine_db, "SELECT * FROM caldav_accounts")] == [PASSWORD]

    gone = await backend.disconnect_calendar(connected.connection.connection_id)

    assert gone.status == "disconnected"
    assert stored(engine_db, "SELECT * FROM caldav_accounts") == []
    clock.advance(minutes=16)
    assert await backend.refresh_calendars() == 0  # nothing left to sign in with, nothing tried
    assert DENTIST[0] in await free_starts(backend)

    again = await backend.connect_calendar(apple(radicale))
    assert again.connection is not None and again.connection.status == "connected"
    assert len(stored(engine_db, "SELECT * FROM caldav_accounts")) == 1
    assert DENTIST[0] not in await free_starts(backend)
    backend.close()


async def test_a_loopback_caldav_server_not_allowed_by_the_operator_is_refused_before_any_packet(
    radicale: Radicale, engine_db: str, clock: FakeClock
) -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        backend = engine(engine_db, clock, http, allowed="")
        with pytest.raises(InvalidArgument) as refused:
            await backend.connect_calendar(apple(radicale))
    assert refused.value.context["reason"] == "refused_address"
    assert sent == []
    assert await backend.list_calendar_connections() == []
    backend.close()


async def test_a_wrong_password_is_auth_failed_and_names_no_password(
    radicale: Radicale, engine_db: str, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    await make_calendar(radicale, "work", "Work", DENTIST)
    backend = engine(engine_db, clock, http)
    wrong = "wxyz-wxyz-wxyz-wxyz"
    with pytest.raises(AuthFailed) as failed:
        await backend.connect_calendar(apple(radicale, password=wrong))
    said = f"{failed.value.message} {failed.value.next_step} {failed.value.context}"
    assert wrong not in said and PASSWORD not in said
    assert await backend.list_calendar_connections() == []
    backend.close()


async def test_the_tool_connects_apple_with_caldav_url_and_never_shows_the_password(
    radicale: Radicale, engine_db: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock.now = TUESDAY - timedelta(days=1)
    await make_calendar(radicale, "work", "Work", DENTIST)
    settings = Settings(
        db=engine_db,
        time_zone="Europe/Berlin",
        plan="premium",
        allowed_private_hosts="127.0.0.1",
        toolsets="all",
    )
    args = {"provider": "apple", "email": EMAIL, "caldav_url": radicale.url}
    async with Client(build_server(settings, clock=clock)) as client:
        wrong = await client.call_tool("connect_calendar", args | {"password": "nope-nope-nope-nope"})
        connected = await client.call_tool("connect_calendar", args | {"password": PASSWORD})
        listed = await client.call_tool("list_calendar_connections", {})
    assert wrong.is_error and wrong.content[0].text.startswith("auth_failed: ")  # type: ignore[union-attr]
    assert "nope-nope" not in str(wrong.content)
    assert not connected.is_error, connected.content
    assert connected.structured_content is not None
    assert connected.structured_content["status"] == "connected"
    for shown in (
        str(connected.content),
        str(connected.structured_content),
        str(listed.content),
        caplog.text,
    ):
        assert PASSWORD not in shown and "nope-nope" not in shown


async def test_a_caldav_redirect_to_another_origin_loses_the_password_and_is_checked_again() -> None:
    from wix_meetings_mcp.bookings.outbound import Outbound, OutboundError

    seen: list[tuple[str, str | None]] = []

    async def server(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["host"], request.headers.get("authorization")))
        if request.headers["host"] == "127.0.0.1:8001":
            return httpx.Response(301, headers={"Location": "http://127.0.0.2:8002/dav/"})
        return httpx.Response(207, content=b"<multistatus xmlns='DAV:'/>")

    guard = Outbound(allowed_private_hosts="127.0.0.1,127.0.0.2")
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        answer = await guard.request(
            http, "PROPFIND", "http://127.0.0.1:8001/", headers={"Authorization": "Basic c2VjcmV0"},
            max_bytes=1000, deadline=5,
        )  # fmt: skip
        assert answer.status == 207 and str(answer.url) == "http://127.0.0.2:8002/dav/"
        assert seen == [("127.0.0.1:8001", "Basic c2VjcmV0"), ("127.0.0.2:8002", None)]

        strict = Outbound(allowed_private_hosts="127.0.0.1")
        with pytest.raises(OutboundError) as refused:
            await strict.request(http, "PROPFIND", "http://127.0.0.1:8001/", max_bytes=1000, deadline=5)
        assert refused.value.reason == "refused_address"
    assert len(seen) == 3  # the refused hop sent nothing
