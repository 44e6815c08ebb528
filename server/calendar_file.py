"""One meeting as an iCalendar file, for the attendee's "add to my calendar" download.

The UID is stable per meeting, so a calendar that imports the file again after a change updates
the event instead of adding a second one; DTSTAMP says when this copy was made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from wix_meetings_mcp.bookings.model import Host, Meeting

_STATUS = {"confirmed": "CONFIRMED", "pending": "TENTATIVE", "payment_required": "TENTATIVE",
           "cancelled": "CANCELLED"}  # fmt: skip


def meeting_uid(meeting_id: str) -> str:
    return f"{meeting_id}@meetings-mcp"


def meeting_ics(meeting: Meeting, *, manage_url: str | None, now: datetime | None = None) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//meetings-mcp//scheduling page//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = _event(meeting, f"{meeting.link_name} with {meeting.host.name}", now or datetime.now(UTC))
    if manage_url:
        event.add("description", f"Reschedule or cancel: {manage_url}")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def _event(meeting: Meeting, summary: str, stamp: datetime) -> icalendar.Event:
    """The VEVENT both files share: UID, times, summary, status, and where to meet."""
    event = icalendar.Event()
    event.add("uid", meeting_uid(meeting.meeting_id))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", meeting.start.astimezone(UTC))
    event.add("dtend", meeting.end.astimezone(UTC))
    event.add("summary", summary)
    event.add("status", _STATUS[meeting.status])
    where = meeting.join_url or meeting.location.address
    if where:
        event.add("location", where)
    if meeting.join_url:
        event.add("url", meeting.join_url)
    return event


def host_feed_ics(host: Host, meetings: list[tuple[Meeting, int]], *, now: datetime) -> bytes:
    """A host's meetings as a feed to subscribe to, each with the UID of its invitations and its SEQUENCE.

    Cancelled meetings are left out rather than sent as STATUS:CANCELLED: a subscribed calendar
    re-reads the whole feed and removes what is gone, while several apps keep showing a cancelled
    event of a subscription as if it still held the time.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//meetings-mcp//export feed//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Meetings of {host.name}")
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    stamp = now.astimezone(UTC)
    for meeting, sequence in meetings:
        event = _event(meeting, f"{meeting.link_name}: {meeting.attendee.name}", stamp)
        event.add("sequence", sequence)
        contact = [c for c in (meeting.attendee.email, meeting.attendee.phone) if c]
        if contact:
            event.add("description", f"{meeting.attendee.name}: {', '.join(contact)}")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
