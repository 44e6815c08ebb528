"""Private pydantic models of the meetergo v4 JSON this adapter reads and writes.

Wire names follow shared/reference/meetergo-api.md; where sources disagree both spellings are
accepted (list shape, bookingType casing, allowPhoneOnlyBooking placement). Unknown fields are
ignored: the vendor adds fields freely.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from wix_meetings_mcp.bookings.errors import BackendUnavailable


def _aware(value: datetime) -> datetime:
    # startTime carries an offset in the docs; practitioner code treats bare times as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Instant = Annotated[datetime, AfterValidator(_aware)]


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


# --- users -------------------------------------------------------------------------------------


class User(Wire):
    id: str
    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    timezone: str | None = None


# --- meeting types -----------------------------------------------------------------------------


class MeetingInfo(Wire):
    name: str | None = None
    description: str | None = None
    duration: int | None = None
    channel: str | None = None
    buffer_after: int | None = None
    meeting_link: str | None = None


class MeetingOptions(Wire):
    allowed_durations: list[int] | None = None
    double_opt_in: str | bool | None = None
    require_host_confirmation: str | bool | None = None
    allow_phone_only_booking: bool | None = None


class MeetingType(Wire):
    """`GET /v4/meeting-type/{id}`, also a `GET /v4/meeting-type` list item (fewer fields)."""

    id: str
    slug: str = ""
    enabled: bool | None = None
    user_id: str | None = None
    queue_id: str | None = None
    booking_url: str | None = None
    booking_minimum: int | None = None
    locations: list[object] | None = None
    meeting_info: MeetingInfo | None = None
    meeting_options: MeetingOptions | None = None
    allow_phone_only_booking: bool | None = None  # top-level in the voice-bot recipe (S11)
    name: str | None = None  # stale `{meetingTypes: [...]}` list variant
    duration: int | None = None

    @property
    def complete(self) -> bool:
        """Whether this carries what a Link needs (list items usually do not)."""
        return self.enabled is not None and self.meeting_options is not None and self.meeting_info is not None


def meeting_type_list(data: object) -> list[MeetingType]:
    """A bare array (current) or `{"meetingTypes": [...]}` (stale variant)."""
    if isinstance(data, dict) and "meetingTypes" in data:
        data = data["meetingTypes"]
    if not isinstance(data, list):
        raise _unexpected("meeting type list")
    return [parse(MeetingType, item, what="meeting type") for item in data]


# --- availability ------------------------------------------------------------------------------


class SpotAppointment(Wire):
    total_spots: int | None = None
    taken_spots: int | None = None


class Spot(Wire):
    start_time: Instant
    appointment: SpotAppointment | None = None


class AvailabilityDate(Wire):
    date: str | None = None
    spots: list[Spot] = []


class Availability(Wire):
    timezone: str | None = None
    dates: list[AvailabilityDate] = []


# --- booking -----------------------------------------------------------------------------------


class BookingAttendee(Wire):
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    fullname: str | None = None
    phone: str | None = None
    receive_reminders: bool
    notes: dict[str, str]
    language: str | None = None
    timezone: str | None = None
    bringalong_emails: list[str] | None = None


class BookingBody(Wire):
    meeting_type_id: str
    start: str
    attendee: BookingAttendee
    host_ids: list[str] | None = None
    queue_id: str | None = None
    duration: int | None = None
    skip_notifications: bool | None = None
    phone_only_booking: bool | None = None
    ics_title: str | None = None
    ics_description: str | None = None


class BookingResult(Wire):
    appointment_id: str | None = None
    secret: str | None = None
    booking_type: str | None = None
    provisional_booking_id: str | None = None

    @property
    def pending(self) -> bool:
        # Any provisional marker means "not booked yet"; casing of bookingType differs by source.
        return self.provisional_booking_id is not None or self.booking_type is not None


# --- appointments ------------------------------------------------------------------------------


class AppointmentAttendee(Wire):
    id: str | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    fullname: str | None = None
    phone: str | None = None
    timezone: str | None = None
    language: str | None = None
    notes: dict[str, object] | None = None


class Cancel(Wire):
    action_at: Instant | None = None
    cancelled_at: Instant | None = None
    reason: str | None = None


class HostingInfo(Wire):
    meeting_link: str | None = None


class AppointmentHost(Wire):
    id: str
    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None


class Appointment(Wire):
    id: str
    start: Instant
    end: Instant
    is_cancelled: bool | None = None
    cancel: Cancel | None = None
    meeting_type_id: str | None = None
    host_ids: list[str] = []
    hosts: list[AppointmentHost] = []
    attendees: list[AppointmentAttendee] = []
    meeting_info: MeetingInfo | None = None
    hosting_info: HostingInfo | None = None
    created_at: Instant | None = None

    @property
    def cancelled(self) -> bool:
        # meetergo's own reading: cancelled if isCancelled or cancel.actionAt is set.
        return bool(self.is_cancelled) or (self.cancel is not None and self.cancel.action_at is not None)


class AppointmentPage(Wire):
    appointments: list[Appointment] = []
    total: int | None = None


class RescheduleBody(Wire):
    start: str
    ignore_availability: bool = False


class CancelBody(Wire):
    reason: str | None = None
    cancel_all: bool | None = None


class DeclineBody(Wire):
    reason: str | None = None


# --- calendar connections ----------------------------------------------------------------------


class AuthUrl(Wire):
    auth_url: str
    provider: str | None = None


class Connection(Wire):
    id: str
    provider: str
    email: str | None = None
    is_primary: bool | None = None
    is_connected: bool | None = None
    selected_calendars: list[object] | None = None


class Connections(Wire):
    connections: list[Connection] = []
    total: int | None = None


# --- parsing -----------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object, *, what: str) -> M:
    """Validate vendor JSON; a shape we cannot read is the backend failing us, not the agent."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _unexpected(what) from exc


def _unexpected(what: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"meetergo returned a {what} response this server cannot read",
        next_step="Try again later; if it persists the meetergo API may have changed.",
    )
