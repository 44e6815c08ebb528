"""Invitations a write owes people: one notice per recipient, a snapshot of the meeting as written.

The local engine stores notices in its outbox in the same transaction as the meeting; `server/`
turns each into an email (text, HTML and an iCalendar part). A notice holds everything the mail
needs, so a message sent late, or again after a crash, says what the write said.
"""

from __future__ import annotations

from typing import Literal

from wix_meetings_mcp.bookings.calendar_event import meeting_uid
from wix_meetings_mcp.bookings.model import Business, Domain, Host, Meeting

NoticeKind = Literal["booked", "rescheduled", "cancelled"]
Role = Literal["attendee", "guest", "host"]


class Notice(Domain):
    kind: NoticeKind
    recipient: str  # one email address
    role: Role
    sequence: int  # the iCalendar SEQUENCE: 0 when booked, raised by every change
    meeting: Meeting
    host: Host  # the host as it is now (its email may be newer than the meeting's copy)
    business: Business

    @property
    def uid(self) -> str:
        """One iCalendar UID per meeting, the same in every message about it."""
        return meeting_uid(self.meeting.meeting_id)

    @property
    def method(self) -> Literal["REQUEST", "CANCEL"]:
        return "CANCEL" if self.kind == "cancelled" else "REQUEST"


def notices_for(
    kind: NoticeKind, meeting: Meeting, *, host: Host, business: Business, sequence: int
) -> list[Notice]:
    """The attendee, each guest and the host, once each (addresses compared case-blind)."""
    wanted: list[tuple[str | None, Role]] = [
        (meeting.attendee.email, "attendee"),
        *((guest, "guest") for guest in meeting.attendee.guest_emails),
        (host.email, "host"),
    ]
    seen: set[str] = set()
    found: list[Notice] = []
    for address, role in wanted:
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        found.append(
            Notice(
                kind=kind,
                recipient=address,
                role=role,
                sequence=sequence,
                meeting=meeting,
                host=host,
                business=business,
            )
        )
    return found
