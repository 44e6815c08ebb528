"""Busy times from iCalendar data: parse, expand recurrences within limits, merge.

The data is a third party's (and possibly an attacker's), so every step is bounded: rules that
repeat more often than hourly (by FREQ, or by several BYMINUTE or BYSECOND values) are refused,
time-zone rules may produce only so many transitions, recurrences are expanded a week at a time
and counted as they come, and the merged busy intervals are counted. Any limit hit is `too_large`;
a cap never silently drops busy time. A rule that never matches (30 February) still makes dateutil
search until the year 9999, seconds per rule, UNTIL or not; that, and whatever else these limits
miss, is what the worker process's time budget is for (see feeds.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone
from dateutil import rrule  # type: ignore[import-untyped]  # no stubs installed; one call

from wix_meetings_mcp.bookings.local.feeds import ParseLimits
from wix_meetings_mcp.bookings.local.slots import Interval
from wix_meetings_mcp.bookings.outbound import OutboundError

_SUB_HOURLY = frozenset({"SECONDLY", "MINUTELY"})
_PAGE = timedelta(days=7)


def parse_busy(
    data: bytes, *, zone: ZoneInfo, start: datetime, end: datetime, limits: ParseLimits | None = None
) -> list[Interval]:
    """Merged busy intervals (UTC) of the feed overlapping [start, end).

    Transparent ("free") and cancelled events do not block; all-day events block whole days and
    floating times are read in the business zone. Raises OutboundError: `too_large` when a limit
    is hit, `not_icalendar` when the data is not a calendar.
    """
    limits = limits or ParseLimits()
    try:
        calendar = icalendar.Calendar.from_ical(data)
        if not isinstance(calendar, icalendar.Calendar):
            raise ValueError("not a VCALENDAR")
        _screen(calendar, limits)
        calendar = x_wr_timezone.to_standard(calendar)
        busy = _expand(calendar, zone, start, end, limits)
    except (OutboundError, MemoryError):
        raise
    # The parsers raise assorted exception types on malformed input from a third party; any of
    # them means the same thing. The original is dropped: it may quote the feed.
    except Exception:
        raise OutboundError("not_icalendar") from None
    merged = merge(busy)
    if len(merged) > limits.intervals:
        raise OutboundError("too_large")
    return merged


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined: what blocks slots, stored once."""
    merged: list[Interval] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _screen(calendar: icalendar.Calendar, limits: ParseLimits) -> None:
    """Refuse what would expand without end before any library expands it."""
    transitions = 0
    for component in calendar.walk():
        for rule in _rules(component):
            per_hour = len(rule.get("BYMINUTE", [0])) * len(rule.get("BYSECOND", [0]))
            if not _freq(rule).isdisjoint(_SUB_HOURLY) or per_hour > 1:
                raise OutboundError("too_large")
        if component.name not in ("STANDARD", "DAYLIGHT"):
            continue
        # icalendar turns a VTIMEZONE into transitions up to the year 9999; count them first.
        for rule in _rules(component):
            first = component.decoded("DTSTART")
            first = first if isinstance(first, datetime) else datetime.combine(first, time(0))
            text = rule.to_ical().decode()  # type: ignore[no-untyped-call]  # icalendar leaves it untyped
            rule_set = rrule.rrulestr(text, dtstart=first.replace(tzinfo=None))
            left = limits.tz_transitions - transitions
            transitions += sum(1 for _ in itertools.islice(iter(rule_set), left + 1))
            if transitions > limits.tz_transitions:
                raise OutboundError("too_large")


def _rules(component: icalendar.cal.Component) -> list[icalendar.vRecur]:
    rules: list[icalendar.vRecur] = []
    for name in ("RRULE", "EXRULE"):
        value = component.get(name)
        rules.extend(value if isinstance(value, list) else [] if value is None else [value])
    return rules


def _freq(rule: icalendar.vRecur) -> set[str]:
    return {str(f).upper() for f in rule.get("FREQ", [])}


def _expand(
    calendar: icalendar.Calendar, zone: ZoneInfo, start: datetime, end: datetime, limits: ParseLimits
) -> list[Interval]:
    """Occurrences a week at a time, so the count is checked long before a bomb is built."""
    query = recurring_ical_events.of(calendar)
    seen: set[tuple[str, datetime]] = set()
    busy: list[Interval] = []
    page = start
    while page < end:
        page_end = min(page + _PAGE, end)
        for event in query.between(page, page_end):
            event_start, event_end = _instant(event.start, zone), _instant(event.end, zone)
            key = (str(event.get("UID", "")), event_start)
            if key in seen:
                continue  # an event across the page boundary comes back on the next page
            seen.add(key)
            if len(seen) > limits.occurrences:
                raise OutboundError("too_large")
            if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
                continue
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if event_end > event_start:
                busy.append((event_start, event_end))
        page = page_end
    return busy


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), zone).astimezone(UTC)
