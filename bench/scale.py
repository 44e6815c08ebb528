"""Scale: the tools as history grows (bench/history.py, issue 12's "flat with history"), then the
slot engine, `LocalBackend.find_slots` over a 90-day window, as the calendar ahead fills up.

The engine reads only the busy times near the window (SQLite's (host_id, start_ts) indexes),
merges them once (b log b) and bisects once per candidate slot (c log b), so its time should
follow candidates + busy times in the window, not the size of the calendar. Meetings are spread
evenly over a year of working hours (a quarter of them fall in the window); one case puts all of
them after the window, where they should cost nothing. Imported busy times come from real ICS
files through `connect_calendar`; outside `--quick` a 5,000-event feed (the most busy times one
feed may hold) is added on top, which leaves little free time in the window.

Every case gets its own database, prepared before the clock starts; the timed calls then go
round the cases in turn, so a change in the machine's load hits all of them alike. Ratios are
against the empty calendar, measured in this run.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

from bench import history
from bench.config import Config
from bench.report import Section, median, ms, ratio
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, ConnectCalendarRequest, Slot

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday morning, as in the tests
WINDOW = timedelta(days=90)
YEAR = timedelta(days=365)
HALF_HOUR = timedelta(minutes=30)
MEETINGS_LIMIT = 2.0  # issue 6: the call on a full calendar within 2x the call on a near-empty one
COLUMNS = ["case", "busy in window", "free slots", "median ms", "× empty", "peak alloc KiB", "target", "check"]  # fmt: skip


@dataclass
class Feed:
    path: Path
    starts: list[datetime]
    import_seconds: list[float] = field(default_factory=list)


@dataclass
class Case:
    name: str
    meetings: int = 0  # spread evenly over the year's free slots
    after_window: bool = False  # ... or over those after the window only
    feeds: tuple[Feed, ...] = ()
    limit: float | None = None
    busy: int = 0  # meetings and imported events starting in the window
    free: int = 0
    samples: list[float] = field(default_factory=list)


def engine(path: Path) -> LocalBackend:
    return LocalBackend(db_path=path, time_zone="Europe/Berlin", plan="premium", clock=lambda: NOW)


def write_feed(path: Path, count: int) -> Feed:
    """`count` 45-minute events spread evenly over the year, at all hours (as real calendars)."""
    starts = [NOW + i * (YEAR / count) for i in range(count)]
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:bench-{i}@example.com\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{start + timedelta(minutes=45):%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:Busy {i}\r\nEND:VEVENT\r\n"
        for i, start in enumerate(starts)
    )
    path.write_text(
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//meetings-mcp bench//EN\r\n{events}END:VCALENDAR\r\n"
    )
    return Feed(path, starts)


def in_window(starts: list[datetime]) -> int:
    return sum(NOW <= s < NOW + WINDOW for s in starts)


async def find_slots(backend: LocalBackend, *, end: datetime = NOW + WINDOW) -> list[Slot]:
    link = (await backend.list_links())[0]
    return await backend.find_slots(link, start=NOW, end=end, duration=HALF_HOUR)


async def prepare(path: Path, case: Case) -> LocalBackend:
    """A database holding the case's meetings, with its feeds connected."""
    backend = engine(path)
    slots = await find_slots(backend, end=NOW + YEAR)
    if case.after_window:
        slots = [s for s in slots if s.start >= NOW + WINDOW]
    chosen = slots[:: len(slots) // case.meetings][: case.meetings] if case.meetings else []
    attendee = Attendee(name="Bench Attendee", email="bench@example.com")
    for slot in chosen:
        await backend.book(BookingRequest(slot=slot, attendee=attendee), meetings_limit=None)
    case.busy = in_window([s.start for s in chosen])
    for feed in case.feeds:
        started = perf_counter()
        await backend.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=feed.path.as_uri()))
        feed.import_seconds.append(perf_counter() - started)
        case.busy += in_window(feed.starts)
    return backend


async def run(cfg: Config) -> list[Section]:
    return [await history.run(cfg), await window(cfg)]


async def window(cfg: Config) -> Section:
    feed = write_feed(cfg.workdir / "busy-1k.ics", 1000)
    cases = [
        Case("empty calendar"),
        Case("1000-event ICS feed", feeds=(feed,)),
        Case("100 meetings over a year", meetings=100, limit=MEETINGS_LIMIT),
        Case("1000 meetings over a year", meetings=1000, limit=MEETINGS_LIMIT),
        Case("1000 meetings + 1000-event feed", meetings=1000, feeds=(feed,)),
        Case("1000 meetings, all after the window", meetings=1000, after_window=True, limit=MEETINGS_LIMIT),
    ]
    big: Feed | None = None
    if not cfg.quick:
        # 5,000: the most busy intervals the engine keeps from one feed (FeedLimits).
        big = write_feed(cfg.workdir / "busy-5k.ics", 5_000)
        cases.insert(2, Case("1000 + 5000-event ICS feeds", feeds=(feed, big)))
    backends = [await prepare(cfg.workdir / f"scale-{i}.db", case) for i, case in enumerate(cases)]

    for round_ in range(cfg.repeats + 2):  # two untimed rounds warm connections and page caches
        for case, backend in zip(cases, backends, strict=True):
            started = perf_counter()
            case.free = len(await find_slots(backend))
            if round_ >= 2:
                case.samples.append(perf_counter() - started)
    peaks = [await peak_kib(backend) for backend in backends]
    for backend in backends:
        backend.close()

    table = Section("scale_window", "Slot engine: find_slots over 90 days as the calendar fills (LocalBackend)", COLUMNS)  # fmt: skip
    floor = median(cases[0].samples)
    for case, peak in zip(cases, peaks, strict=True):
        seconds = median(case.samples)
        table.add(
            case.name, case.busy, case.free, ms(seconds), ratio(seconds, floor), peak,
            f"≤ {case.limit}×" if case.limit else "",
            table.check(f"find_slots over 90 days, {case.name}, vs empty", seconds / floor, case.limit)
            if case.limit else "",
        )  # fmt: skip
    imports = f"{ms(median(feed.import_seconds)):.0f} ms for 1000 events"
    if big is not None:
        imports += f", {ms(median(big.import_seconds)):.0f} ms for 5,000"
    table.notes.append(
        f"Median of {cfg.repeats} calls per case, taken round-robin across the cases; "
        f"{cases[0].free} candidate 30-minute slots in the 90-day window. Importing a feed "
        f"(connect_calendar: read, parse, expand, store) took {imports}."
    )
    return table


async def peak_kib(backend: LocalBackend) -> int:
    """Peak KiB allocated by Python during one call (tracemalloc traces the worker thread too)."""
    tracemalloc.start()
    try:
        await find_slots(backend)
        return tracemalloc.get_traced_memory()[1] // 1024
    finally:
        tracemalloc.stop()
