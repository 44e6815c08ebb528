"""Pure mapping between Wix payloads and the domain types (services → links, bookings → meetings...).

No I/O here. Local date-times on the wire (`2026-03-10T10:00:00`, no offset) are always read and
written together with an IANA zone; domain datetimes are always aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.model import (
    Attendee,
    CalendarConnection,
    CalendarProvider,
    Host,
    Link,
    Location,
    Meeting,
    MeetingStatus,
    Policy,
    Price,
)
from wix_meetings_mcp.bookings.wix import _payloads as p

MEETINGS_APP_ID = "6646a75c-2027-4f49-976c-58f3d713ed0f"
# eCommerce catalog provider for bookings (§11.2); whether Meetings bookings use this id is unverified.
BOOKINGS_CATALOG_APP_ID = "13d21c63-b5ec-5912-8397-c3a5ddb27a97"
REDIRECT_NAMESPACE = "@services/meetings"
REDIRECT_KEY = "deactivatedRedirectUrl"
ACTIVE_BOOKING_STATUSES = ("CREATED", "CONFIRMED", "PENDING", "WAITING_LIST")
_LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"

_CALENDAR_TYPES: dict[str, CalendarProvider] = {
    "GOOGLE": "google",
    "OUTLOOK": "outlook",
    "OFFICE_365": "outlook",
    "MICROSOFT": "outlook",
    "I_CAL": "apple",
}
_PROVIDER_WORDS: tuple[tuple[str, CalendarProvider], ...] = (
    ("google", "google"),
    ("outlook", "outlook"),
    ("microsoft", "outlook"),
    ("apple", "apple"),
    ("icloud", "apple"),
)
ConnectionStatus = Literal["connected", "pending", "error", "disconnected"]
_CONNECTION_STATUSES: dict[str, ConnectionStatus] = {
    "CONNECTED": "connected",
    "SYNCED": "connected",
    "SYNC_IN_PROGRESS": "connected",
    "DISCONNECTED": "disconnected",
    "ERROR": "error",
}


# ---- time ----


def local_string(moment: datetime, zone: ZoneInfo) -> str:
    """An aware datetime as Wix's local date-time in `zone`, e.g. `2026-03-10T10:00:00`."""
    return moment.astimezone(zone).strftime(_LOCAL_FORMAT)


def utc_string(moment: datetime) -> str:
    """An aware datetime as a UTC RFC 3339 string for WQL filters (`dates in filters must be UTC`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_local(value: str, zone: ZoneInfo) -> datetime:
    """A Wix date-time string: with an offset it is kept, without one it is local to `zone`."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---- services → links ----


Staff = Mapping[str, p.StaffMember]  # staff members by their resource id


def host_for(resource_id: str | None, staff: Staff, name: str | None = None) -> Host:
    """The host behind a staff resource id, named by its staff member id (the one id kind we hand out).

    A resource with no staff member behind it (not a person) gets an empty host id.
    """
    found = staff.get(resource_id or "")
    if found is not None:
        return Host(host_id=found.id, name=found.name or name or "Host", email=found.email)
    return Host(host_id="", name=name or ("Host" if resource_id else "No host assigned"))


def host_of(service: p.Service, staff: Staff) -> Host:
    """The single host of a service: `staffMemberIds` are resource ids (Verified correction 1)."""
    details = service.staff_member_details.staff_members if service.staff_member_details else []
    return host_for(resource_id_of(service), staff, details[0].name if details else None)


def resource_id_of(service: p.Service) -> str | None:
    """`staffMemberIds` holds staff *resource* ids (§4.2) — the id a booking slot needs."""
    return service.staff_member_ids[0] if service.staff_member_ids else None


def location_of(service: p.Service) -> Location:
    if service.conferencing.enabled:
        return Location(kind="video")
    if service.phone_call.enabled:
        return Location(kind="phone")
    if not service.locations:
        return Location(kind="customer_address")
    first = service.locations[0]
    if first.type == "BUSINESS":
        address = first.business.address if first.business else None
        return Location(kind="business_address", address=_address(address or first.calculated_address))
    if first.type == "CUSTOM":
        return Location(
            kind="custom_address", address=_address(first.custom.address if first.custom else None)
        )
    return Location(kind="customer_address")


def _address(address: p.Address | None) -> str | None:
    return (address.formatted_address or address.address_line) if address else None


def price_of(payment: p.Payment | None) -> Price | None:
    if payment is None or payment.rate_type not in ("FIXED", "VARIED"):
        return None
    if payment.rate_type == "FIXED" and payment.fixed:
        price, deposit = payment.fixed.price, payment.fixed.deposit
    elif payment.varied:
        price, deposit = payment.varied.default_price, payment.varied.deposit
    else:
        return None
    if price is None or price.value is None or price.value <= 0:
        return None
    with_deposit = deposit is not None and deposit.value is not None and payment.options.deposit is not False
    return Price(
        amount=price.value,
        currency=price.currency or "USD",
        deposit=deposit.value if with_deposit and deposit else None,
    )


def deposit_selected(payment: p.Payment | None) -> bool:
    """Verified correction 4: a fixed price with a deposit and no full-upfront option needs
    `depositSelected: true` on Create Booking."""
    price = price_of(payment)
    fixed = payment.fixed if payment else None
    return bool(price and price.deposit and fixed and not fixed.full_upfront_payment_allowed)


def policy_of(policy: p.BookingPolicy | None) -> Policy:
    if policy is None:
        return Policy()  # Meetings' default: cancellation until 24 hours before the start
    cancel = policy.cancellation_policy
    # A disabled cancellation policy cannot be expressed as a window: None here, and Wix's own
    # BOOKING_POLICY_VIOLATION (→ PolicyViolation) stops the cancel.
    window = (
        timedelta(minutes=cancel.latest_cancellation_in_minutes)
        if cancel and cancel.enabled and cancel.limit_latest_cancellation
        else None
    )
    late, early = policy.limit_late_booking_policy, policy.limit_early_booking_policy
    return Policy(
        cancellation_window=window if cancel else timedelta(hours=24),
        min_notice=timedelta(minutes=late.latest_booking_in_minutes)
        if late.enabled and late.latest_booking_in_minutes
        else None,
        max_advance=timedelta(minutes=early.earliest_booking_in_minutes)
        if early.enabled and early.earliest_booking_in_minutes
        else None,
    )


def durations_of(service: p.Service) -> tuple[int, ...]:
    constraints = service.schedule.availability_constraints
    durations = constraints.session_durations or [d.minutes for d in constraints.durations]
    return tuple(d for d in durations if d > 0) or (30,)


def redirect_url_of(service: p.Service) -> str | None:
    value = service.extended_fields.namespaces.get(REDIRECT_NAMESPACE, {}).get(REDIRECT_KEY)
    return value if isinstance(value, str) and value else None


def to_link(service: p.Service, staff: Staff) -> Link:
    return Link(
        link_id=service.id,
        name=service.name,
        slug=(service.main_slug.name if service.main_slug else None) or service.id,
        active=service.online_booking.enabled,
        redirect_url=redirect_url_of(service),
        durations_minutes=durations_of(service),
        buffer_minutes=service.schedule.availability_constraints.time_between_sessions,
        location=location_of(service),
        price=price_of(service.payment),
        host=host_of(service, staff),
        booking_url=service.urls.booking_page.url if service.urls and service.urls.booking_page else None,
        requires_approval=service.online_booking.require_manual_approval,
        # Wix keys contacts and its booking form on the email address.
        phone_only_allowed=False,
        policy=policy_of(service.booking_policy),
    )


def slot_location(service: p.Service) -> dict[str, Any]:
    """The service's location as Time Slots V2 spells it (BUSINESS | CUSTOM | CUSTOMER)."""
    if not service.locations:
        return {"locationType": "CUSTOMER"}
    first = service.locations[0]
    if first.type == "BUSINESS" and first.business and first.business.id:
        return {"locationType": "BUSINESS", "id": first.business.id}
    if first.type == "CUSTOM":
        custom_id = first.custom.id if first.custom else None
        return {"locationType": "CUSTOM", **({"id": custom_id} if custom_id else {})}
    return {"locationType": first.type if first.type in ("BUSINESS", "CUSTOM") else "CUSTOMER"}


def booking_location(service: p.Service) -> dict[str, Any]:
    """Booking slots use another enum (§5.3): BUSINESS→OWNER_BUSINESS, CUSTOM→OWNER_CUSTOM, CUSTOMER→CUSTOM."""
    as_slot = slot_location(service)
    kind = {"BUSINESS": "OWNER_BUSINESS", "CUSTOM": "OWNER_CUSTOM"}.get(as_slot["locationType"], "CUSTOM")
    location: dict[str, Any] = {"locationType": kind}
    if "id" in as_slot:
        location["id"] = as_slot["id"]
    if kind == "OWNER_CUSTOM" and service.locations and service.locations[0].custom:
        address = _address(service.locations[0].custom.address)
        if address:
            location["formattedAddress"] = address
    return location


# ---- bookings → meetings ----


def meeting_status(booking: p.Booking) -> MeetingStatus:
    if booking.status in ("CANCELED", "DECLINED"):
        return "cancelled"
    if booking.status == "CONFIRMED":
        return "confirmed"
    unpaid = booking.payment_status in ("UNDEFINED", "NOT_PAID", "FAILED")
    if booking.status == "CREATED" and booking.selected_payment_option == "ONLINE" and unpaid:
        return "payment_required"
    return "pending"


def _booking_location(location: p.SlotLocation | None) -> Location:
    kind = location.location_type if location else None
    if kind == "OWNER_BUSINESS":
        return Location(kind="business_address", address=location.formatted_address if location else None)
    if kind == "OWNER_CUSTOM":
        return Location(kind="custom_address", address=location.formatted_address if location else None)
    return Location(kind="customer_address")


def booking_times(booking: p.Booking, zone: ZoneInfo) -> tuple[datetime, datetime]:
    slot = booking.booked_entity.slot or p.BookingSlot()
    slot_zone = ZoneInfo(slot.timezone) if slot.timezone else zone
    start = aware(booking.start_date) if booking.start_date else None
    end = aware(booking.end_date) if booking.end_date else None
    if start is None and slot.start_date:
        start = parse_local(slot.start_date, slot_zone)
    if end is None and slot.end_date:
        end = parse_local(slot.end_date, slot_zone)
    if start is None or end is None:
        raise ValueError(f"booking {booking.id} has no start or end")
    return start, end


def to_meeting(
    booking: p.Booking,
    *,
    service: p.Service | None,
    staff: Staff,
    zone: ZoneInfo,
    now: datetime,
    join_url: str | None = None,
) -> Meeting:
    slot = booking.booked_entity.slot or p.BookingSlot()
    start, end = booking_times(booking, zone)
    contact = booking.contact_details
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    resource = slot.resource or p.BookingResource()
    resource_id = resource.id or (resource_id_of(service) if service else None)
    return Meeting(
        meeting_id=booking.id,
        link_id=slot.service_id or (service.id if service else ""),
        link_name=booking.booked_entity.title or (service.name if service else "Meeting"),
        status=meeting_status(booking),
        start=start,
        end=end,
        attendee=Attendee(name=name or contact.email or "Attendee", email=contact.email, phone=contact.phone),
        host=host_for(resource_id, staff, resource.name),
        location=location_of(service) if service else _booking_location(slot.location),
        join_url=join_url,
        created_at=aware(booking.created_date) if booking.created_date else now,
    )


# ---- external calendars ----


def provider_kind(calendar_type: str, name: str = "") -> CalendarProvider | None:
    if calendar_type in _CALENDAR_TYPES:
        return _CALENDAR_TYPES[calendar_type]
    lowered = name.lower()
    return next((kind for word, kind in _PROVIDER_WORDS if word in lowered), None)


def to_connection(
    connection: p.Connection, *, host_id: str, provider: CalendarProvider
) -> CalendarConnection:
    status = _CONNECTION_STATUSES.get(connection.status, "pending")
    sync = connection.sync_config
    return CalendarConnection(
        connection_id=connection.id,
        host_id=host_id,
        provider=provider,
        status=status,
        import_enabled=sync.list_event_from_calendars.enabled is not False,
        export_enabled=bool(sync.sync_to_calendar.enabled),
        account_email=connection.external_account_email,
    )
