"""Pure mapping between meetergo payloads and the domain types of bookings/model.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wix_meetings_mcp.bookings.attendees import same_attendee
from wix_meetings_mcp.bookings.errors import NotSupported
from wix_meetings_mcp.bookings.meetergo._payloads import (
    Appointment,
    AppointmentAttendee,
    Connection,
    MeetingType,
    User,
)
from wix_meetings_mcp.bookings.model import (
    Attendee,
    CalendarConnection,
    CalendarProvider,
    Host,
    Link,
    Location,
    LocationKind,
    Meeting,
    Policy,
)

QUEUE_PREFIX = "queue:"

_PHONE_CHANNELS = {"phone", "phone-incoming", "whatsapp"}
_CHANNEL_KINDS: dict[str, LocationKind] = {"local": "business_address", "resource": "business_address"}
_CHANNEL_KINDS.update({"local-attendee": "customer_address"})
_CHANNEL_KINDS.update(dict.fromkeys(_PHONE_CHANNELS, "phone"))
# Every other channel (google, zoom, teams*, connect, webex, whereby, jitsi, custom, ...) is a video link.

# doubleOptIn / requireHostConfirmation are strings whose enabled/disabled values are undocumented;
# only "useCompanySettings" is. Anything that does not read as off counts as on, except the
# company setting, which this API cannot read: the booking response is authoritative anyway.
_OFF = {"", "false", "off", "disabled", "disable", "no", "none", "never", "usecompanysettings"}

_PROVIDERS: dict[str, CalendarProvider] = {
    "google": "google",
    "outlook": "outlook",
    "exchange": "outlook",
    "icloud": "apple",
    "caldav": "apple",  # iCloud speaks CalDAV; the domain has no generic CalDAV provider
}


@dataclass(frozen=True)
class Scope:
    """Who availability and bookings are asked for: a round-robin queue or the single host."""

    queue_id: str | None = None
    host_id: str | None = None

    @property
    def domain_host_id(self) -> str:
        return f"{QUEUE_PREFIX}{self.queue_id}" if self.queue_id else (self.host_id or "")

    def params(self) -> dict[str, str | list[str]]:
        # The official client repeats the key for arrays; with one host both encodings coincide.
        return {"queueId": self.queue_id} if self.queue_id else {"hostIds": [self.host_id or ""]}


def scope_of(meeting_type: MeetingType) -> Scope:
    """queueId first, else userId as the single host (as meetergo's own MCP server resolves it)."""
    if meeting_type.queue_id:
        return Scope(queue_id=meeting_type.queue_id)
    if meeting_type.user_id:
        return Scope(host_id=meeting_type.user_id)
    raise NotSupported(
        f"meetergo meeting type {meeting_type.id} has no host or queue configured",
        next_step="Assign a host or a round-robin queue to the meeting type in meetergo.",
        link_id=meeting_type.id,
    )


def default_duration(meeting_type: MeetingType) -> int:
    info = meeting_type.meeting_info
    return (info.duration if info and info.duration else None) or meeting_type.duration or 30


def durations(meeting_type: MeetingType) -> tuple[int, ...]:
    first = default_duration(meeting_type)
    options = meeting_type.meeting_options
    allowed = options.allowed_durations if options and options.allowed_durations else []
    return (first, *sorted({d for d in allowed if d != first}))


def phone_only_allowed(meeting_type: MeetingType) -> bool:
    options = meeting_type.meeting_options
    nested = options.allow_phone_only_booking if options else None
    return bool(nested if nested is not None else meeting_type.allow_phone_only_booking)


def requires_approval(meeting_type: MeetingType) -> bool:
    options = meeting_type.meeting_options
    if options is None:
        return False
    return any(_on(v) for v in (options.double_opt_in, options.require_host_confirmation))


def _on(value: str | bool | None) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and value.strip().lower() not in _OFF


def location(channel: str | None, locations: list[object] | None = None) -> Location:
    kind = _CHANNEL_KINDS.get(channel or "", "video")
    address = None
    if kind == "business_address" and locations:
        first = locations[0]
        if isinstance(first, str):
            address = first
        elif isinstance(first, dict):
            value = first.get("address") or first.get("name")
            address = value if isinstance(value, str) else None
    return Location(kind=kind, address=address)


def host_of(scope: Scope | None, me: User | None) -> Host:
    if scope is None:
        return Host(host_id="unassigned", name="no host configured")
    if scope.queue_id:
        return Host(host_id=scope.domain_host_id, name="next available team member (round robin)")
    if me is not None and me.id == scope.host_id:
        return Host(host_id=me.id, name=user_name(me), email=me.email)
    return Host(host_id=scope.host_id or "", name=scope.host_id or "")


def user_name(user: User) -> str:
    given = " ".join(p for p in (user.given_name, user.family_name) if p)
    return user.full_name or given or user.email or user.id


def link_from(meeting_type: MeetingType, *, booking_url: str | None, me: User | None) -> Link:
    info = meeting_type.meeting_info
    try:
        scope: Scope | None = scope_of(meeting_type)
    except NotSupported:
        scope = None
    notice = meeting_type.booking_minimum
    return Link(
        link_id=meeting_type.id,
        name=(info.name if info and info.name else None) or meeting_type.name or meeting_type.slug,
        slug=meeting_type.slug,
        active=meeting_type.enabled is not False,
        durations_minutes=durations(meeting_type),
        buffer_minutes=(info.buffer_after or 0) if info else 0,
        location=location(info.channel if info else None, meeting_type.locations),
        host=host_of(scope, me),
        booking_url=meeting_type.booking_url or booking_url,
        requires_approval=requires_approval(meeting_type),
        phone_only_allowed=phone_only_allowed(meeting_type),
        # meetergo enforces no cancellation window on host-side cancels; availability already
        # applies its minimum notice and booking horizon.
        policy=Policy(cancellation_window=None, min_notice=timedelta(minutes=notice) if notice else None),
    )


def attendee_from(raw: AppointmentAttendee | None, guests: list[AppointmentAttendee]) -> Attendee:
    if raw is None:
        return Attendee(name="(no attendee)")
    parts = " ".join(p for p in (raw.firstname, raw.lastname) if p)
    return Attendee(
        guest_emails=tuple(g.email for g in guests if g.email),
        name=raw.fullname or parts or raw.email or raw.phone or "(no name)",
        email=raw.email or None,
        phone=raw.phone or None,
        time_zone=raw.timezone,
        language=raw.language,
    )


def meeting_from(
    appointment: Appointment, *, meeting_type: MeetingType | None, me: User | None, now: datetime
) -> Meeting:
    info = appointment.meeting_info
    type_info = meeting_type.meeting_info if meeting_type else None
    first = appointment.attendees[0] if appointment.attendees else None
    host_id = appointment.host_ids[0] if appointment.host_ids else None
    named = next((h for h in appointment.hosts if h.id == host_id), None)
    if named is not None:
        host = Host(host_id=named.id, name=named.full_name or named.given_name or named.id)
    elif host_id:
        host = host_of(Scope(host_id=host_id), me)
    else:
        has_scope = meeting_type is not None and bool(meeting_type.user_id or meeting_type.queue_id)
        host = host_of(scope_of(meeting_type) if meeting_type and has_scope else None, me)
    channel = (info.channel if info else None) or (type_info.channel if type_info else None)
    join_url = (appointment.hosting_info.meeting_link if appointment.hosting_info else None) or (
        info.meeting_link if info else None
    )
    cancel = appointment.cancel
    return Meeting(
        meeting_id=appointment.id,
        link_id=appointment.meeting_type_id or (meeting_type.id if meeting_type else ""),
        link_name=(info.name if info else None)
        or (type_info.name if type_info else None)
        or "meetergo meeting",
        status="cancelled" if appointment.cancelled else "confirmed",
        start=appointment.start,
        end=appointment.end,
        attendee=attendee_from(first, appointment.attendees[1:]),
        host=host,
        location=location(channel, meeting_type.locations if meeting_type else None),
        join_url=join_url,
        notes={k: str(v) for k, v in (first.notes or {}).items()} if first else {},
        created_at=appointment.created_at or now,
        cancel_reason=cancel.reason if cancel else None,
    )


def matches_attendee(appointment: Appointment, attendee: Attendee) -> bool:
    """Same person by the shared rule: equal email ignoring case, else equal E.164 phone digits."""
    return any(
        same_attendee(raw.email, raw.phone, attendee.email, attendee.phone) for raw in appointment.attendees
    )


def connection_from(raw: Connection, *, host_id: str) -> CalendarConnection | None:
    provider = _PROVIDERS.get(raw.provider.lower())
    if provider is None:
        return None  # ics, smart-we: no domain provider to name them by
    return CalendarConnection(
        connection_id=raw.id,
        host_id=host_id,
        provider=provider,
        status="disconnected" if raw.is_connected is False else "connected",
        import_enabled=bool(raw.selected_calendars) if raw.selected_calendars is not None else True,
        export_enabled=bool(raw.is_primary),
        account_email=raw.email,
    )
