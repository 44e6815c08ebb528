"""A CalDAV account (iCloud, Fastmail, Nextcloud, Radicale...) spoken over the outbound guard.

The `caldav` library opens its own HTTP session (niquests or requests), which cannot be handed the
guarded client, so CalDAV is spoken here over our httpx. The read side finds the principal, its
calendar home, the calendars in it, then runs one time-range REPORT per calendar (RFC 4791 7.8);
the events go through the feed parser like an iCal feed, in its worker process and within its
caps. The write side (MKCALENDAR, PUT, DELETE) serves the export of meetings (caldav_export.py).

The server is a third party: answers are size-capped by the guard, XML with a DOCTYPE is refused
(no entity expansion), and the number of calendars read is bounded. The password is sent only in
the Authorization header and never appears in an error, a log line or a repr.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from wix_meetings_mcp.bookings.outbound import Answer, Outbound, OutboundError

if TYPE_CHECKING:
    import httpx

ICLOUD = "https://caldav.icloud.com/"
EXPORT_CALENDAR = "Meetings"  # the calendar bookings are exported to: never imported as busy
MAX_CALENDARS = 50

_DAV = "{DAV:}"
_CAL = "{urn:ietf:params:xml:ns:caldav}"
_PRINCIPAL = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"""
_HOME = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><c:calendar-home-set/></d:prop></d:propfind>"""
_CALENDARS = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/></d:prop></d:propfind>"""
_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><c:calendar-data/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
<c:time-range start="{start}" end="{end}"/></c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""
_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>
<d:displayname>{name}</d:displayname>
<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>
</d:prop></d:set></c:mkcalendar>"""
# Top-level properties of each event's VCALENDAR are dropped when they are joined into one.
_WRAPPER = ("BEGIN:VCALENDAR", "END:VCALENDAR")


class CalDavAuthError(Exception):
    """The server refused the credentials (401/403); nothing else is said."""


@dataclass(frozen=True)
class Account:
    url: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Calendar:
    url: str
    name: str


class CalDavClient:
    """One account; every request through `outbound`, each within `deadline` seconds."""

    def __init__(
        self,
        *,
        outbound: Outbound,
        http: httpx.AsyncClient,
        account: Account,
        max_bytes: int,
        deadline: float,
    ) -> None:
        self._outbound = outbound
        self._http = http
        self._account = account
        self._max_bytes = max_bytes
        self._deadline = deadline
        token = base64.b64encode(f"{account.username}:{account.password}".encode()).decode("ascii")
        self._auth = f"Basic {token}"

    async def home(self) -> str:
        """The account's calendar-home-set URL (principal first, as RFC 6764 / 5397 discovery does)."""
        principal = await self._one_href(self._account.url, _PRINCIPAL, f"{_DAV}current-user-principal")
        return await self._one_href(principal, _HOME, f"{_CAL}calendar-home-set")

    async def calendars(self, home: str) -> list[Calendar]:
        """Event calendars in the home, the export calendar left out."""
        found = [c for c in await self.event_calendars(home) if c.name != EXPORT_CALENDAR]
        if len(found) > MAX_CALENDARS:
            raise OutboundError("too_large")
        return found

    async def event_calendars(self, home: str) -> list[Calendar]:
        """Every calendar in the home that holds events (task lists and journals left out)."""
        answer = await self._call("PROPFIND", home, _CALENDARS, depth="1")
        found: list[Calendar] = []
        for href, prop in _responses(answer):
            kinds = prop.find(f"{_DAV}resourcetype")
            if kinds is None or kinds.find(f"{_CAL}calendar") is None:
                continue
            components = prop.find(f"{_CAL}supported-calendar-component-set")
            if (
                components is not None
                and len(components)
                and not any(c.get("name", "").upper() == "VEVENT" for c in components)
            ):
                continue  # a task list or journal: no busy times
            name = (prop.findtext(f"{_DAV}displayname") or "").strip()
            found.append(Calendar(str(answer.url.join(href)), name))
        if len(found) > MAX_CALENDARS + 1:  # the export calendar is not counted
            raise OutboundError("too_large")
        return found

    async def events(self, calendar: Calendar, start: datetime, end: datetime) -> list[str]:
        """The iCalendar text of each event with an occurrence in [start, end)."""
        query = _QUERY.format(start=_stamp(start), end=_stamp(end)).encode()
        answer = await self._call("REPORT", calendar.url, query, depth="1")
        return [
            text
            for _, prop in _responses(answer)
            if (text := prop.findtext(f"{_CAL}calendar-data") or "").strip()
        ]

    async def busy_calendar(self, start: datetime, end: datetime) -> bytes:
        """Every imported calendar's events in the window, joined into one VCALENDAR for the parser."""
        home = await self.home()
        texts: list[str] = []
        size = 0
        for calendar in await self.calendars(home):
            for text in await self.events(calendar, start, end):
                size += len(text)
                if size > self._max_bytes:
                    raise OutboundError("too_large")
                texts.append(text)
        return join_calendars(texts).encode()

    async def _one_href(self, url: str, body: bytes, prop_name: str) -> str:
        answer = await self._call("PROPFIND", url, body, depth="0")
        for _, prop in _responses(answer):
            href = prop.findtext(f"{prop_name}/{_DAV}href")
            if href and href.strip():
                return str(answer.url.join(href.strip()))
        raise OutboundError("not_icalendar")  # not a CalDAV server, as far as we can tell

    # --- the write side: the export calendar and its events (RFC 4791 5.3.1, 5.3.2) ---------------

    async def make_calendar(self, url: str, name: str) -> int:
        """MKCALENDAR at `url` named `name`, for events only; the status (201: made)."""
        body = _MKCALENDAR.format(name=escape(name)).encode()
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        # 403 here is "not allowed at this place" (RFC 4791 5.3.1), not refused credentials.
        answer = await self._send("MKCALENDAR", url, body, headers, refused=(401,))
        return answer.status

    async def put_event(self, url: str, ics: bytes) -> Answer:
        """PUT a calendar object resource, replacing whatever is there (no precondition: ours alone)."""
        return await self._send("PUT", url, ics, {"Content-Type": "text/calendar; charset=utf-8"})

    async def delete(self, url: str) -> Answer:
        return await self._send("DELETE", url, b"", {})

    async def _call(self, method: str, url: str, body: bytes, *, depth: str) -> Answer:
        headers = {"Content-Type": "application/xml; charset=utf-8", "Depth": depth}
        answer = await self._send(method, url, body, headers, read=None)
        if answer.status != 207:
            raise OutboundError("unreachable")
        return answer

    async def _send(
        self,
        method: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        *,
        read: Container[int] | None = (),
        refused: Container[int] = (401, 403),
    ) -> Answer:
        """Any request signed with the account; a `refused` status is CalDavAuthError. Write answers'
        bodies are not read (`read` empty): only their status and headers count."""
        answer = await self._outbound.request(
            self._http,
            method,
            url,
            headers={"Authorization": self._auth, **headers},
            body=body,
            max_bytes=self._max_bytes,
            deadline=self._deadline,
            read=read,
        )
        if answer.status in refused:
            raise CalDavAuthError()
        return answer


def _responses(answer: Answer) -> list[tuple[str, ET.Element]]:
    """(href, merged 200 prop) per <response> of a multistatus."""
    if b"<!DOCTYPE" in answer.body.upper():
        raise OutboundError("not_icalendar")  # no DTDs, hence no entity expansion
    try:
        root = ET.fromstring(answer.body)
    except ET.ParseError:
        raise OutboundError("not_icalendar") from None
    found: list[tuple[str, ET.Element]] = []
    for response in root.iter(f"{_DAV}response"):
        href = (response.findtext(f"{_DAV}href") or "").strip()
        merged = ET.Element(f"{_DAV}prop")
        for propstat in response.findall(f"{_DAV}propstat"):
            if " 200 " not in f"{(propstat.findtext(f'{_DAV}status') or '').strip()} ":
                continue
            for prop in propstat.findall(f"{_DAV}prop"):
                merged.extend(list(prop))
        found.append((href, merged))
    return found


def join_calendars(texts: list[str]) -> str:
    """One VCALENDAR holding the components of each given one (their own top-level lines dropped)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//meetings-mcp//CalDAV import//EN"]
    for text in texts:
        depth = 0
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            upper = line.upper()
            if upper.startswith(_WRAPPER):
                continue
            if upper.startswith("BEGIN:"):
                depth += 1
            if depth > 0 and line:
                lines.append(line)  # folded continuation lines stay with their component
            if upper.startswith("END:"):
                depth -= 1
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
