"""Domain types shared by every backend: links, slots, meetings, hosts, plans, calendars.

Frozen pydantic models with timezone-aware datetimes; they cross the port in both directions.
Vendor ids are plain strings owned by the backend that issued them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

MeetingStatus = Literal["confirmed", "pending", "payment_required", "cancelled"]
LocationKind = Literal["video", "phone", "business_address", "custom_address", "customer_address"]
CalendarProvider = Literal["google", "outlook", "apple"]
MeetingFilter = Literal["upcoming", "past", "cancelled", "all"]
HostUserStatus = Literal["connected", "pending", "expired"]
# What a write did to tell people: sent (delivered before it returned), queued (an invitation waits in
# an outbox, ours or the vendor's), not_configured (no mail server, or nobody with an email
# address), off (notify_attendee was false).
Notification = Literal["sent", "queued", "not_configured", "off"]


class Domain(BaseModel):
    # defer_build: validators are built on first use, not at import (start-up is measured).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Host(Domain):
    host_id: str
    name: str
    email: str | None = None


class Location(Domain):
    """Where a meeting happens. A link has exactly one (a Meetings restriction)."""

    kind: LocationKind
    address: str | None = None  # business or custom address; None for video/phone/customer's address
    # A meeting's video room: the password and description of the account that gave its join_url.
    password: str | None = None
    description: str | None = None


class Price(Domain):
    amount: Decimal
    currency: str
    deposit: Decimal | None = None


class Policy(Domain):
    """Booking policy of a link. None disables a limit."""

    cancellation_window: timedelta | None = timedelta(hours=24)  # latest cancel/reschedule before start
    min_notice: timedelta | None = None  # earliest a slot may start after now
    max_advance: timedelta | None = None  # furthest ahead a slot may start


class Link(Domain):
    """A scheduling link: an APPOINTMENT service of the Meetings app with one host and one location."""

    link_id: str
    name: str
    slug: str
    active: bool = True
    redirect_url: str | None = None  # where a deactivated link sends visitors
    durations_minutes: tuple[int, ...] = (30,)
    buffer_minutes: int = 0
    location: Location
    price: Price | None = None
    host: Host
    booking_url: str | None = None
    requires_approval: bool = False  # bookings start as `pending` until the host approves
    phone_only_allowed: bool = True  # may an attendee book with a phone number and no email
    policy: Policy = Policy()

    @property
    def duration_minutes(self) -> int:
        return self.durations_minutes[0]


class Slot(Domain):
    """A bookable interval as offered by a backend; the tools sign it into a slot id."""

    link_id: str
    host_id: str
    start: AwareDatetime
    end: AwareDatetime
    location_kind: LocationKind


class Attendee(Domain):
    name: str
    email: str | None = None
    phone: str | None = None
    time_zone: str | None = None
    language: str | None = None
    guest_emails: tuple[str, ...] = ()


class BookingRequest(Domain):
    slot: Slot
    attendee: Attendee
    notes: dict[str, str] = Field(default_factory=dict)  # form answers, UTM keys
    invite_title: str | None = None
    invite_description: str | None = None
    notify_attendee: bool = True


class Meeting(Domain):
    meeting_id: str
    link_id: str
    link_name: str
    status: MeetingStatus
    start: AwareDatetime
    end: AwareDatetime
    attendee: Attendee
    host: Host
    location: Location
    join_url: str | None = None
    payment_url: str | None = None
    notes: dict[str, str] = Field(default_factory=dict)
    unsaved_notes: tuple[str, ...] = ()  # note keys the backend could not store with the booking
    invite_title: str | None = None
    invite_description: str | None = None
    created_at: AwareDatetime
    cancel_reason: str | None = None
    notification: Notification | None = None  # set on the result of a write only; None on reads


class MeetingQuery(Domain):
    start: AwareDatetime | None = None  # meetings starting at or after
    end: AwareDatetime | None = None  # meetings starting before
    link_id: str | None = None
    status: MeetingFilter = "upcoming"
    attendee_email: str | None = None
    limit: int = 20
    cursor: str | None = None  # backend-opaque


class MeetingPage(Domain):
    meetings: tuple[Meeting, ...]
    next_cursor: str | None = None


class Plan(Domain):
    name: str
    premium: bool
    meetings_limit: int | None  # None: unlimited


class Features(Domain):
    external_calendars: bool
    video_conferencing: bool
    paid_meetings: bool
    video_ready: bool = False  # a default video account exists, so video meetings get a join link


class VideoAccount(Domain):
    """A video-conferencing account: the business default (host_id None) or one host's own, which
    wins over the default. With `unique_rooms`, each meeting gets its own room under `url`."""

    host_id: str | None = None
    url: str
    password: str | None = None
    description: str | None = None
    unique_rooms: bool = False


class Business(Domain):
    name: str
    time_zone: str


class Account(Domain):
    backend: str
    business: Business
    plan: Plan
    features: Features
    meetings_used: int  # meetings counted against the plan: past and upcoming, not cancelled


# The outbound guard's reasons; `auth_failed`: the calendar refused the stored credentials when a
# meeting was exported; and the OAuth ones: the owner declined (access_denied), the authorization
# could not be completed (authorization_failed), access was withdrawn (revoked).
CalendarErrorReason = Literal[
    "unreachable",
    "refused_address",
    "too_large",
    "not_icalendar",
    "timeout",
    "auth_failed",
    "access_denied",
    "authorization_failed",
    "revoked",
]


class CalendarConnection(Domain):
    connection_id: str
    host_id: str
    provider: CalendarProvider
    status: Literal["connected", "pending", "error", "disconnected"]
    import_enabled: bool = True
    export_enabled: bool = False
    account_email: str | None = None
    busy_intervals: int | None = None  # busy times imported, where the backend knows
    # Why the last refresh failed (status "error"); the busy times of the last good one still count.
    error_reason: CalendarErrorReason | None = None


class ConnectCalendarRequest(Domain):
    provider: CalendarProvider
    host_id: str | None = None
    redirect_url: str | None = None
    email: str | None = None
    password: str | None = Field(default=None, repr=False)  # Apple app-specific password; never shown
    ics_url: str | None = None
    caldav_url: str | None = None  # a CalDAV server other than iCloud's
    calendar_id: str | None = None  # Outlook (OAuth): the calendar to import; None is the default one


class ConnectCalendarResult(Domain):
    status: Literal["connected", "pending", "authorization_required"]
    connection: CalendarConnection | None = None
    authorization_url: str | None = None
    next_step: str


class AuthorizationOutcome(Domain):
    """What an OAuth callback did: the connection as it now is, and where its owner goes next."""

    connection: CalendarConnection
    redirect_url: str | None = None


# --- set-up (the Admin port) ----------------------------------------------------------------------


class NewLink(Domain):
    """A scheduling link to create; one host and one location, as Meetings allows."""

    name: str
    location: Location
    durations_minutes: tuple[int, ...] = (30,)
    buffer_minutes: int = 0
    price: Price | None = None
    requires_approval: bool = False
    policy: Policy | None = None  # None: the site's default booking policy
    host_id: str | None = None  # None: the business's only host


class LinkChange(Domain):
    """Changes to a scheduling link; a None field stays as it is."""

    name: str | None = None
    durations_minutes: tuple[int, ...] | None = None
    buffer_minutes: int | None = None
    location: Location | None = None
    price: Price | None = None
    remove_price: bool = False  # make the link free
    requires_approval: bool | None = None


class HostUser(Domain):
    """A host connected to the site user (collaborator) who manages its meetings: Meetings needs one."""

    host: Host
    user_email: str
    status: HostUserStatus  # pending: an invitation was sent and is not accepted yet
