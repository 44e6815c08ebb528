"""What the Google and Microsoft calendar clients share: one sync round's changes, the failures a
caller acts on, and how our own exported meetings are recognised.

A meeting is written to a provider calendar (exporters.ExportEvent) with the UID of its invitations
(calendar_event.meeting_uid); an event carrying it is ours and never blocks time, so an export
cannot block its own slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wix_meetings_mcp.bookings.calendar_event import UID_SUFFIX
from wix_meetings_mcp.bookings.local.exporters import ExportEvent

# An access token for the connection; True: refresh it first (the provider refused the last one).
Bearer = Callable[[bool], Awaitable[str]]


def is_ours(uid: object) -> bool:
    return isinstance(uid, str) and uid.endswith(UID_SUFFIX)


@dataclass(frozen=True)
class BusyEvent:
    event_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Changes:
    """One sync round. `full`: every event of the window is named, so any other stored one is gone."""

    full: bool
    busy: list[BusyEvent] = field(default_factory=list)  # new or changed events that block time
    removed: list[str] = field(default_factory=list)  # ids gone, cancelled, free, or our own exports
    cursor: str | None = None  # where the next round starts; None: the next round is a full one

    def add(self, event_id: str, start: datetime | None, end: datetime | None) -> None:
        """An event that blocks [start, end); one without a usable span blocks nothing (removed)."""
        if start is None or end is None or end <= start:
            self.removed.append(event_id)
        else:
            self.busy.append(BusyEvent(event_id, start, end))


class SyncExpired(Exception):
    """The provider no longer knows the cursor (Google 410, Graph 410 / syncStateNotFound): sync fully."""


class AccessRevoked(Exception):
    """The provider refuses the connection's access even with a fresh token (401/403)."""


class CalendarClient(Protocol):
    """One connected provider calendar (GoogleCalendar, GraphCalendar): read changes, write events."""

    async def changes(self, cursor: str | None, start: datetime, end: datetime) -> Changes:
        """Changes since `cursor`, or every event overlapping [start, end) when it is None."""
        ...

    async def create(self, event: ExportEvent) -> str:
        """Write the event (a repeat finds the first one); returns the provider's event id."""
        ...

    async def update(self, event_id: str, event: ExportEvent) -> None: ...

    async def delete(self, event_id: str) -> None:
        """Remove the event; one already gone is not an error."""
        ...

    async def find(self, uid: str) -> str | None:
        """The provider's id of our event with this UID, if it exists."""
        ...


class EventGone(Exception):
    """The event to update is not in the calendar any more (deleted there): create it again."""


class EventRefused(Exception):
    """The provider refused the write for good (a 4xx other than throttling): repeating it will not help."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def parse_time(value: str, zone: tzinfo) -> datetime:
    """An RFC 3339 / ISO 8601 date-time; one without an offset is wall time in `zone`."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def known_zone(name: object, default: tzinfo) -> tzinfo:
    """The IANA zone a provider names, else `default` (Windows zone names are not IANA ones)."""
    if isinstance(name, str) and name:
        if name.upper() == "UTC":
            return UTC
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default
