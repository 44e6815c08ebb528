"""Building the `POST /v4/booking` body from a BookingRequest, and meetings echoed from a request.

It maps and does not decide: contact details, phone-only permission, guest and invite limits and
durations are checked once in tools/, and what meetergo itself refuses comes back as its 400.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.meetergo import _mapping as mapping
from wix_meetings_mcp.bookings.meetergo._payloads import BookingAttendee, BookingBody, MeetingType, User
from wix_meetings_mcp.bookings.model import BookingRequest, Meeting, MeetingStatus


def minutes(duration: timedelta) -> int:
    seconds = int(duration.total_seconds())
    if seconds <= 0 or seconds % 60:
        raise InvalidArgument("a duration must be a positive whole number of minutes")
    return seconds // 60


def booking_body(request: BookingRequest, meeting_type: MeetingType) -> BookingBody:
    attendee, slot = request.attendee, request.slot
    phone_only = not attendee.email and bool(attendee.phone)
    length = minutes(slot.end - slot.start)
    scope = mapping.scope_of(meeting_type)
    name = attendee.name.strip()
    first, _, last = name.partition(" ")
    return BookingBody(
        meeting_type_id=meeting_type.id,
        start=slot.start.isoformat(),
        attendee=BookingAttendee(
            email=attendee.email,
            firstname=first or None,
            lastname=last.strip() or None,
            fullname=name or None,
            phone=attendee.phone,
            receive_reminders=request.notify_attendee,
            notes=dict(request.notes),  # form answers and utm_* keys, stored on the attendee
            language=attendee.language,
            timezone=attendee.time_zone,
            bringalong_emails=list(attendee.guest_emails) or None,
        ),
        host_ids=None if scope.queue_id else [scope.host_id or ""],
        queue_id=scope.queue_id,
        duration=None if length == mapping.default_duration(meeting_type) else length,
        skip_notifications=None if request.notify_attendee else True,
        phone_only_booking=True if phone_only else None,
        ics_title=request.invite_title,
        ics_description=request.invite_description,
    )


def echo(
    meeting_id: str,
    meeting_type: MeetingType,
    request: BookingRequest,
    *,
    status: MeetingStatus,
    me: User | None,
    now: datetime,
) -> Meeting:
    """A meeting built from the request: the booking response carries no times."""
    link = mapping.link_from(meeting_type, booking_url=None, me=me)
    return Meeting(
        meeting_id=meeting_id,
        link_id=meeting_type.id,
        link_name=link.name,
        status=status,
        start=request.slot.start,
        end=request.slot.end,
        attendee=request.attendee,
        host=link.host,
        location=link.location,
        notes=dict(request.notes),
        invite_title=request.invite_title,
        invite_description=request.invite_description,
        created_at=now,
    )


def with_request(meeting: Meeting, request: BookingRequest) -> Meeting:
    """Adds what an appointment read-back does not carry (invite text; notes if missing)."""
    return meeting.model_copy(
        update={
            "notes": meeting.notes or dict(request.notes),
            "invite_title": request.invite_title,
            "invite_description": request.invite_description,
        }
    )
