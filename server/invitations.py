"""An invitation email from an outbox notice: plain text, HTML and an iCalendar part.

Composed here, in server/, because the times are the tools' spoken sentences (tools/timefmt) and
bookings/ may not import tools/. The calendar part follows iTIP (RFC 5546): METHOD:REQUEST for a
new or moved meeting, CANCEL for a cancelled one, one UID per meeting and a SEQUENCE that rises with
every change, so calendars update the event they already hold instead of adding another.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wix_meetings_mcp.bookings.model import Meeting
from wix_meetings_mcp.bookings.notices import Notice
from wix_meetings_mcp.tools.timefmt import spoken

_PLACES = {
    "video": "Video call",
    "phone": "Phone call",
    "business_address": "At the business",
    "custom_address": "At the agreed address",
    "customer_address": "At the attendee's address",
}


def message_id(message_key: str, sender: str) -> str:
    """The same key gives the same Message-ID: a resend after a crash is recognisably the same."""
    return f"<{message_key}@{sender.rpartition('@')[2]}>"


def compose(
    notice: Notice, *, sender: str, message_key: str, now: datetime, manage_url: str | None = None
) -> EmailMessage:
    """`manage_url`: the attendee's own page to reschedule or cancel, where pages are served."""
    m, business = notice.meeting, notice.business
    tz = _zone(m.attendee.time_zone if notice.role != "host" else None, business.time_zone)
    when = spoken(m.start, m.end, tz, today=now.astimezone(tz).date())
    title = m.invite_title or m.link_name
    other = m.attendee.name if notice.role == "host" else notice.host.name
    subject = {
        "booked": f"Invitation: {title} with {other}",
        "rescheduled": f"Updated invitation: {title} with {other}",
        "cancelled": f"Cancelled: {title} with {other}",
    }[notice.kind]
    lines = _lines(notice, when, other)
    if manage_url and notice.role != "host" and notice.kind != "cancelled":
        lines[-1:-1] = [f"To reschedule or cancel: {manage_url}", ""]

    msg = EmailMessage()
    msg["Subject"] = f"{subject}, {when}"
    msg["From"] = formataddr((business.name, sender))
    msg["To"] = notice.recipient
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = message_id(message_key, sender)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no autoresponder loops
    msg.set_content("\n".join(lines) + "\n")
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    msg.add_alternative(f"<!doctype html><html><body>{body}</body></html>", subtype="html")
    msg.add_alternative(
        calendar(notice, sender=sender, now=now),
        subtype="calendar",
        params={"method": notice.method},
    )
    return msg


def _lines(notice: Notice, when: str, other: str) -> list[str]:
    m = notice.meeting
    head = {
        "booked": f"{m.link_name} with {other} is booked.",
        "rescheduled": f"{m.link_name} with {other} has moved.",
        "cancelled": f"{m.link_name} with {other} is cancelled.",
    }[notice.kind]
    if notice.kind == "booked" and m.status == "pending":
        head = f"{m.link_name} with {other} is requested; the host will confirm it."
    elif notice.kind == "booked" and m.status == "payment_required":
        head = f"{m.link_name} with {other} is held until it is paid."
    lines = [head, "", f"When: {when}", f"Where: {where(m)}"]
    if m.join_url and m.location.password:
        lines.append(f"Password: {m.location.password}")
    if m.join_url and m.location.description:
        lines.append(m.location.description)
    if notice.kind == "cancelled" and m.cancel_reason:
        lines.append(f"Reason: {m.cancel_reason}")
    if m.invite_description:
        lines += ["", m.invite_description]
    if notice.role == "host":
        contact = ", ".join(x for x in (m.attendee.email, m.attendee.phone) if x)
        lines += ["", f"Attendee: {m.attendee.name}" + (f" ({contact})" if contact else "")]
        lines += [f"{key}: {value}" for key, value in m.notes.items()]
    lines += ["", f"Sent by {notice.business.name} through meetings-mcp."]
    return lines


def where(m: Meeting) -> str:
    place = _PLACES[m.location.kind]
    if m.location.address:
        place = f"{place}: {m.location.address}"
    return f"{place}, {m.join_url}" if m.join_url else place


def calendar(notice: Notice, *, sender: str, now: datetime) -> str:
    from icalendar import Calendar, Event, vCalAddress, vText

    m = notice.meeting
    zone = _zone(None, notice.business.time_zone)
    cal = Calendar()
    cal.add("prodid", "-//meetings-mcp//invitations//EN")
    cal.add("version", "2.0")
    cal.add("method", notice.method)
    event = Event()
    event.add("uid", notice.uid)
    event.add("sequence", notice.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", m.start.astimezone(zone))
    event.add("dtend", m.end.astimezone(zone))
    event.add("summary", m.invite_title or f"{m.link_name} with {notice.host.name} and {m.attendee.name}")
    if m.invite_description:
        event.add("description", m.invite_description)
    event.add("location", where(m))
    if m.join_url:
        event.add("url", m.join_url)
    status = {"cancelled": "CANCELLED", "confirmed": "CONFIRMED"}.get(m.status, "TENTATIVE")
    event.add("status", "CANCELLED" if notice.kind == "cancelled" else status)
    organizer = vCalAddress(f"mailto:{notice.host.email or sender}")
    organizer.params["cn"] = vText(notice.host.name)
    event.add("organizer", organizer)
    for address, name in [(m.attendee.email, m.attendee.name), *((g, None) for g in m.attendee.guest_emails)]:
        if address:
            attendee = vCalAddress(f"mailto:{address}")
            if name:
                attendee.params["cn"] = vText(name)
            attendee.params["role"] = vText("REQ-PARTICIPANT")
            attendee.params["partstat"] = vText("NEEDS-ACTION")
            event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    cal.add_missing_timezones()  # VTIMEZONE for the TZID, so every client reads the right instant
    return bytes(cal.to_ical()).decode()


def _zone(preferred: str | None, fallback: str) -> ZoneInfo:
    for name in (preferred, fallback):
        try:
            if name:
                return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")
