"""find_slots: free times of a scheduling link, as signed slot ids the agent can book."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import Field

from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.context import ToolContext, deps
from wix_meetings_mcp.tools.links import LinkId
from wix_meetings_mcp.tools.results import SlotOut, SlotsResult
from wix_meetings_mcp.tools.timefmt import LATEST, PartOfDay, day_range, in_part_of_day, local

DEFAULT_DAYS = 7
MAX_DAYS = 92  # one call covers at most a quarter; page further with from_date

Limit = Annotated[int, Field(ge=1, le=100, description="Most items to return (1–100).")]
Cursor = Annotated[
    str | None, Field(default=None, max_length=200, description="next_cursor of the previous page.")
]
TimeZoneArg = Annotated[
    str | None,
    Field(
        default=None,
        max_length=64,
        description="IANA zone for dates in and times out, e.g. America/New_York. Default: the business zone.",
    ),
]
FromDate = Annotated[date | None, Field(default=None, description="First day, YYYY-MM-DD (inclusive).")]
ToDate = Annotated[date | None, Field(default=None, description="Last day, YYYY-MM-DD (inclusive).")]


async def find_slots(
    link_id: LinkId,
    ctx: ToolContext,
    from_date: FromDate = None,
    to_date: ToDate = None,
    time_zone: TimeZoneArg = None,
    duration_minutes: Annotated[
        int | None, Field(default=None, ge=1, le=1440, description="One of the link's durations_minutes.")
    ] = None,
    part_of_day: Annotated[
        PartOfDay | None,
        Field(
            default=None, description="morning (before 12:00), afternoon (12–17) or evening (after 17:00)."
        ),
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SlotsResult:
    """Find free times to book on a scheduling link, between from_date and to_date inclusive
    (default: the next 7 days), in time_zone (default: the business zone). Times already exclude
    the past, booked meetings, busy times of connected calendars and the link's notice rules.

    Offer a few to the person; when they pick one, pass its slot_id unchanged to book_meeting
    (or reschedule_meeting). If next_cursor is set, more slots follow: pass it back as cursor.
    """
    d = deps(ctx)
    tz = await d.zone_or_default(time_zone)
    first = from_date or local(d.clock(), tz).date()
    last = to_date or min(first, LATEST) + timedelta(days=DEFAULT_DAYS - 1)  # day_range refuses far dates
    start, end = day_range(first, last, tz)
    if (last - first).days >= MAX_DAYS:
        raise InvalidArgument(
            f"a range of at most {MAX_DAYS} days is searched per call",
            next_step="Narrow from_date..to_date, or page forward with a later from_date.",
        )
    link = await d.backend.get_link(link_id)
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
    # One more than a page tells whether another page follows; part_of_day filters afterwards.
    wanted = limit + 1 if part_of_day is None else None
    slots = await d.backend.find_slots(
        link, start=start, end=end, duration=timedelta(minutes=duration), limit=wanted
    )
    chosen = [s for s in slots if in_part_of_day(s.start, part_of_day, tz)]
    page = chosen[:limit]
    more = len(chosen) > limit
    return SlotsResult(
        link_id=link.link_id,
        time_zone=tz.key,
        duration_minutes=duration,
        slots=[
            SlotOut(slot_id=d.slot_ids.encode(s), start=local(s.start, tz), end=local(s.end, tz))
            for s in page
        ],
        next_cursor=str(int(page[-1].start.timestamp())) if more else None,
        hint=None
        if page
        else f"No free time from {first} to {last} ({tz.key}); try later dates or another duration.",
    )


def _cursor_time(cursor: str | None) -> datetime | None:
    if cursor is None:
        return None
    try:
        return datetime.fromtimestamp(int(cursor), UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument(
            "cursor is not one this tool returned", next_step="Pass next_cursor unchanged, or omit cursor."
        ) from None
