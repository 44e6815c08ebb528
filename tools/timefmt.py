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


# Zone names that are abbreviations or rules, not places: EST is UTC-5 all year (never New York in
# summer), so a caller meaning a city gets the city's name to use instead.
_NOT_PLACES = {
    "EST": "America/New_York (or Etc/GMT+5 for UTC-5 all year)",
    "MST": "America/Denver (or America/Phoenix, which keeps UTC-7 all year)",
    "HST": "Pacific/Honolulu",
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "CET": "Europe/Berlin, Europe/Paris or another city",
    "MET": "Europe/Berlin, Europe/Paris or another city",
    "EET": "Europe/Athens, Europe/Helsinki or another city",
    "WET": "Europe/Lisbon",
}
_UTC_NAMES = {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Zulu", "Universal", "Greenwich"}


def zone(name: str) -> ZoneInfo:
    """An IANA zone that names a place (or UTC / Etc/*), or InvalidArgument naming what to use."""
    suggestion = _NOT_PLACES.get(name.upper() if isinstance(name, str) else "")
    if suggestion:
        raise InvalidArgument(
            f"{name!r} is an abbreviation, not a place, and does not follow daylight saving where people live",
            next_step=f"Use the city's zone instead: {suggestion}.",
        )
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


def in_window(start: datetime, end: datetime, window: tuple[time, time] | None, tz: ZoneInfo) -> bool:
    """Starts at or after window[0] and ends by window[1], in local wall time (same day)."""
    if window is None:
        return True
    s, e = start.astimezone(tz), end.astimezone(tz)
    return s.time() >= window[0] and (e.time() <= window[1] if e.date() == s.date() else False)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    """The same instant in `tz`, to the second (the offset stays in the ISO rendering)."""
    return moment.astimezone(tz).replace(microsecond=0)


def _clock(moment: datetime) -> tuple[str, str]:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d}", "AM" if moment.hour < 12 else "PM"


def _day(moment: datetime, today: date) -> str:
    year = "" if moment.year == today.year else f" {moment.year}"
    return f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]}{year}"


def zone_spoken(tz: ZoneInfo) -> str:
    """How a zone is said aloud: "Berlin time", "New York time", "UTC", "UTC plus 5"."""
    key = tz.key.removeprefix("Etc/")
    if key in _UTC_NAMES:
        return "UTC"
    if key.startswith("GMT") and key[3:4] in "+-" and key[4:].isdigit():
        # POSIX sign: Etc/GMT-5 is five hours ahead of UTC.
        return f"UTC {'plus' if key[3] == '-' else 'minus'} {int(key[4:])}"
    return key.rsplit("/", 1)[-1].replace("_", " ") + " time"


def spoken(start: datetime, end: datetime, tz: ZoneInfo, *, today: date) -> str:
    """A sentence to read aloud, free of symbols speech engines misread:
    "Tuesday 1 December, 9:00 to 9:30 AM, Berlin time" (the year only when it is not this one)."""
    s, e = start.astimezone(tz), end.astimezone(tz)
    (s_clock, s_half), (e_clock, e_half) = _clock(s), _clock(e)
    if s.date() != e.date():
        span = f"{_day(s, today)}, {s_clock} {s_half} to {_day(e, today)}, {e_clock} {e_half}"
    elif s_half == e_half:
        span = f"{_day(s, today)}, {s_clock} to {e_clock} {e_half}"
    else:
        span = f"{_day(s, today)}, {s_clock} {s_half} to {e_clock} {e_half}"
    return f"{span}, {zone_spoken(tz)}"


def slot_label(start: datetime, tz: ZoneInfo, *, today: date) -> str:
    """A slot's start, short enough to offer several in one breath: "Wednesday 2 December, 9:00 AM"."""
    s = start.astimezone(tz)
    clock, half = _clock(s)
    return f"{_day(s, today)}, {clock} {half}"
