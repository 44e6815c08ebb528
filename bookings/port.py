"""The Backend port: the operations tools may call, one async method per use case.

Adapters (bookings/local, bookings/wix, bookings/meetergo) implement it; tools/ depends on
this protocol only. Every datetime crossing it is timezone-aware. Failures are raised as
bookings.errors types, never as vendor exceptions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bookings.model import (
    Account,
    BookingRequest,
    CalendarConnection,
    ConnectCalendarRequest,
    ConnectCalendarResult,
    Link,
    Meeting,
    MeetingPage,
    MeetingQuery,
    Slot,
)


class Backend(Protocol):
    @property
    def name(self) -> str:
        """`local`, `wix` or `meetergo`."""
        ...

    async def get_account(self) -> Account: ...

    async def list_links(self, *, include_inactive: bool = False) -> list[Link]: ...

    async def get_link(self, link_id: str) -> Link:
        """Raises NotFound."""
        ...

    async def find_slots(
        self, link: Link, *, start: datetime, end: datetime, duration: timedelta
    ) -> list[Slot]:
        """Free slots of `duration` starting in [start, end), sorted by start.

        Already excludes the past, meetings (with the link's buffer), busy times of connected
        calendars, and what the link's policy forbids (minimum notice, maximum advance).
        """
        ...

    async def is_slot_free(self, slot: Slot, *, ignore_meeting_id: str | None = None) -> bool:
        """Re-check one slot just before a write; `ignore_meeting_id` for a reschedule."""
        ...

    async def book(self, request: BookingRequest, *, meetings_limit: int | None) -> Meeting:
        """Create the meeting atomically.

        Raises SlotUnavailable if the slot was taken meanwhile, PlanLimitReached if
        `meetings_limit` non-cancelled meetings already exist (where the backend can check it
        in the same write).
        """
        ...

    async def reschedule(
        self, meeting_id: str, slot: Slot, *, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        """`override_policy`: tools/ already checked the window; a backend that enforces its own
        policy is told to skip it (the business owner asked)."""
        ...

    async def cancel(
        self, meeting_id: str, *, reason: str | None, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting: ...

    async def get_meeting(self, meeting_id: str) -> Meeting:
        """Raises NotFound."""
        ...

    async def list_meetings(self, query: MeetingQuery) -> MeetingPage: ...

    async def set_link_active(
        self, link_id: str, *, active: bool, redirect_url: str | None = None
    ) -> Link: ...

    async def connect_calendar(self, request: ConnectCalendarRequest) -> ConnectCalendarResult: ...

    async def list_calendar_connections(self, host_id: str | None = None) -> list[CalendarConnection]: ...
