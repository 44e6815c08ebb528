"""A stateful fake of Google's OAuth 2.0 endpoints and Calendar API v3 events, for httpx.MockTransport.

Written from Google's published reference (facts, not code):
- events.list, https://developers.google.com/calendar/api/v3/reference/events/list: `timeMin`
  bounds an event's end and `timeMax` its start (exclusive); `singleEvents`; `maxResults`
  (default 250); `pageToken` / `nextPageToken`; `nextSyncToken` on the last page only; `syncToken`
  cannot be combined with `timeMin`/`timeMax`/`iCalUID` and returns deleted events too
  (`status: "cancelled"`); `iCalUID` finds an event by its RFC 5545 UID; the answer carries the
  calendar's `timeZone`.
- https://developers.google.com/calendar/api/guides/sync: an expired sync token answers
  410 Gone, and the client must sync fully again.
- events.insert / patch / delete (reference/events/insert etc.): insert takes `iCalUID` (not with
  `id`) and answers 200 with the event; patch merges; delete answers 204, and a second delete of the
  same event 410 `deleted`; `sendUpdates` is accepted.
- https://developers.google.com/calendar/api/guides/errors: the `{"error": {"errors": [{domain,
  reason, message}], "code", "message"}}` envelope; 401 `authError`; 403 with domain `usageLimits`
  and reason `userRateLimitExceeded` ("User Rate Limit Exceeded"), `rateLimitExceeded` ("Rate Limit
  Exceeded") or `quotaExceeded` ("Calendar usage limits exceeded."), each to be met with backoff;
  403 `forbiddenForNonOrganizer` (domain `calendar`); 429 `rateLimitExceeded`; 409 `duplicate`;
  410 `fullSyncRequired`.
- https://developers.google.com/calendar/api/guides/quota: when Google wants a client to slow
  down it answers 403 `usageLimits` or 429.

Not modelled: recurring series (the events here are single ones, as `singleEvents=true` returns
them), calendars other than `primary`, and quotas. Whether a second insert with the same iCalUID
answers 409 is not documented; this fake answers 409 `duplicate`, as for a repeated `id`.
Faults are queued per endpoint ("token", "list", "insert"), as oauth_server.py takes them, or as a
403 reason of FORBIDDEN by its name; a 401, 403 or 429 comes in Google's envelope (a bare 403 is
`userRateLimitExceeded`).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx

from tests.fakes.oauth_server import AuthorizationServer

CLIENT_ID = "1234-fake.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-google-secret"
AUTHORIZATION_URL = "https://accounts.google.test/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.google.test/token"
API_URL = "https://www.google.test/calendar/v3"
ZONE = "Europe/Berlin"
_EVENTS = "/calendar/v3/calendars/primary/events"
# Google's 403 answers by reason (guides/errors): the domain and message each comes with.
FORBIDDEN = {
    "userRateLimitExceeded": ("usageLimits", "User Rate Limit Exceeded"),
    "rateLimitExceeded": ("usageLimits", "Rate Limit Exceeded"),
    "quotaExceeded": ("usageLimits", "Calendar usage limits exceeded."),
    "forbiddenForNonOrganizer": ("calendar", "Forbidden for non-organizer"),
}


@dataclass
class FakeGoogle:
    auth: AuthorizationServer = field(
        default_factory=lambda: AuthorizationServer(
            CLIENT_ID,
            CLIENT_SECRET,
            microsoft=False,
            required_params={"access_type": "offline", "prompt": "consent"},
        )
    )
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)  # event id → change number of its last change
    valid_sync_tokens: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)  # "GET /calendar/v3/..." with the query
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _change: int = 0

    # --- the owner's calendar, as a test sets it up -----------------------------------------------

    def add_event(
        self,
        start: datetime | date,
        end: datetime | date,
        *,
        transparency: str | None = None,
        ical_uid: str | None = None,
        status: str = "confirmed",
    ) -> str:
        event_id = f"ev{next(self._numbers):05d}"
        event: dict[str, Any] = {"kind": "calendar#event", "id": event_id, "status": status,
                                 "iCalUID": ical_uid or f"{event_id}@google.com",
                                 "start": _when(start), "end": _when(end)}  # fmt: skip
        if transparency is not None:
            event["transparency"] = transparency
        self.events[event_id] = event
        self._touch(event_id)
        return event_id

    def change_event(self, event_id: str, **fields: Any) -> None:
        self.events[event_id].update({k: _when(v) if k in ("start", "end") else v for k, v in fields.items()})
        self._touch(event_id)

    def delete_event(self, event_id: str) -> None:
        self.events[event_id]["status"] = "cancelled"
        self._touch(event_id)

    def expire_sync_tokens(self) -> None:
        self.valid_sync_tokens.clear()

    def live(self) -> list[dict[str, Any]]:
        return [e for e in self.events.values() if e["status"] != "cancelled"]

    # --- HTTP ---------------------------------------------------------------------------------------

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(
            f"{request.method} {path}" + (f"?{request.url.query.decode()}" if request.url.query else "")
        )
        if path == "/token" and request.method == "POST":
            return await self.auth.token(request)
        if not path.startswith(_EVENTS):
            return _error(404, "global", "notFound", "Not Found")
        if not self.auth.valid(request):
            return _error(401, "global", "authError", "Invalid Credentials")
        rest = path[len(_EVENTS) :].strip("/")
        query = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        if not rest and request.method == "GET":
            return await self._list(query)
        if not rest and request.method == "POST":
            return await self._insert(json.loads(request.content))
        event = self.events.get(rest)
        if event is None:
            return _error(404, "global", "notFound", "Not Found")
        if request.method == "PATCH":
            if event["status"] == "cancelled":
                return _error(410, "global", "deleted", "Resource has been deleted")
            event.update(json.loads(request.content))
            self._touch(rest)
            return httpx.Response(200, json=event)
        if request.method == "DELETE":
            if event["status"] == "cancelled":
                return _error(410, "global", "deleted", "Resource has been deleted")
            self.delete_event(rest)
            return httpx.Response(204)
        return _error(405, "global", "methodNotAllowed", "Method Not Allowed")

    async def _list(self, query: dict[str, str]) -> httpx.Response:
        fault = await self._fault("list")
        if fault is not None:
            return fault
        sync = query.get("syncToken")
        if sync is not None:
            if {"timeMin", "timeMax", "iCalUID", "orderBy"} & query.keys():
                return _error(400, "global", "invalid", "Sync token cannot be used with other filters.")
            if sync not in self.valid_sync_tokens:
                return _error(
                    410,
                    "calendar",
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                )
            since = int(sync.split("-")[1])
            found = [e for i, e in self.events.items() if self.changed[i] > since]
        elif "iCalUID" in query:
            found = [e for e in self.live() if e["iCalUID"] == query["iCalUID"]]
        else:
            low, high = _bound(query.get("timeMin")), _bound(query.get("timeMax"))
            if low and high and high <= low:
                return _error(400, "calendar", "timeRangeEmpty", "The specified time range is empty.")
            found = [e for e in self.live() if (not low or _end(e) > low) and (not high or _start(e) < high)]
        found.sort(key=lambda e: e["id"])
        size = min(int(query.get("maxResults", "250")), 2500)
        offset = int(query.get("pageToken", "pt-0").split("-")[1])
        page = found[offset : offset + size]
        body: dict[str, Any] = {"kind": "calendar#events", "summary": "owner@example.com", "timeZone": ZONE,
                                "items": page}  # fmt: skip
        if offset + size < len(found):
            body["nextPageToken"] = f"pt-{offset + size}"
        else:
            token = f"st-{self._change}"
            self.valid_sync_tokens.add(token)
            body["nextSyncToken"] = token
        return httpx.Response(200, json=body)

    async def _insert(self, body: dict[str, Any]) -> httpx.Response:
        fault = await self._fault("insert")
        if fault is not None:
            return fault
        if "id" in body and "iCalUID" in body:
            return _error(400, "global", "invalid", "Invalid resource id value.")
        uid = body.get("iCalUID")
        if uid and any(e["iCalUID"] == uid for e in self.live()):
            return _error(409, "global", "duplicate", "The requested identifier already exists.")
        event_id = f"ev{next(self._numbers):05d}"
        event = {"kind": "calendar#event", "status": "confirmed", **body, "id": event_id}
        event.setdefault("iCalUID", f"{event_id}@google.com")
        self.events[event_id] = event
        self._touch(event_id)
        return httpx.Response(200, json=event)

    async def _fault(self, endpoint: str) -> httpx.Response | None:
        """The next fault queued for `endpoint`, answered as Google answers it."""
        queued = self.auth.faults.get(endpoint)
        if queued and isinstance(queued[0], str) and queued[0] in FORBIDDEN:
            reason = str(queued.pop(0))
            domain, message = FORBIDDEN[reason]
            return _error(403, domain, reason, message)
        fault = await self.auth.injected(endpoint)
        if fault is None:
            return None
        if fault.status_code == 401:
            return _error(401, "global", "authError", "Invalid Credentials")
        return _throttled(fault) if fault.status_code in (403, 429) else fault

    def _touch(self, event_id: str) -> None:
        self._change += 1
        self.changed[event_id] = self._change


def _when(value: datetime | date | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, datetime):
        return {"dateTime": value.isoformat(), "timeZone": ZONE}
    return {"date": value.isoformat()}


def _moment(value: dict[str, Any]) -> datetime:
    if "dateTime" in value:
        return datetime.fromisoformat(value["dateTime"])
    return datetime.combine(date.fromisoformat(value["date"]), time(0), ZoneInfo(ZONE))


def _start(event: dict[str, Any]) -> datetime:
    return _moment(event["start"])


def _end(event: dict[str, Any]) -> datetime:
    return _moment(event["end"])


def _bound(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, "timeMin/timeMax need an offset"
    return moment.astimezone(UTC)


def _error(status: int, domain: str, reason: str, message: str) -> httpx.Response:
    body = {"error": {"errors": [{"domain": domain, "reason": reason, "message": message}], "code": status,
                      "message": message}}  # fmt: skip
    return httpx.Response(status, json=body)


def _throttled(fault: httpx.Response) -> httpx.Response:
    reason = "userRateLimitExceeded" if fault.status_code == 403 else "rateLimitExceeded"
    answer = _error(fault.status_code, "usageLimits", reason, FORBIDDEN[reason][1])
    answer.headers.update({k: v for k, v in fault.headers.items() if k.lower() == "retry-after"})
    return answer
