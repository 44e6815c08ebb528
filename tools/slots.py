"""find_slots: free times of a scheduling link, as signed slot ids the agent can book."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotFound
from wix_meetings_mcp.bookings.model import Link
from wix_meetings_mcp.bookings.port import Backend
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.context import Deps, ToolContext, deps
from wix_meetings_mcp.tools.results import SlotOut, SlotsResult
from wix_meetings_mcp.tools.timefmt import (
    LATEST,
    PartOfDay,
    day_range,
    in_part_of_day,
    in_window,
    local,
    slot_label,
)

DEFAULT_DAYS = 7
MAX_DAYS = 92  # one call covers at most a quarter; page further with from_date

Limit = Annotated[int, Field(ge=1, le=100, description="1 to 100.")]
Cursor = Annotated[str | None, Field(default=None, max_length=200, description="A next_cursor.")]
TimeZoneArg = Annotated[
    str | None,
    Field(
        default=None,
        max_length=64,
        description="IANA zone.",
    ),
]
FromDate = Annotated[date | None, Field(default=None, description="First day.")]
ToDate = Annotated[date | None, Field(default=None, description="Last day.")]


Clock = Annotated[
    str | None,
    Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local HH:MM in time_zone."),
]


async def find_slots(
    ctx: ToolContext,
    link_id: Annotated[
        str | None,
        Field(
            default=None,
            max_length=128,
            description="Optional with one active link.",
        ),
    ] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    time_zone: TimeZoneArg = None,
    duration_minutes: Annotated[
        int | None, Field(default=None, ge=1, le=1440, description="A link duration.")
    ] = None,
    part_of_day: Annotated[
        PartOfDay | None,
        Field(
            default=None,
            description="Before 12, 12–17, after 17.",
        ),
    ] = None,
    earliest: Annotated[Clock, Field(description="Not before HH:MM.")] = None,
    latest: Annotated[Clock, Field(description="Ending by HH:MM.")] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="1 to 100.")] = 10,
    cursor: Cursor = None,
) -> SlotsResult:
    """Free times of a link (default: next 7 days). Offer a few by `when`; book one by its slot_id,
    unchanged.
    """
    return await free_slots(
        deps(ctx),
        link_id=link_id,
        from_date=from_date,
        to_date=to_date,
        time_zone=time_zone,
        duration_minutes=duration_minutes,
        part_of_day=part_of_day,
        earliest=earliest,
        latest=latest,
        limit=limit,
        cursor=cursor,
    )


async def free_slots(
    d: Deps,
    *,
    link_id: str | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
    time_zone: str | None = None,
    duration_minutes: int | None = None,
    part_of_day: PartOfDay | None = None,
    earliest: str | None = None,
    latest: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> SlotsResult:
    """The times offered to anyone (an agent's find_slots, the scheduling page), as signed slot ids."""
    view = await d.view(time_zone)
    tz = view.tz
    first = from_date or view.today
    last = to_date or min(first, LATEST) + timedelta(days=DEFAULT_DAYS - 1)  # day_range refuses far dates
    start, end = day_range(first, last, tz)
    if (last - first).days >= MAX_DAYS:
        raise InvalidArgument(
            f"a range of at most {MAX_DAYS} days is searched per call",
            next_step="Narrow from_date..to_date, or page forward with a later from_date.",
        )
    window = _clock_window(earliest, latest)
    link = await _the_link(d.backend, link_id)
    guards.link_active(link)
    duration = duration_minutes or link.duration_minutes
    if duration not in link.durations_minutes:
        raise InvalidArgument(
            f"duration_minutes must be one of {list(link.durations_minutes)} for this link",
            next_step="Omit duration_minutes to use the link's default.",
        )
    after = _cursor_time(cursor)
    if after is not None:
        start = max(start, after + timedelta(seconds=1))
    filtered = part_of_day is not None or window is not None
    # One more than a page tells whether another page follows; filters apply afterwards.
    slots = await d.backend.find_slots(
        link,
        start=start,
        end=end,
        duration=timedelta(minutes=duration),
        limit=None if filtered else limit + 1,
    )
    chosen = [
        s for s in slots if in_part_of_day(s.start, part_of_day, tz) and in_window(s.start, s.end, window, tz)
    ]
    page = chosen[:limit]
    hint = None if page else _empty_hint(first, last, tz, len(slots), part_of_day, earliest, latest)
    age = None if d.feeds is None else await d.feeds.import_age(link.host.host_id)
    if age is not None:
        stale = (
            f"The host's calendar was last imported {_spoken_age(age)} ago (its refresh is late); "
            "changes made there since may not show."
        )
        hint = stale if hint is None else f"{stale} {hint}"
    return SlotsResult(
        link_id=link.link_id,
        time_zone=tz.key,
        duration_minutes=duration,
        slots=[
            SlotOut(
                slot_id=d.slot_ids.encode(s),
                start=local(s.start, tz),
                end=local(s.end, tz),
                when=slot_label(s.start, tz, today=view.today),
            )
            for s in page
        ],
        next_cursor=str(int(page[-1].start.timestamp())) if len(chosen) > limit else None,
        hint=hint,
    )


async def _the_link(backend: Backend, link_id: str | None) -> Link:
    if link_id is not None:
        return await backend.get_link(link_id)
    active = await backend.list_links(include_inactive=False)
    if len(active) == 1:
        return active[0]
    if not active:
        raise NotFound(
            "the business has no active scheduling link",
            next_step="Call list_scheduling_links with include_inactive=true, then activate_scheduling_link.",
        )
    names = ", ".join(f"{ln.name!r} ({ln.link_id})" for ln in active[:5])
    raise InvalidArgument(
        f"link_id is needed: {len(active)} links are active: {names}",
        next_step="Pass the link_id of the one the person wants.",
    )


def _clock_window(earliest: str | None, latest: str | None) -> tuple[time, time] | None:
    if earliest is None and latest is None:
        return None
    low = time.fromisoformat(earliest) if earliest else time(0)
    high = time.fromisoformat(latest) if latest else time(23, 59, 59)
    if high <= low:
        raise InvalidArgument(f"latest {latest} is not after earliest {earliest}", next_step="Swap them.")
    return low, high


def _spoken_age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    if minutes < 48 * 60:
        return f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"


def _empty_hint(
    first: date,
    last: date,
    tz: ZoneInfo,
    unfiltered: int,
    part_of_day: PartOfDay | None,
    earliest: str | None,
    latest: str | None,
) -> str:
    span = f"from {first} to {last} ({tz.key})"
    filters = [
        f"{name}={value}"
        for name, value in (("part_of_day", part_of_day), ("earliest", earliest), ("latest", latest))
        if value
    ]
    if unfiltered and filters:
        return (
            f"{unfiltered} times are free {span}, but none matches {' and '.join(filters)}; "
            "widen or drop that filter."
        )
    return f"No free time {span}; try later dates or another duration."


def _cursor_time(cursor: str | None) -> datetime | None:
    if cursor is None:
        return None
    try:
        return datetime.fromtimestamp(int(cursor), UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument(
            "cursor is not one this tool returned", next_step="Pass next_cursor unchanged, or omit cursor."
        ) from None
