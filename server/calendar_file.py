"""iCalendar files served by the pages: one meeting for the attendee's "add to my calendar"
download, and a host's export feed. Their VEVENTs come from bookings/calendar_event.py.

The UID is stable per meeting, so a calendar that imports the file again after a change updates
the event instead of adding a second one; DTSTAMP says when this copy was made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from wix_meetings_mcp.bookings.calendar_event import host_event, meeting_event
from wix_meetings_mcp.bookings.model import Host, Meeting


def meeting_ics(meeting: Meeting, *, manage_url: str | None, now: datetime | None = None) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//meetings-mcp//scheduling page//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = meeting_event(meeting, f"{meeting.link_name} with {meeting.host.name}", now or datetime.now(UTC))
    if manage_url:
        event.add("description", f"Reschedule or cancel: {manage_url}")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


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
        calendar.add_component(host_event(meeting, sequence, stamp))
    return bytes(calendar.to_ical())
