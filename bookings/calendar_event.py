"""One meeting as an iCalendar VEVENT: the one place its UID, times, summary and status are written.

Every copy of a meeting shares it: the attendee's .ics download, the host's export feed, and the
event exported into the host's own CalDAV calendar; invitations use the same UID, so a calendar
that already holds the meeting updates it instead of adding another. The host's copy in a Google
or Outlook calendar (JSON, not iCalendar) takes its UID, summary, description and place from here
too. icalendar is imported on first use: building the server never pays for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from wix_meetings_mcp.bookings.model import Meeting

if TYPE_CHECKING:
    import icalendar

_STATUS = {"confirmed": "CONFIRMED", "pending": "TENTATIVE", "payment_required": "TENTATIVE",
           "cancelled": "CANCELLED"}  # fmt: skip


UID_SUFFIX = "@meetings-mcp"  # an event whose UID ends so is a copy of one of our meetings


def meeting_uid(meeting_id: str) -> str:
    """Stable for the life of the meeting (RFC 5545 3.8.4.7), the same in every copy and message."""
    return f"{meeting_id}{UID_SUFFIX}"


def host_summary(meeting: Meeting) -> str:
    """The title of the host's copy: which link, and who booked it."""
    return f"{meeting.link_name}: {meeting.attendee.name}"


def host_description(meeting: Meeting) -> str:
    """How the host reaches whoever booked ("" when they left neither email nor phone)."""
    contact = [c for c in (meeting.attendee.email, meeting.attendee.phone) if c]
    return f"{meeting.attendee.name}: {', '.join(contact)}" if contact else ""


def meeting_place(meeting: Meeting) -> str | None:
    """Where to meet: the video link, else the address (None for a phone call)."""
    return meeting.join_url or meeting.location.address


def meeting_event(meeting: Meeting, summary: str, stamp: datetime) -> icalendar.Event:
    """The VEVENT every copy shares: UID, times (UTC), summary, status, and where to meet."""
    import icalendar

    event = icalendar.Event()
    event.add("uid", meeting_uid(meeting.meeting_id))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", meeting.start.astimezone(UTC))
    event.add("dtend", meeting.end.astimezone(UTC))
    event.add("summary", summary)
    event.add("status", _STATUS[meeting.status])
    where = meeting_place(meeting)
    if where:
        event.add("location", where)
    if meeting.join_url:
        event.add("url", meeting.join_url)
    return event


def host_event(meeting: Meeting, sequence: int, stamp: datetime) -> icalendar.Event:
    """The host's copy: who booked and how to reach them, and the SEQUENCE of its last change."""
    event = meeting_event(meeting, host_summary(meeting), stamp)
    event.add("sequence", sequence)
    description = host_description(meeting)
    if description:
        event.add("description", description)
    return event


def stored_event(meeting: Meeting, sequence: int, stamp: datetime) -> bytes:
    """The host's copy as a calendar object resource for a CalDAV PUT: one VEVENT, no METHOD
    (RFC 4791 4.1), and no ATTENDEE, so a scheduling server sends no invitations of its own."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//meetings-mcp//calendar export//EN")
    calendar.add("version", "2.0")
    calendar.add_component(host_event(meeting, sequence, stamp))
    return bytes(calendar.to_ical())
