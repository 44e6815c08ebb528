"""Hostile calendar feeds: bombs, decompression bombs, drips, amplification and file:// probes.

The attack inputs live in tests/attacks/ (see its README); they are served from a loopback server
the test starts, the only address a test ever contacts.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.loopback import Loopback, gzipped, loopback, response
from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.feeds import FeedLimits, ParseLimits
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest, ConnectCalendarResult

ATTACKS = Path(__file__).parent / "attacks"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

GOOD = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:dentist\r
DTSTART:20260305T100000Z\r
DTEND:20260305T110000Z\r
END:VEVENT\r
END:VCALENDAR\r
"""


def attack(name: str) -> bytes:
    return (ATTACKS / name).read_bytes()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make(tmp_path: Path, http: httpx.AsyncClient) -> Callable[..., LocalBackend]:
    def build(**options: Any) -> LocalBackend:
        return LocalBackend(
            db_path=tmp_path / "meetings.db",
            time_zone="Europe/Berlin",
            plan="premium",
            clock=lambda: NOW,
            http=http,
            allowed_private_hosts="127.0.0.1",  # the loopback server stands in for a public feed
            **options,
        )

    return build


async def connect(backend: LocalBackend, url: str) -> ConnectCalendarResult:
    return await backend.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=url))


async def refusal(backend: LocalBackend, url: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        await connect(backend, url)
    return caught.value


@pytest.fixture
async def server() -> AsyncIterator[Loopback]:
    routes = {f"/{p.name}": response(p.read_bytes()) for p in ATTACKS.glob("*.ics")}
    routes["/good.ics"] = response(GOOD)
    async with loopback(routes) as running:
        yield running


# --- 1. feed bombs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "secondly.ics",
        "minutely_vtimezone.ics",
        "daily_vtimezone.ics",
        "byminute_daily.ics",
        "half_hourly_busy.ics",
    ],
)
async def test_a_feed_that_would_expand_without_end_is_refused_as_too_large_in_seconds(
    make: Callable[..., LocalBackend], server: Loopback, name: str
) -> None:
    backend = make()
    with anyio.fail_after(20):
        error = await refusal(backend, server.url(f"/{name}"))
    assert error.context["reason"] == "too_large"
    assert await backend.list_calendar_connections() == []
    backend.close()


async def test_a_parse_that_outlives_its_budget_is_killed_and_reported_as_a_timeout(
    make: Callable[..., LocalBackend], server: Loopback
) -> None:
    backend = make(feed_limits=FeedLimits(parse_seconds=2.0))
    with anyio.fail_after(10):  # 40 rules for 30 February: minutes of searching to the year 9999
        error = await refusal(backend, server.url("/impossible_rules.ics"))
    assert error.context["reason"] == "timeout"
    assert multiprocessing.active_children() == []  # the worker is gone, not left spinning
    backend.close()


async def test_database_calls_go_on_while_a_feed_is_being_parsed(
    make: Callable[..., LocalBackend], server: Loopback
) -> None:
    backend = make(feed_limits=FeedLimits(parse_seconds=4.0))
    await backend.get_account()  # the database is set up before the pool is squeezed
    # One worker thread for everything that shares the default pool: a feed holding it would
    # stop every tool.
    anyio.to_thread.current_default_thread_limiter().total_tokens = 1
    outcome: list[str] = []

    async def slow_feed() -> None:
        error = await refusal(backend, server.url("/impossible_rules.ics"))
        outcome.append(str(error.context["reason"]))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(slow_feed)
        await anyio.wait_all_tasks_blocked()
        with anyio.fail_after(2):
            account = await backend.get_account()
        assert not outcome  # the feed was still being read while the account came back
    assert account.plan.premium and outcome == ["timeout"]
    backend.close()


async def test_a_refresh_that_hits_a_cap_turns_the_connection_error_and_keeps_its_busy_times(
    make: Callable[..., LocalBackend], server: Loopback
) -> None:
    backend = make()
    url = server.url("/mine.ics")
    server.routes["/mine.ics"] = response(GOOD)
    await connect(backend, url)
    server.routes["/mine.ics"] = response(attack("secondly.ics"))  # the same address turns hostile
    error = await refusal(backend, url)
    [connection] = await backend.list_calendar_connections()
    link = (await backend.list_links())[0]
    day = datetime(2026, 3, 5, tzinfo=UTC)
    starts = {
        s.start
        for s in await backend.find_slots(
            link, start=day, end=day + timedelta(days=1), duration=timedelta(minutes=30)
        )
    }
    assert error.context["reason"] == "too_large"
    assert (connection.status, connection.error_reason, connection.busy_intervals) == (
        "error",
        "too_large",
        1,
    )
    assert datetime(2026, 3, 5, 10, 0, tzinfo=UTC) not in starts  # the dentist still blocks 11:00 Berlin
    assert datetime(2026, 3, 5, 9, 0, tzinfo=UTC) in starts

    server.routes["/mine.ics"] = response(GOOD)
    await connect(backend, url)
    [healed] = await backend.list_calendar_connections()
    assert (healed.status, healed.error_reason) == ("connected", None)
    backend.close()


# --- 2. decompression bombs ----------------------------------------------------------------------


async def test_a_stacked_gzip_bomb_is_refused_before_it_is_inflated(
    make: Callable[..., LocalBackend],
) -> None:
    bomb = attack("gzip_gzip_3gib.bin")  # 5 KB on the wire, 3 GiB decoded
    routes = {"/bomb.ics": response(bomb, headers={"Content-Encoding": "gzip, gzip"})}
    backend = make()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with loopback(routes) as bomb_server:
        with anyio.fail_after(10):
            error = await refusal(backend, bomb_server.url("/bomb.ics"))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert error.context["reason"] == "too_large"
    assert grown_mib < 100
    backend.close()


async def test_a_gzipped_feed_is_read(make: Callable[..., LocalBackend]) -> None:
    backend = make()
    async with loopback({"/cal.ics": gzipped(GOOD)}) as gz:
        result = await connect(backend, gz.url("/cal.ics"))
    assert result.connection is not None and result.connection.busy_intervals == 1
    backend.close()


# --- 6. busy-time amplification ------------------------------------------------------------------


async def test_overlapping_events_are_stored_as_one_busy_stretch(
    make: Callable[..., LocalBackend], server: Loopback
) -> None:
    backend = make()
    result = await connect(backend, server.url("/overlapping_hourly.ics"))
    assert result.connection is not None and result.connection.busy_intervals == 1
    backend.close()


def daily(uid: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTART:20260101T120000Z\r\nDTEND:20260101T130000Z\r\nRRULE:FREQ=DAILY\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


async def test_a_host_can_import_only_so_many_busy_times_across_its_calendars(
    make: Callable[..., LocalBackend],
) -> None:
    backend = make(feed_limits=FeedLimits(host_intervals=500))
    async with loopback({"/a.ics": response(daily("a")), "/b.ics": response(daily("b"))}) as feeds:
        first = await connect(backend, feeds.url("/a.ics"))
        error = await refusal(backend, feeds.url("/b.ics"))
    assert first.connection is not None and first.connection.busy_intervals == 366
    assert error.context["reason"] == "too_large"
    assert [c.connection_id for c in await backend.list_calendar_connections()] == [
        first.connection.connection_id
    ]
    backend.close()


async def test_one_feed_keeps_at_most_its_interval_cap(make: Callable[..., LocalBackend]) -> None:
    backend = make(feed_limits=FeedLimits(parse=ParseLimits(intervals=100)))
    async with loopback({"/a.ics": response(daily("a"))}) as feeds:
        error = await refusal(backend, feeds.url("/a.ics"))
    assert error.context["reason"] == "too_large"
    backend.close()


# --- 7. slow drip --------------------------------------------------------------------------------


async def drip(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(200):  # a byte every 50 ms: each read is quick, the whole never arrives
        writer.write(b"B")
        await writer.drain()
        await asyncio.sleep(0.05)


async def test_a_feed_that_drips_meets_one_overall_deadline(make: Callable[..., LocalBackend]) -> None:
    backend = make(feed_limits=FeedLimits(fetch_seconds=1.0))
    async with loopback({"/drip.ics": drip}) as slow:
        with anyio.fail_after(5):
            error = await refusal(backend, slow.url("/drip.ics"))
    assert error.context["reason"] == "timeout"
    backend.close()


# --- 18. file:// feeds ---------------------------------------------------------------------------


async def test_a_fifo_is_refused_at_once_instead_of_hanging(
    make: Callable[..., LocalBackend], tmp_path: Path
) -> None:
    fifo = tmp_path / "calendar.ics"
    os.mkfifo(fifo)
    backend = make()
    with anyio.fail_after(5):
        error = await refusal(backend, fifo.as_uri())
    assert error.context["reason"] == "unreachable"
    backend.close()


async def test_file_feeds_fail_alike_whether_or_not_the_path_exists(
    make: Callable[..., LocalBackend], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a calendar")
    (tmp_path / "folder").mkdir()
    (tmp_path / "bomb.ics").write_bytes(attack("secondly.ics"))
    backend = make()
    answers = set()
    for name in ["missing.ics", "notes.txt", "folder", "bomb.ics"]:
        error = await refusal(backend, (tmp_path / name).as_uri())
        answers.add((error.message, error.next_step, str(error.context)))
    good = tmp_path / "good.ics"
    good.write_bytes(GOOD)
    result = await connect(backend, good.as_uri())
    assert len(answers) == 1
    assert result.connection is not None and result.connection.busy_intervals == 1
    backend.close()


# --- the worker process under the real entry points ----------------------------------------------


@pytest.mark.parametrize("entry", ["console script", "python -m"])
async def test_a_feed_is_parsed_in_a_worker_under_the_stdio_server_without_touching_its_stdout(
    tmp_path: Path, entry: str
) -> None:
    from mcp import Client, StdioServerParameters

    from tests.conftest import Caller
    from tests.test_stdio_e2e import server_command

    command, args = (
        server_command() if entry == "console script" else (sys.executable, ["-m", "wix_meetings_mcp"])
    )
    feed = tmp_path / "calendar.ics"
    soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y%m%d")  # the server runs on the real clock
    feed.write_bytes(GOOD.replace(b"20260305", soon.encode()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")}
    env.update({"MEETINGS_DB": str(tmp_path / "e2e.db"), "MEETINGS_PLAN": "premium"})
    params = StdioServerParameters(command=command, args=args, env=env, cwd=tmp_path)
    with anyio.fail_after(60):
        async with Client(params) as client:
            call = Caller(client)
            connected = await call("connect_calendar", provider="google", ics_url=feed.as_uri())
            again = await call("list_calendar_connections")  # the channel still speaks MCP
    assert connected["status"] == "connected" and connected["connection"]["busy_intervals"] == 1
    assert again["connections"][0]["status"] == "connected"
