"""The Backend port: the operations tools may call, one async method per use case.

Adapters (bookings/local, bookings/wix, bookings/meetergo) implement it; tools/ depends on
this protocol only. Set-up (the `admin` toolset) is a second protocol, `Admin`, reached as
`Backend.admin`: None where the backend has no such API. Every datetime crossing it is
timezone-aware. Failures are raised as bookings.errors types, never as vendor exceptions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Protocol

from wix_meetings_mcp.bookings.model import (
    Account,
    AuthorizationOutcome,
    BookingRequest,
    CalendarConnection,
    ConnectCalendarRequest,
    ConnectCalendarResult,
    Host,
    HostUser,
    Link,
    LinkChange,
    Meeting,
    MeetingPage,
    MeetingQuery,
    NewLink,
    Slot,
    VideoAccount,
)
from wix_meetings_mcp.bookings.receipts import Receipt


class Admin(Protocol):
    """Set-up and configuration from the Meetings sample flows. Guardrails (premium, restrictions,
    sane values) are checked in tools/ before these are called."""

    async def provision_meetings(self) -> Link:
        """Provision Meetings as Provision Meetings App does (safe to repeat); the default link."""
        ...

    async def create_scheduling_link(self, request: NewLink) -> Link:
        """Raises NotFound for an unknown host, NotSupported for what the backend cannot set."""
        ...

    async def update_scheduling_link(self, link_id: str, change: LinkChange) -> Link:
        """Raises NotFound; several changes may be separate writes on a remote backend."""
        ...

    async def create_host(self, *, name: str, email: str | None = None) -> Host:
        """A new host, available during business hours until told otherwise."""
        ...

    async def connect_host(self, host_id: str, *, email: str | None = None) -> HostUser:
        """Connect the host to the site collaborator with `email` (default: the host's own)."""
        ...

    async def disconnect_calendar_connection(self, connection: CalendarConnection) -> CalendarConnection:
        """Stop syncing the calendar; the connection comes back `disconnected`, also if it already was."""
        ...

    async def video_accounts(self) -> list[VideoAccount]:
        """The default account (host_id None) and the hosts' own; NotSupported where the backend has none."""
        ...

    async def connect_video_account(self, account: VideoAccount) -> VideoAccount:
        """Set the default (host_id None) or a host's account, replacing the one there."""
        ...

    async def disconnect_video_account(self, host_id: str | None) -> VideoAccount | None:
        """Remove it; the removed account, or None if there was none."""
        ...


class CalendarFeeds(Protocol):
    """What only the local engine keeps of calendars: import ages and each host's export feed."""

    async def import_age(self, host_id: str) -> timedelta | None:
        """The age of the host's oldest import when it is older than the refresh interval, else None."""
        ...

    async def export_secret(self, host_id: str | None, *, rotate: bool = False) -> tuple[str, str]:
        """(host id, the secret in the host's export feed address); `rotate` replaces it. NotFound."""
        ...

    async def export_feed(self, secret: str) -> tuple[Host, list[tuple[Meeting, int]]] | None:
        """The host a secret names and their meetings, each with its iCalendar SEQUENCE; None: none."""
        ...


class CalendarAuthorizations(Protocol):
    """Calendars the server itself connects by OAuth (the local engine): the provider's callback."""

    async def finish_authorization(
        self,
        provider: Literal["google", "outlook"],
        *,
        state: str | None,
        code: str | None,
        error: str | None,
    ) -> AuthorizationOutcome:
        """Complete the pending connection `state` names. InvalidArgument when the state is bad,
        expired or already used (nothing is stored); a refusal at the provider turns it `error`."""
        ...


class Backend(Protocol):
    @property
    def name(self) -> str:
        """`local`, `wix` or `meetergo`."""
        ...

    @property
    def admin(self) -> Admin | None:
        """Set-up operations, or None when the backend offers none (tools answer not_supported)."""
        ...

    async def get_account(self) -> Account: ...

    async def list_links(self, *, include_inactive: bool = False) -> list[Link]: ...

    async def get_link(self, link_id: str) -> Link:
        """Raises NotFound."""
        ...

    async def find_slots(
        self, link: Link, *, start: datetime, end: datetime, duration: timedelta, limit: int | None = None
    ) -> list[Slot]:
        """Free slots of `duration` starting in [start, end), sorted by start; the first `limit` of
        them where given (a backend may return more, never fewer).

        Already excludes the past, meetings (with the link's buffer), busy times of connected
        calendars, and what the link's policy forbids (minimum notice, maximum advance).
        """
        ...

    async def is_slot_free(self, slot: Slot, *, ignore_meeting_id: str | None = None) -> bool:
        """Re-check one slot just before a write; `ignore_meeting_id` for a reschedule."""
        ...

    async def book(
        self, request: BookingRequest, *, meetings_limit: int | None, receipt: Receipt | None = None
    ) -> Meeting:
        """Create the meeting atomically.

        Raises SlotUnavailable if the slot was taken meanwhile, PlanLimitReached if
        `meetings_limit` non-cancelled meetings already exist (where the backend can check it
        in the same write). A `receipt` is kept in the write's own transaction (raising `Repeated`
        when its key already holds a result); only the local engine on the server's own database gets one.
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

    async def update_calendar_sync(
        self, connection_id: str, *, import_enabled: bool | None, export_enabled: bool | None
    ) -> CalendarConnection:
        """Switch importing busy times / exporting meetings; None leaves it. NotFound, NotSupported."""
        ...
