"""Slot computation of the local engine: DST and odd-offset tables, buffers, policy limits, ICS busy times."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.feeds import MAX_FEED_BYTES
from wix_meetings_mcp.bookings.local.ics import parse_busy
from wix_meetings_mcp.bookings.local.slots import free_slots
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest, Link, Policy

EVERY_DAY_NIGHT = {day: [(time(0), time(6))] for day in range(7)}
EVERY_DAY_MORNING = {day: [(time(9), time(12))] for day in range(7)}
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def day_range(day: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    d = date.fromisoformat(day)
    return datetime.combine(d, time(0), zone), datetime.combine(d + timedelta(days=1), time(0), zone)


def starts(slots: list[tuple[datetime, datetime]]) -> list[str]:
    return [s.isoformat(timespec="minutes") for s, _ in slots]


# --- pure slot computation: DST and odd offsets ------------------------------------------------

DST_TABLE = [
    pytest.param(
        "Europe/Berlin", "2026-03-29", EVERY_DAY_NIGHT, 60,
        ["00:00+01:00", "01:00+01:00", "03:00+02:00", "04:00+02:00", "05:00+02:00"],
        id="berlin-spring-forward-skips-the-missing-hour",
    ),
    pytest.param(
        "Europe/Berlin", "2026-10-25", EVERY_DAY_NIGHT, 60,
        ["00:00+02:00", "01:00+02:00", "02:00+02:00", "03:00+01:00", "04:00+01:00", "05:00+01:00"],
        id="berlin-fall-back-offers-the-repeated-hour-once",
    ),
    pytest.param(
        "America/New_York", "2026-03-08", EVERY_DAY_NIGHT, 60,
        ["00:00-05:00", "01:00-05:00", "03:00-04:00", "04:00-04:00", "05:00-04:00"],
        id="new-york-spring-forward-skips-the-missing-hour",
    ),
    pytest.param(
        "America/New_York", "2026-11-01", EVERY_DAY_NIGHT, 60,
        ["00:00-04:00", "01:00-04:00", "02:00-05:00", "03:00-05:00", "04:00-05:00", "05:00-05:00"],
        id="new-york-fall-back-offers-the-repeated-hour-once",
    ),
    pytest.param(
        "America/New_York", "2026-11-01", EVERY_DAY_NIGHT, 30,
        ["00:00-04:00", "00:30-04:00", "01:00-04:00", "01:30-04:00", "02:00-05:00", "02:30-05:00",
         "03:00-05:00", "03:30-05:00", "04:00-05:00", "04:30-05:00", "05:00-05:00", "05:30-05:00"],
        id="new-york-fall-back-half-hours-keep-the-wall-clock-grid",
    ),
    pytest.param(
        "Europe/Berlin", "2026-03-29", {6: [(time(0), time(2, 30))]}, 30,
        ["00:00+01:00", "00:30+01:00", "01:00+01:00", "01:30+01:00"],
        id="berlin-window-ending-inside-the-gap-ends-at-the-transition",
    ),
    pytest.param(
        "Asia/Kathmandu", "2026-06-01", {0: [(time(9), time(11))]}, 30,
        ["09:00+05:45", "09:30+05:45", "10:00+05:45", "10:30+05:45"],
        id="kathmandu-quarter-hour-offset",
    ),
    pytest.param(
        "Europe/Berlin", "2026-06-01", {0: [(time(9), time(17))]}, 90,
        ["09:00+02:00", "10:30+02:00", "12:00+02:00", "13:30+02:00", "15:00+02:00"],
        id="starts-align-to-the-duration-grid-from-the-window-start",
    ),
    pytest.param(
        "Europe/Berlin", "2026-06-01", {0: [(time(22), time(0))]}, 60,
        ["22:00+02:00", "23:00+02:00"],
        id="a-window-ending-at-midnight-runs-to-the-end-of-the-day",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("zone_name", "day", "hours", "minutes", "expected"), DST_TABLE)
def test_slots_follow_the_wall_clock_of_the_business_zone(
    zone_name: str, day: str, hours: dict[int, list[tuple[time, time]]], minutes: int, expected: list[str]
) -> None:
    zone = ZoneInfo(zone_name)
    start, end = day_range(day, zone)
    duration = timedelta(minutes=minutes)
    slots = free_slots(
        working_hours=hours, zone=zone, start=start, end=end, duration=duration, busy=[], now=LONG_AGO
    )
    assert starts(slots) == [f"{day}T{hhmm}" for hhmm in expected]
    # Absolute durations: subtracting two datetimes of one ZoneInfo would use wall time instead.
    assert all(e.astimezone(UTC) - s.astimezone(UTC) == duration for s, e in slots)
    assert len({s.astimezone(UTC) for s, _ in slots}) == len(slots)


def test_kathmandu_slots_sit_at_quarter_past_in_utc() -> None:
    zone = ZoneInfo("Asia/Kathmandu")
    start, end = day_range("2026-06-01", zone)
    slots = free_slots(
        working_hours={0: [(time(9), time(10))]},
        zone=zone,
        start=start,
        end=end,
        duration=timedelta(minutes=30),
        busy=[],
        now=LONG_AGO,
    )
    assert [s.astimezone(UTC).strftime("%H:%M") for s, _ in slots] == ["03:15", "03:45"]
    assert all(s.utcoffset() == timedelta(hours=5, minutes=45) for s, _ in slots)


# --- busy time, buffers and policy limits ------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(hhmm: str, day: str = "2026-06-01") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=BERLIN)


FILTER_TABLE = [
    pytest.param({}, ["09:00", "09:30", "10:30", "11:00", "11:30"], id="a-meeting-blocks-its-own-time"),
    pytest.param({"buffer": 15}, ["09:00", "11:00", "11:30"], id="the-buffer-widens-busy-time-on-both-sides"),
    pytest.param({"now": "09:00"}, ["09:30", "10:30", "11:00", "11:30"], id="a-slot-starting-now-is-not-offered"),
    pytest.param({"now": "10:10"}, ["10:30", "11:00", "11:30"], id="past-slots-are-never-offered"),
    pytest.param({"min_notice": 120}, ["10:30", "11:00", "11:30"], id="min-notice-from-now"),
    pytest.param({"max_advance": 150}, ["09:00", "09:30", "10:30"], id="max-advance-from-now"),
    pytest.param({"range_start": "10:15"}, ["10:30", "11:00", "11:30"], id="starts-only-inside-the-range"),
    pytest.param({"busy": [("09:30", "10:00")]}, ["09:00", "10:00", "10:30", "11:00", "11:30"],
                 id="touching-busy-time-does-not-block"),
    pytest.param({"busy": [("08:00", "12:00")]}, [], id="a-long-busy-interval-blocks-everything"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "expected"), FILTER_TABLE)
def test_busy_time_buffers_and_policy_limits_remove_candidates(
    case: dict[str, object], expected: list[str]
) -> None:
    busy_spec = case.get("busy", [("10:00", "10:30")])
    assert isinstance(busy_spec, list)
    now = berlin(str(case["now"])) if "now" in case else berlin("08:00")
    minutes = {
        key: timedelta(minutes=int(str(case[key]))) for key in ("min_notice", "max_advance") if key in case
    }
    slots = free_slots(
        working_hours=EVERY_DAY_MORNING,
        zone=BERLIN,
        start=berlin(str(case.get("range_start", "00:00"))),
        end=berlin("00:00", "2026-06-02"),
        duration=timedelta(minutes=30),
        busy=[(berlin(a), berlin(b)) for a, b in busy_spec],
        buffer=timedelta(minutes=int(str(case.get("buffer", 0)))),
        now=now,
        min_notice=minutes.get("min_notice"),
        max_advance=minutes.get("max_advance"),
    )
    assert [s.strftime("%H:%M") for s, _ in slots] == expected


@settings(max_examples=200, deadline=None)
@given(
    busy=st.lists(st.tuples(st.integers(0, 24 * 60), st.integers(1, 240)), max_size=12),
    buffer=st.integers(0, 60),
    duration=st.sampled_from([15, 30, 45, 60, 90]),
)
def test_sweep_agrees_with_checking_every_busy_interval(
    busy: list[tuple[int, int]], buffer: int, duration: int
) -> None:
    day = berlin("00:00")
    intervals = [(day + timedelta(minutes=a), day + timedelta(minutes=a + n)) for a, n in busy]
    pad = timedelta(minutes=buffer)

    def compute(busy: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
        return free_slots(
            working_hours={0: [(time(8), time(18))]},
            zone=BERLIN,
            start=day,
            end=day + timedelta(days=1),
            duration=timedelta(minutes=duration),
            busy=busy,
            buffer=pad,
            now=LONG_AGO,
        )

    expected = [
        (s, e)
        for s, e in compute([])
        if not any(s < b_end + pad and b_start - pad < e for b_start, b_end in intervals)
    ]
    assert compute(intervals) == expected


# --- the same tables through LocalBackend.find_slots -------------------------------------------


async def public_dns(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]  # any public address: a MockTransport answers, nothing is dialled


@pytest.fixture
def make_backend(tmp_path: Path) -> Callable[..., LocalBackend]:
    def make(
        zone: str = "Europe/Berlin", now: datetime = LONG_AGO, http: httpx.AsyncClient | None = None
    ) -> LocalBackend:
        return LocalBackend(
            db_path=tmp_path / "meetings.db",
            time_zone=zone,
            plan="premium",
            clock=Clock(now),
            http=http,
            resolver=public_dns,
        )

    return make


async def default_link(backend: LocalBackend) -> Link:
    return (await backend.list_links())[0]


@pytest.mark.parametrize(("zone_name", "day", "hours", "minutes", "expected"), DST_TABLE)
async def test_find_slots_follows_the_wall_clock_of_the_business_zone(
    make_backend: Callable[..., LocalBackend],
    zone_name: str,
    day: str,
    hours: dict[int, list[tuple[time, time]]],
    minutes: int,
    expected: list[str],
) -> None:
    backend = make_backend(zone_name)
    link = await default_link(backend)
    await backend.set_working_hours(link.host.host_id, hours)
    start, end = day_range(day, ZoneInfo(zone_name))
    slots = await backend.find_slots(link, start=start, end=end, duration=timedelta(minutes=minutes))
    assert [s.start.isoformat(timespec="minutes") for s in slots] == [f"{day}T{hhmm}" for hhmm in expected]
    assert all(s.link_id == link.link_id and s.host_id == link.host.host_id for s in slots)
    backend.close()


async def test_find_slots_never_offers_the_past_when_now_is_mid_day(
    make_backend: Callable[..., LocalBackend],
) -> None:
    backend = make_backend(now=berlin("13:05"))
    link = await default_link(backend)
    slots = await backend.find_slots(
        link, start=berlin("00:00"), end=berlin("00:00", "2026-06-02"), duration=timedelta(minutes=30)
    )
    assert slots[0].start == berlin("13:30")
    assert slots[-1].start == berlin("16:30")
    backend.close()


async def test_find_slots_applies_the_links_min_notice_and_max_advance(
    make_backend: Callable[..., LocalBackend],
) -> None:
    backend = make_backend(now=berlin("08:00"))
    link = await backend.create_link(
        name="Policy",
        policy=Policy(min_notice=timedelta(hours=2), max_advance=timedelta(hours=4)),
    )
    slots = await backend.find_slots(
        link, start=berlin("00:00"), end=berlin("00:00", "2026-06-03"), duration=timedelta(minutes=30)
    )
    assert [s.start.strftime("%H:%M") for s in slots] == ["10:00", "10:30", "11:00", "11:30", "12:00"]
    backend.close()


# --- busy times from ICS feeds --------------------------------------------------------------------

FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//meetings-mcp tests//EN
BEGIN:VEVENT
UID:standup
DTSTART;TZID=Europe/Berlin:20260601T100000
DTEND;TZID=Europe/Berlin:20260601T110000
RRULE:FREQ=DAILY;COUNT=4
EXDATE;TZID=Europe/Berlin:20260603T100000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:free-time
DTSTART:20260601T100000Z
DTEND:20260601T110000Z
TRANSP:TRANSPARENT
SUMMARY:Marked free
END:VEVENT
BEGIN:VEVENT
UID:called-off
DTSTART:20260603T130000Z
DTEND:20260603T140000Z
STATUS:CANCELLED
END:VEVENT
BEGIN:VEVENT
UID:holiday
DTSTART;VALUE=DATE:20260605
DTEND;VALUE=DATE:20260606
SUMMARY:Day off
END:VEVENT
BEGIN:VEVENT
UID:floating
DTSTART:20260602T150000
DTEND:20260602T153000
SUMMARY:Floating time
END:VEVENT
END:VCALENDAR
"""

ICS_TABLE = [
    pytest.param("2026-06-01", "10:00", False, id="first-occurrence-of-a-recurring-event-blocks"),
    pytest.param("2026-06-01", "10:30", False, id="the-whole-recurring-occurrence-blocks"),
    pytest.param("2026-06-01", "12:00", True, id="a-transparent-event-is-ignored"),
    pytest.param("2026-06-02", "10:00", False, id="a-later-occurrence-blocks"),
    pytest.param("2026-06-03", "10:00", True, id="an-exdate-occurrence-is-free"),
    pytest.param("2026-06-03", "15:00", True, id="a-cancelled-event-is-ignored"),
    pytest.param("2026-06-04", "10:00", False, id="the-last-occurrence-blocks"),
    pytest.param("2026-06-02", "15:00", False, id="floating-times-are-in-the-business-zone"),
    pytest.param("2026-06-05", "09:00", False, id="an-all-day-event-blocks-the-morning"),
    pytest.param("2026-06-05", "16:30", False, id="an-all-day-event-blocks-the-evening"),
]


@pytest.fixture
async def connected(
    make_backend: Callable[..., LocalBackend], tmp_path: Path
) -> AsyncIterator[tuple[LocalBackend, set[datetime]]]:
    feed = tmp_path / "calendar.ics"
    feed.write_text(FEED)
    backend = make_backend(now=berlin("08:00", "2026-05-31"))
    result = await backend.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=feed.as_uri()))
    assert result.connection is not None and result.connection.busy_intervals == 5
    link = await default_link(backend)
    slots = await backend.find_slots(
        link, start=berlin("00:00"), end=berlin("00:00", "2026-06-06"), duration=timedelta(minutes=30)
    )
    yield backend, {s.start for s in slots}
    backend.close()


@pytest.mark.parametrize(("day", "hhmm", "free"), ICS_TABLE)
async def test_busy_times_of_a_connected_ics_feed_remove_slots(
    connected: tuple[LocalBackend, set[datetime]], day: str, hhmm: str, free: bool
) -> None:
    _, starts_offered = connected
    assert (berlin(hhmm, day) in starts_offered) is free


GOOGLE_FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Google Inc//Google Calendar 70.9054//EN
X-WR-TIMEZONE:America/New_York
BEGIN:VEVENT
UID:ny-call
DTSTART:20260602T040000
DTEND:20260602T050000
END:VEVENT
END:VCALENDAR
"""


async def test_a_google_feed_served_over_https_applies_its_x_wr_timezone(
    make_backend: Callable[..., LocalBackend],
) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, text=GOOGLE_FEED, headers={"content-type": "text/calendar"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        backend = make_backend(now=berlin("08:00", "2026-05-31"), http=http)
        secret = "webcal://calendar.example/ical/private-s3cr3t/basic.ics"
        result = await backend.connect_calendar(ConnectCalendarRequest(provider="apple", ics_url=secret))
        link = await default_link(backend)
        slots = await backend.find_slots(
            link,
            start=berlin("00:00", "2026-06-02"),
            end=berlin("00:00", "2026-06-03"),
            duration=timedelta(hours=1),
        )
    assert seen[0].scheme == "https"  # webcal:// is fetched as https://
    assert result.status == "connected" and "s3cr3t" not in result.model_dump_json()
    # 04:00-05:00 New York (its X-WR-TIMEZONE) is 10:00-11:00 in Berlin.
    assert berlin("10:00", "2026-06-02") not in {s.start for s in slots}
    assert berlin("11:00", "2026-06-02") in {s.start for s in slots}
    backend.close()


def failing(kind: str) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if kind == "404":
            return httpx.Response(404, text="not found")
        if kind == "huge":
            return httpx.Response(200, content=b"x" * (MAX_FEED_BYTES + 1))
        if kind == "garbage":
            return httpx.Response(200, text="<html>sign in</html>")
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    return handler


@pytest.mark.parametrize("kind", ["404", "huge", "garbage", "unreachable"])
async def test_an_unreadable_feed_is_an_invalid_argument_that_never_quotes_the_address(
    make_backend: Callable[..., LocalBackend], kind: str
) -> None:
    secret = "https://calendar.example/ical/private-s3cr3t/basic.ics"
    async with httpx.AsyncClient(transport=httpx.MockTransport(failing(kind))) as http:
        backend = make_backend(now=berlin("08:00"), http=http)
        with pytest.raises(InvalidArgument) as caught:
            await backend.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=secret))
    error = caught.value
    assert "s3cr3t" not in f"{error.message} {error.next_step} {error.context}"
    assert error.__cause__ is None and (error.__suppress_context__ or error.__context__ is None)
    assert await backend.list_calendar_connections() == []
    backend.close()


def test_parse_busy_reads_all_day_events_as_whole_days_in_the_business_zone() -> None:
    busy = parse_busy(
        FEED.encode(), zone=BERLIN, start=berlin("00:00", "2026-06-05"), end=berlin("00:00", "2026-06-06")
    )
    assert busy == [
        (berlin("00:00", "2026-06-05").astimezone(UTC), berlin("00:00", "2026-06-06").astimezone(UTC))
    ]


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=60),
    first=st.dates(min_value=date(2026, 3, 20), max_value=date(2026, 11, 5)),
    busy_hours=st.lists(st.integers(min_value=0, max_value=24 * 14), max_size=20),
)
def test_a_page_is_the_head_of_the_full_list_even_across_clock_changes(
    limit: int, first: date, busy_hours: list[int]
) -> None:
    """The engine stops walking days once a page is full; what it returns must not change."""
    zone = ZoneInfo("Europe/Berlin")
    start = datetime.combine(first, time(0), zone)
    hours = {day: [(time(0), time(2)), (time(9), time(12)), (time(22), time(0))] for day in range(7)}
    busy = [(start + timedelta(hours=h), start + timedelta(hours=h, minutes=45)) for h in busy_hours]
    common = {
        "working_hours": hours, "zone": zone, "start": start, "end": start + timedelta(days=14),
        "duration": timedelta(minutes=30), "busy": busy, "now": LONG_AGO,
    }  # fmt: skip
    assert free_slots(**common, limit=limit) == free_slots(**common)[:limit]  # type: ignore[arg-type]
