"""Busy times from an iCalendar feed: how the local engine "connects" an external calendar.

The local engine cannot run Google/Outlook OAuth or Apple CalDAV; it reads the calendar's secret
iCal address instead. Those addresses are credentials (anyone holding one reads the calendar), so
no error raised here ever includes the address, and exceptions are not chained onto ours because
httpx puts the URL into its own messages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

import anyio
import httpx
import icalendar
import recurring_ical_events
import x_wr_timezone

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotSupported
from wix_meetings_mcp.bookings.local.slots import Interval

MAX_FEED_BYTES = 10 * 1024 * 1024
_TIMEOUT = httpx.Timeout(30.0)
_CHECK = "Check the calendar's secret iCal address and connect again."


def normalize_feed_url(url: str) -> str:
    """webcal:// is https:// in disguise (Apple, Outlook); anything else but file/http(s) is refused."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise InvalidArgument("The calendar address is not a valid URL.", next_step=_CHECK) from None
    if scheme == "webcal":
        return "https" + url.strip()[len(scheme) :]
    if scheme not in ("https", "http", "file"):
        raise InvalidArgument(
            "The calendar address must start with https://, webcal://, http:// or file://.", next_step=_CHECK
        )
    return url.strip()


async def fetch_busy(
    url: str, *, http: httpx.AsyncClient | None, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """Busy intervals (UTC) of the feed at `url` overlapping [start, end)."""
    url = normalize_feed_url(url)
    data = await (_read_file(url) if url.lower().startswith("file:") else _read_http(url, http))
    return await anyio.to_thread.run_sync(lambda: parse_busy(data, zone=zone, start=start, end=end))


async def _read_file(url: str) -> bytes:
    path = Path(url2pathname(urlsplit(url).path))

    def read() -> bytes:
        with path.open("rb") as feed:
            return feed.read(MAX_FEED_BYTES + 1)

    try:
        data = await anyio.to_thread.run_sync(read)
    except OSError as exc:
        raise InvalidArgument(
            f"Could not read the calendar file ({type(exc).__name__}).", next_step=_CHECK
        ) from None
    return _capped(data)


async def _read_http(url: str, http: httpx.AsyncClient | None) -> bytes:
    if http is None:
        raise NotSupported(
            "This server was started without an HTTP client, so it cannot fetch calendar feeds.",
            next_step="Restart the server with an HTTP client, or use a file:// address.",
        )
    try:
        async with http.stream("GET", url, follow_redirects=True, timeout=_TIMEOUT) as response:
            if response.status_code >= 400:
                raise InvalidArgument(
                    f"The calendar address answered HTTP {response.status_code}.", next_step=_CHECK
                )
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    break  # stop downloading; _capped refuses it
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # InvalidURL is not an HTTPError
        raise InvalidArgument(
            f"Could not fetch the calendar feed ({type(exc).__name__}).", next_step=_CHECK
        ) from None
    return _capped(bytes(body))


def _capped(data: bytes) -> bytes:
    if len(data) > MAX_FEED_BYTES:
        raise InvalidArgument("The calendar feed is larger than 10 MB.", next_step="Use a smaller calendar.")
    return data


def parse_busy(data: bytes, *, zone: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """Expand the feed's events over [start, end) into busy intervals.

    Transparent ("free") and cancelled events do not block; all-day events block whole days and
    floating times are read in the business zone.
    """
    try:
        calendar = icalendar.Calendar.from_ical(data)
        if not isinstance(calendar, icalendar.Calendar):
            raise ValueError("not a VCALENDAR")
        calendar = x_wr_timezone.to_standard(calendar)
        events = recurring_ical_events.of(calendar).between(start, end)
        busy: list[Interval] = []
        for event in events:
            if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
                continue
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            event_start, event_end = _instant(event.start, zone), _instant(event.end, zone)
            if event_end > event_start:
                busy.append((event_start, event_end))
    # The parsers raise assorted exception types on malformed input from a third party; any of
    # them means the same thing to the agent. The original is dropped: it may quote the feed.
    except Exception as exc:
        raise InvalidArgument(
            f"The calendar feed is not valid iCalendar data ({type(exc).__name__}).", next_step=_CHECK
        ) from None
    return sorted(busy)


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), zone).astimezone(UTC)
