"""A stateful fake of the Microsoft identity platform's token endpoint and Graph v1.0 calendars,
for httpx.MockTransport.

Written from Microsoft's published docs (repo microsoftgraph/microsoft-graph-docs-contrib; facts,
not code):
- api-reference/v1.0/api/event-delta.md and concepts/delta-query-events.md:
  `GET /me/calendarView/delta?startDateTime&endDateTime` on the default calendar; the range and
  parameters are encoded in the state tokens; pages end in `@odata.nextLink` ($skiptoken) until
  one ends in `@odata.deltaLink` ($deltatoken), which starts the next round and returns only what
  changed; `Prefer: odata.maxpagesize`; a removed event is `{"@removed": {"reason": "deleted"},
  "id": ...}`, which also covers events added, changed or deleted outside the range.
- concepts/delta-query-overview.md: a token that is no longer valid answers 410 Gone with a
  `Location` header (start again with a full round).
- api/calendar-list-calendarview.md: `GET /me/calendars/{id}/calendarView?startDateTime&
  endDateTime`, paged with `@odata.nextLink`.
- resources/event.md: `id`, `iCalUId` (read-only), `showAs`, `isCancelled`, `type`, `start` /
  `end` as dateTimeTimeZone (UTC unless `Prefer: outlook.timezone`), `transactionId` (returned
  only when set); api/user-post-events.md: POST answers 201; event-update: PATCH 200;
  event-delete: DELETE 204; singlevaluelegacyextendedproperty-*: tagging and `$filter=
  singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')`.
- concepts/throttling.md: 429 with `Retry-After` in seconds.
- Errors: `{"error": {"code", "message", "innerError": {"request-id", "date"}}}`; a bad token is
  401 `InvalidAuthenticationToken`.

Not documented, so chosen here: a second POST with the same transactionId answers 201 with the
first event; delta on a calendar other than the default one is not served (v1.0 lists none).
Faults are queued per endpoint ("token", "delta", "view", "insert"): see oauth_server.py.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from tests.fakes.oauth_server import AuthorizationServer

CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444"
CLIENT_SECRET = "fake~microsoft~secret"
AUTHORIZATION_URL = "https://login.microsoft.test/common/oauth2/v2.0/authorize"
TOKEN_URL = "https://login.microsoft.test/common/oauth2/v2.0/token"
API_URL = "https://graph.microsoft.test/v1.0"
DEFAULT = "AAMkAD-default"
_FILTER = re.compile(r"singleValueExtendedProperties/Any\(ep: ep/id eq '(.+?)' and ep/value eq '(.+?)'\)")


@dataclass
class Round:
    start: datetime
    end: datetime
    since: int | None  # None: a full round
    mark: int  # the change number the round was taken at
    items: list[dict[str, Any]]


@dataclass
class FakeGraph:
    auth: AuthorizationServer = field(
        default_factory=lambda: AuthorizationServer(CLIENT_ID, CLIENT_SECRET, microsoft=True)
    )
    calendars: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {DEFAULT: {}, "AAMkAD-work": {}}
    )
    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # event id → extended properties
    changed: dict[str, int] = field(default_factory=dict)  # event id → change number (deleted ones too)
    gone: dict[str, dict[str, Any]] = field(default_factory=dict)  # deleted event id → its last state
    rounds: dict[str, Round] = field(default_factory=dict)  # $skiptoken → the round it continues
    deltas: dict[str, Round] = field(default_factory=dict)  # $deltatoken → the round it ended
    calls: list[str] = field(default_factory=list)
    page_cap: int = 200  # events per delta page at most, whatever the client prefers
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _change: int = 0

    # --- the owner's calendars, as a test sets them up --------------------------------------------

    def add_event(
        self,
        start: datetime,
        end: datetime,
        *,
        calendar: str = DEFAULT,
        show_as: str = "busy",
        cancelled: bool = False,
        ical_uid: str | None = None,
    ) -> str:
        event_id = f"AAMkAD{next(self._numbers):05d}="
        self.calendars[calendar][event_id] = {
            "@odata.etag": f'W/"{secrets.token_hex(4)}"', "id": event_id, "subject": "Busy",
            "iCalUId": ical_uid or f"040000008200E00074C5B7101A82E008{secrets.token_hex(16).upper()}",
            "type": "singleInstance", "showAs": show_as, "isCancelled": cancelled, "isAllDay": False,
            "start": _dtz(start), "end": _dtz(end),
        }  # fmt: skip
        self._touch(event_id)
        return event_id

    def delete_event(self, event_id: str) -> None:
        for events in self.calendars.values():
            if event_id in events:
                self.gone[event_id] = events.pop(event_id)
                self._touch(event_id)

    def expire_delta_tokens(self) -> None:
        self.deltas.clear()

    def events_of(self, calendar: str = DEFAULT) -> list[dict[str, Any]]:
        return list(self.calendars[calendar].values())

    # --- HTTP ---------------------------------------------------------------------------------------

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(
            f"{request.method} {path}" + (f"?{request.url.query.decode()}" if request.url.query else "")
        )
        if path == "/common/oauth2/v2.0/token" and request.method == "POST":
            return await self.auth.token(request)
        if not path.startswith("/v1.0/me/"):
            return _error(404, "ResourceNotFound", "Resource not found.")
        if not self.auth.valid(request):
            return _error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        query = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        rest = path[len("/v1.0/me/") :]
        if rest == "calendarView/delta" and request.method == "GET":
            return await self._delta(query, min(self.page_cap, _page_size(request)))
        match = re.fullmatch(r"calendars/([^/]+)/calendarView", rest)
        if match and request.method == "GET":
            return await self._view(match[1], query)
        match = re.fullmatch(r"(?:calendar|calendars/([^/]+))/events(?:/([^/]+))?", rest)
        if match is None:
            return _error(404, "ResourceNotFound", "Resource not found.")
        calendar = match[1] or DEFAULT
        if calendar not in self.calendars:
            return _error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        events, event_id = self.calendars[calendar], match[2]
        if event_id is None and request.method == "POST":
            return await self._create(events, json.loads(request.content))
        if event_id is None and request.method == "GET":
            return self._find(events, query.get("$filter", ""))
        if event_id not in events:
            return _error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if request.method == "PATCH":
            events[event_id].update(json.loads(request.content))
            self._touch(event_id)
            return httpx.Response(200, json=events[event_id])
        if request.method == "DELETE":
            self.delete_event(event_id)
            return httpx.Response(204)
        return _error(405, "ErrorInvalidRequest", "Method not allowed.")

    async def _delta(self, query: dict[str, str], size: int) -> httpx.Response:
        fault = await self.auth.injected("delta")
        if fault is not None:
            return fault
        if "$skiptoken" in query:
            current = self.rounds.pop(query["$skiptoken"], None)
            if current is None:
                return _gone()
        elif "$deltatoken" in query:
            ended = self.deltas.get(query["$deltatoken"])
            if ended is None:
                return _gone()
            current = self._round(ended.start, ended.end, since=ended.mark)
        else:
            current = self._round(_param(query, "startDateTime"), _param(query, "endDateTime"), since=None)
        page, current.items = current.items[:size], current.items[size:]
        body: dict[str, Any] = {"@odata.context": f"{API_URL}/$metadata#Collection(event)", "value": page}
        token = secrets.token_urlsafe(12)
        if current.items:
            self.rounds[token] = current
            body["@odata.nextLink"] = f"{API_URL}/me/calendarView/delta?$skiptoken={token}"
        else:
            self.deltas[token] = current
            body["@odata.deltaLink"] = f"{API_URL}/me/calendarView/delta?$deltatoken={token}"
        return httpx.Response(200, json=body)

    def _round(self, start: datetime, end: datetime, *, since: int | None) -> Round:
        items: list[dict[str, Any]] = []
        for event in self.calendars[DEFAULT].values():
            inside = _overlaps(event, start, end)
            if since is None and inside:
                items.append(event)
            elif since is not None and self.changed[event["id"]] > since:
                items.append(event if inside else _removed(event["id"]))
        if since is not None:
            items += [_removed(i) for i in self.gone if self.changed[i] > since]
        return Round(start, end, since, self._change, items)

    async def _view(self, calendar: str, query: dict[str, str]) -> httpx.Response:
        fault = await self.auth.injected("view")
        if fault is not None:
            return fault
        if calendar not in self.calendars:
            return _error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        start, end = _param(query, "startDateTime"), _param(query, "endDateTime")
        found = [e for e in self.calendars[calendar].values() if _overlaps(e, start, end)]
        skip, top = int(query.get("$skip", "0")), int(query.get("$top", "10"))
        body: dict[str, Any] = {"value": found[skip : skip + top]}
        if skip + top < len(found):
            more = urlencode({"startDateTime": query["startDateTime"], "endDateTime": query["endDateTime"],
                              "$top": str(top), "$skip": str(skip + top)}, quote_via=quote)  # fmt: skip
            body["@odata.nextLink"] = f"{API_URL}/me/calendars/{calendar}/calendarView?{more}"
        return httpx.Response(200, json=body)

    async def _create(self, events: dict[str, dict[str, Any]], body: dict[str, Any]) -> httpx.Response:
        fault = await self.auth.injected("insert")
        if fault is not None:
            return fault
        transaction = body.get("transactionId")
        for event in events.values():
            if transaction and event.get("transactionId") == transaction:
                return httpx.Response(201, json=event)
        properties = body.pop("singleValueExtendedProperties", [])
        event_id = f"AAMkAD{next(self._numbers):05d}="
        event = {"id": event_id, "iCalUId": f"040000008200E00074C5B7101A82E008{secrets.token_hex(16).upper()}",
                 "type": "singleInstance", "isCancelled": False, "showAs": "busy", **body}  # fmt: skip
        events[event_id] = event
        self.properties[event_id] = {p["id"]: p["value"] for p in properties}
        self._touch(event_id)
        return httpx.Response(201, json=event)

    def _find(self, events: dict[str, dict[str, Any]], expression: str) -> httpx.Response:
        match = _FILTER.fullmatch(expression)
        if match is None:
            return _error(
                400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
            )
        wanted = match[2].replace("''", "'").lower()  # value matching is case-insensitive (M5)
        found = [{"id": i} for i in events if self.properties.get(i, {}).get(match[1], "").lower() == wanted]
        return httpx.Response(200, json={"value": found})

    def _touch(self, event_id: str) -> None:
        self._change += 1
        self.changed[event_id] = self._change


def _dtz(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _at(value: dict[str, str]) -> datetime:
    assert value["timeZone"] == "UTC"
    return datetime.fromisoformat(value["dateTime"]).replace(tzinfo=UTC)


def _overlaps(event: dict[str, Any], start: datetime, end: datetime) -> bool:
    return _at(event["start"]) < end and _at(event["end"]) > start


def _param(query: dict[str, str], name: str) -> datetime:
    moment = datetime.fromisoformat(query[name])
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _page_size(request: httpx.Request) -> int:
    found = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("prefer", ""))
    assert 'outlook.timezone="UTC"' in request.headers.get("prefer", "")
    return int(found[1]) if found else 100


def _removed(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}


def _gone() -> httpx.Response:
    answer = _error(410, "syncStateNotFound", "The sync state is no longer valid.")
    answer.headers["Location"] = f"{API_URL}/me/calendarView/delta?$deltatoken="
    return answer


def _error(status: int, code: str, message: str) -> httpx.Response:
    body = {"error": {"code": code, "message": message,
                      "innerError": {"request-id": "r-1", "date": "2026-11-30T08:00:00"}}}  # fmt: skip
    return httpx.Response(status, json=body)
