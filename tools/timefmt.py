"""Times for people and models: zone lookup, inclusive date ranges, offsets, spoken sentences.

Every datetime leaving a tool carries its UTC offset and is rendered in a named IANA zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wix_meetings_mcp.bookings.errors import InvalidArgument

PartOfDay = Literal["morning", "afternoon", "evening"]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
EARLIEST, LATEST = date(1970, 1, 1), date(2199, 12, 31)  # far enough for any agenda, clear of overflow
# Local hours [start, end) of each part of the day, in the zone the agent asked for.
_PARTS: dict[PartOfDay, tuple[int, int]] = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}


def zone(name: str) -> ZoneInfo:
    """An IANA zone, or InvalidArgument naming what was wrong."""
    try:
        if not name or len(name) > 64:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name[:64].encode("unicode_escape").decode()
        raise InvalidArgument(
            f"unknown time zone {shown!r}",
            next_step="Use an IANA name such as Europe/Berlin, America/New_York or UTC.",
        ) from None


def day_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in `tz`: an inclusive range of whole days."""
    start, end = open_day_range(first, last, tz)
    assert start is not None and end is not None
    return start, end


def open_day_range(
    first: date | None, last: date | None, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """Like day_range, with either end left open (None)."""
    for day in (first, last):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidArgument(
                f"{day.isoformat()} is outside the dates this server handles ({EARLIEST}..{LATEST})",
                next_step="Use a date near today.",
            )
    if first is not None and last is not None and last < first:
        raise InvalidArgument(
            f"to_date {last.isoformat()} is before from_date {first.isoformat()}",
            next_step="Swap the dates or omit to_date.",
        )
    start = None if first is None else midnight(first, tz)
    end = None if last is None else midnight(last + timedelta(days=1), tz)
    return start, end


def midnight(day: date, tz: ZoneInfo) -> datetime:
    # A zone may skip midnight on a DST day; normalising through UTC lands on the first real instant.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(ZoneInfo("UTC")).astimezone(tz)


def in_part_of_day(start: datetime, part: PartOfDay | None, tz: ZoneInfo) -> bool:
    if part is None:
        return True
    low, high = _PARTS[part]
    return low <= start.astimezone(tz).hour < high


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    """The same instant in `tz`, to the second (the offset stays in the ISO rendering)."""
    return moment.astimezone(tz).replace(microsecond=0)


def _clock(moment: datetime) -> tuple[str, str]:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d}", "AM" if moment.hour < 12 else "PM"


def _day(moment: datetime) -> str:
    return f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def spoken(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """A sentence fit to be read aloud: 'Tuesday 1 December 2026, 9:00–9:30 AM Europe/Berlin'."""
    s, e = start.astimezone(tz), end.astimezone(tz)
    (s_clock, s_half), (e_clock, e_half) = _clock(s), _clock(e)
    if s.date() != e.date():
        return f"{_day(s)}, {s_clock} {s_half} – {_day(e)}, {e_clock} {e_half} {tz.key}"
    if s_half == e_half:
        return f"{_day(s)}, {s_clock}–{e_clock} {e_half} {tz.key}"
    return f"{_day(s)}, {s_clock} {s_half}–{e_clock} {e_half} {tz.key}"
