"""Microsoft Graph v1.0 calendars: a connected calendar's busy events and the writes an export makes.

Facts used (learn.microsoft.com/graph, repo microsoftgraph/microsoft-graph-docs-contrib):
- `GET /me/calendarView/delta?startDateTime&endDateTime` (api/event-delta.md): the range is fixed
  by the first request; pages follow `@odata.nextLink` and a round ends with `@odata.deltaLink`,
  fetched verbatim next round; a removed event comes as `{"@removed": {...}, "id": ...}`. v1.0
  documents delta on the user's default calendar only, so another calendar is read whole each
  round with `GET /me/calendars/{id}/calendarView` (api/calendar-list-calendarview.md).
- 410 Gone, or an error with code `syncStateNotFound`, means the delta token is gone: start a new
  round (concepts/delta-query-overview.md).
- An event (resources/event.md): `showAs` (free, tentative, busy, oof, workingElsewhere, unknown),
  `isCancelled`, `iCalUId` (read-only), `transactionId` (set by the client on create, returned
  only when set; a retried POST with it does not create a second event), `start`/`end` as
  dateTimeTimeZone, in UTC unless `Prefer: outlook.timezone` asks otherwise.
- Writes: `POST /me/calendars/{id}/events` (201), `PATCH .../events/{id}` (200), `DELETE` (204);
  `singleValueExtendedProperties` tag an event and are found with
  `$filter=singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')`.
- Throttling is 429 with `Retry-After` in seconds (concepts/throttling.md).

Our own exports carry our UID as `transactionId` and in an extended property: Graph's `iCalUId`
is read-only, and delta supports no `$expand`, so the transactionId is what an import sees.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit

from wix_meetings_mcp.bookings.calendar_event import host_description, host_summary, meeting_place
from wix_meetings_mcp.bookings.local.calendar_api import (
    Bearer,
    Changes,
    EventGone,
    SyncExpired,
    is_ours,
    known_zone,
    parse_time,
)
from wix_meetings_mcp.bookings.local.exporters import ExportEvent
from wix_meetings_mcp.bookings.local.provider_calls import call, created_id, error_body, written
from wix_meetings_mcp.bookings.local.provider_http import ProviderHttp, json_body
from wix_meetings_mcp.bookings.outbound import Answer, OutboundError

# Our mark among an event's single-value extended properties (a GUID of our own, as M5 asks).
UID_PROPERTY = "String {a5dba148-f615-4037-b9b0-60aae4578b70} Name meetingsMcpUid"
_NOT_BUSY = frozenset({"free", "workingElsewhere"})
_READ_PREFER = 'outlook.timezone="UTC", odata.maxpagesize=200'


class GraphCalendar:
    """One Outlook calendar of the signed-in user (the default one unless `calendar_id` names one)."""

    def __init__(
        self, *, http: ProviderHttp, api_url: str, bearer: Bearer, calendar_id: str | None = None
    ) -> None:
        self._http = http
        self._bearer = bearer
        self._api = api_url.rstrip("/")
        self._calendar_id = calendar_id
        home = f"/me/calendars/{quote(calendar_id, safe='')}" if calendar_id else "/me/calendar"
        self._events = f"{self._api}{home}/events"

    async def changes(self, cursor: str | None, start: datetime, end: datetime) -> Changes:
        window = urlencode({"startDateTime": _utc(start), "endDateTime": _utc(end)})
        if self._calendar_id is not None:  # no delta for it in v1.0: the whole window every round
            url, cursor = (
                f"{self._api}/me/calendars/{quote(self._calendar_id, safe='')}/calendarView?{window}",
                None,
            )
        else:
            url = cursor or f"{self._api}/me/calendarView/delta?{window}"
        found = Changes(full=cursor is None)
        for _ in range(self._http.limits.max_pages):
            answer = await self._call("GET", self._checked(url), headers={"Prefer": _READ_PREFER})
            if cursor and (answer.status == 410 or _code(answer) == "syncStateNotFound"):
                raise SyncExpired
            if answer.status != 200:
                raise OutboundError("unreachable")
            data = json_body(answer)
            items = data.get("value")
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    _sort(item, found)
            if len(found.busy) > self._http.limits.max_events:
                raise OutboundError("too_large")
            following = data.get("@odata.nextLink")
            if isinstance(following, str) and following:
                url = following
                continue
            delta = data.get("@odata.deltaLink")
            kept = delta if self._calendar_id is None and isinstance(delta, str) and delta else None
            return replace(found, cursor=None if kept is None else self._checked(kept))
        raise OutboundError("too_large")

    async def create(self, event: ExportEvent) -> str:
        body = _body(event) | {
            "transactionId": event.uid,
            "singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": event.uid}],
        }
        answer = await self._call("POST", self._events, body)
        return created_id(written(answer))

    async def update(self, event_id: str, event: ExportEvent) -> None:
        answer = await self._call("PATCH", self._event(event_id), _body(event))
        if answer.status == 404:
            raise EventGone
        written(answer)

    async def delete(self, event_id: str) -> None:
        answer = await self._call("DELETE", self._event(event_id))
        if answer.status != 404:  # already gone is what was wanted
            written(answer)

    async def find(self, uid: str) -> str | None:
        quoted = uid.replace("'", "''")  # OData string literal
        query = urlencode(
            {"$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{UID_PROPERTY}' and ep/value eq '{quoted}')",
             "$select": "id"},
            quote_via=quote,
        )  # fmt: skip
        items = json_body(written(await self._call("GET", f"{self._events}?{query}"))).get("value")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                return str(item["id"])
        return None

    def _event(self, event_id: str) -> str:
        return f"{self._events}/{quote(event_id, safe='')}"

    def _checked(self, url: str) -> str:
        """A link Graph handed us must lead back to Graph: the bearer token goes with it."""
        api, link = urlsplit(self._api), urlsplit(url)
        if (link.scheme, link.netloc) != (api.scheme, api.netloc):
            raise OutboundError("refused_address")
        return url

    async def _call(
        self,
        method: str,
        url: str,
        payload: dict[str, object] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        return await call(self._http, self._bearer, method, url, payload, headers=headers)


def _sort(item: dict[str, object], found: Changes) -> None:
    event_id = item.get("id")
    if not isinstance(event_id, str) or not event_id:
        return
    if (
        "@removed" in item
        or item.get("isCancelled") is True
        or item.get("showAs") in _NOT_BUSY
        or item.get("type") == "seriesMaster"  # its occurrences come one by one
        or is_ours(item.get("transactionId"))
        or is_ours(item.get("iCalUId"))
    ):
        found.removed.append(event_id)
        return
    found.add(event_id, _when(item.get("start")), _when(item.get("end")))


def _when(value: object) -> datetime | None:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    try:
        return parse_time(value["dateTime"], known_zone(value.get("timeZone"), UTC))
    except ValueError:
        return None


def _body(event: ExportEvent) -> dict[str, object]:
    """The host's copy of the meeting: no attendees, so Outlook invites nobody (ours went by mail)."""
    meeting = event.meeting
    body: dict[str, object] = {
        "subject": host_summary(meeting),
        "body": {"contentType": "text", "content": host_description(meeting)},
        "start": {"dateTime": _utc(meeting.start, naive=True), "timeZone": "UTC"},
        "end": {"dateTime": _utc(meeting.end, naive=True), "timeZone": "UTC"},
        "showAs": "busy",
    }
    place = meeting_place(meeting)
    if place:
        body["location"] = {"displayName": place}
    return body


def _code(answer: Answer) -> str | None:
    error = error_body(answer) if answer.status >= 400 else None
    code = None if error is None else error.get("code")
    return code if isinstance(code, str) else None


def _utc(moment: datetime, *, naive: bool = False) -> str:
    """UTC as ISO 8601: with Z for query parameters, without an offset beside timeZone "UTC"."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text if naive else f"{text}Z"
