"""Pure slot computation for the local engine: working hours minus busy time, minus policy limits.

No I/O and no clock: the caller passes `now`. Working hours are local wall-clock windows in the
business zone, keyed by weekday (0 = Monday, as `date.weekday()`); a window ending at 00:00 runs
to the end of its day. Slot starts align to a grid of `duration` from each window's start.

Daylight-saving rules (matching how a person reads a wall clock):
- a wall time that does not exist (spring-forward gap) is skipped;
- a wall time that happens twice (fall-back) is offered once, at its first occurrence (fold=0);
- a slot lasts `duration` in absolute time and must end by the first instant the wall clock
  shows the window's end.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Window = tuple[time, time]
WorkingHours = Mapping[int, Sequence[Window]]
Interval = tuple[datetime, datetime]

_MIDNIGHT = time(0)


def free_slots(
    *,
    working_hours: WorkingHours,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    duration: timedelta,
    busy: Iterable[Interval],
    buffer: timedelta = timedelta(0),
    now: datetime,
    min_notice: timedelta | None = None,
    max_advance: timedelta | None = None,
    limit: int | None = None,
) -> list[Interval]:
    """Free slots of `duration` whose start lies in [start, end), sorted by start; with `limit`,
    the first `limit` of them, and no day past the one that fills the page is walked.

    A candidate is dropped when it overlaps a busy interval widened by `buffer` on both sides,
    starts at or before `now`, starts before `now + min_notice` or after `now + max_advance`.
    """
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if any(value.tzinfo is None for value in (start, end, now)):
        raise ValueError("datetimes must be timezone-aware")
    # Everything is compared in UTC: Python compares two datetimes sharing a tzinfo by wall time
    # and ignores `fold`, which would misorder the repeated hour of a fall-back day.
    start, end, now = start.astimezone(UTC), end.astimezone(UTC), now.astimezone(UTC)
    earliest = max(start, now + min_notice) if min_notice is not None else start
    latest = now + max_advance if max_advance is not None else None
    if latest is not None:
        end = min(end, latest + timedelta(microseconds=1))  # no days are walked past the horizon
    blocked = _merge(busy, buffer)
    block_ends = [b_end for _, b_end in blocked]

    found: set[Interval] = set()
    for day in _local_dates(max(start, now), end, zone):
        for window_start, window_end in sorted(working_hours.get(day.weekday(), ())):
            for slot_start, slot_end in _candidates(day, window_start, window_end, duration, zone):
                if slot_start < earliest or slot_start >= end or slot_start <= now:
                    continue
                if _overlaps(blocked, block_ends, slot_start, slot_end):
                    continue
                found.add((slot_start, slot_end))
        if limit is not None and len(found) >= limit:
            # Days are walked in order and a slot of a later day never starts before one of an
            # earlier day (a day's slots may end past midnight, but start within it): the page is full.
            break
    return [(s.astimezone(zone), e.astimezone(zone)) for s, e in sorted(found)[:limit]]


def _local_dates(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    if end <= start:
        return []
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _candidates(
    day: date, window_start: time, window_end: time, duration: timedelta, zone: ZoneInfo
) -> Iterable[Interval]:
    """Grid starts of one window, built in wall-clock time, yielded as UTC intervals."""
    wall = datetime.combine(day, window_start)
    wall_end = datetime.combine(day + timedelta(days=1) if window_end == _MIDNIGHT else day, window_end)
    if wall_end <= wall:
        return
    limit = first_instant_at(wall_end, zone).astimezone(UTC)
    opening = wall.replace(tzinfo=zone)
    if _exists(opening) and opening.utcoffset() == limit.astimezone(zone).utcoffset():
        # No clock change inside the window (the common case): step in UTC, no per-slot checks.
        slot_start = opening.astimezone(UTC)
        while slot_start + duration <= limit:
            yield slot_start, slot_start + duration
            slot_start += duration
        return
    while wall + duration <= wall_end:
        local = wall.replace(tzinfo=zone)  # fold=0: the first of two repeated wall times
        wall += duration
        if not _exists(local):
            continue
        slot_start = local.astimezone(UTC)
        if slot_start + duration <= limit:
            yield slot_start, slot_start + duration


def _exists(local: datetime) -> bool:
    """False for a wall time inside a spring-forward gap: it does not survive a UTC round trip."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def first_instant_at(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant at which the zone's wall clock reads `wall` or later.

    Ambiguous times resolve to their first occurrence; times in a gap to the transition itself.
    """
    local = wall.replace(tzinfo=zone, fold=0)
    if _exists(local):
        return local
    # In a gap fold=1 maps to an instant before the transition and fold=0 to one after it; the
    # transition is where the UTC offset changes between them, found by bisecting whole seconds.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(local.timestamp())
    before = datetime.fromtimestamp(low, UTC).astimezone(zone).utcoffset()
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == before:
            low = mid
        else:
            high = mid
    return datetime.fromtimestamp(high, UTC).astimezone(zone)


def _merge(busy: Iterable[Interval], buffer: timedelta) -> list[Interval]:
    """Widen by the buffer, sort once and merge, so each lookup is one bisection."""
    widened = sorted(
        (b_start.astimezone(UTC) - buffer, b_end.astimezone(UTC) + buffer)
        for b_start, b_end in busy
        if b_end > b_start
    )
    merged: list[Interval] = []
    for b_start, b_end in widened:
        if merged and b_start <= merged[-1][1]:
            if b_end > merged[-1][1]:
                merged[-1] = (merged[-1][0], b_end)
        else:
            merged.append((b_start, b_end))
    return merged


def _overlaps(blocked: list[Interval], block_ends: list[datetime], start: datetime, end: datetime) -> bool:
    # The merged intervals are disjoint and sorted, so their ends are sorted too: the first one
    # ending after `start` is the only one that can overlap [start, end).
    i = bisect_right(block_ends, start)
    return i < len(blocked) and blocked[i][0] < end
