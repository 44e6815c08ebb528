"""Google Calendar API v3: a connected calendar's busy events (full and incremental sync) and the
writes an export makes (insert, patch, delete, look-up by iCalUID).

Facts used, from https://developers.google.com/calendar/api/v3/reference/events/list and the guides:
- `events.list` with `singleEvents=true` expands recurring events into instances; `timeMin` /
  `timeMax` bound a full sync; pages follow `nextPageToken`, and the last page carries
  `nextSyncToken`, passed back as `syncToken` (which excludes timeMin/timeMax) for the changes
  since; an expired token answers 410 Gone: sync fully again (guides/sync).
- An incremental answer includes deleted events (`status: "cancelled"`); `transparency:
  "transparent"` marks an event that does not block time; all-day events carry `date`, timed ones
  `dateTime` (RFC 3339); the answer's `timeZone` is the calendar's.
- `events.insert` takes the RFC 5545 UID as `iCalUID` (not together with `id`); `sendUpdates=none`
  sends no notifications; `extendedProperties.private` is this calendar's copy only
  (guides/extended-properties); deleting an event already deleted answers 410 (guides/errors).
- Errors (guides/errors, guides/quota): 429 and the 403s of domain `usageLimits`
  (`rateLimitExceeded`, `userRateLimitExceeded`, `quotaExceeded` "Calendar usage limits exceeded")
  ask the client to slow down: exponential backoff, never access withdrawn; 401 means the access
  token is no longer good; other 403s (such as `forbiddenForNonOrganizer`) refuse the request.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, tzinfo
from urllib.parse import quote, urlencode

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
from wix_meetings_mcp.bookings.local.provider_http import ProviderHttp, json_body, retry_status
from wix_meetings_mcp.bookings.outbound import Answer, OutboundError

PRIVATE_KEY = "meetingsMcpUid"  # our mark in extendedProperties.private, beside the iCalUID
_THROTTLED = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


class GoogleCalendar:
    """One Google calendar (the account's primary one unless named) over one access token."""

    def __init__(
        self,
        *,
        http: ProviderHttp,
        api_url: str,
        bearer: Bearer,
        zone: tzinfo,
        calendar_id: str = "primary",
    ) -> None:
        self._http = http
        self._bearer = bearer
        self._zone = zone  # for all-day events when the answer names no zone
        self._events = f"{api_url.rstrip('/')}/calendars/{quote(calendar_id, safe='')}/events"

    async def changes(self, cursor: str | None, start: datetime, end: datetime) -> Changes:
        params = {"singleEvents": "true", "maxResults": "250"}
        params |= {"syncToken": cursor} if cursor else {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end)}
        found = Changes(full=cursor is None)
        page: object = None
        for _ in range(self._http.limits.max_pages):
            query = params | ({"pageToken": page} if isinstance(page, str) else {})
            answer = await self._call("GET", f"{self._events}?{urlencode(query)}")
            if answer.status == 410 and cursor:
                raise SyncExpired
            if answer.status != 200:
                raise OutboundError("unreachable")
            data = json_body(answer)
            zone = known_zone(data.get("timeZone"), self._zone)
            items = data.get("items")
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    _sort(item, zone, found)
            if len(found.busy) > self._http.limits.max_events:
                raise OutboundError("too_large")
            page = data.get("nextPageToken")
            if not isinstance(page, str) or not page:
                token = data.get("nextSyncToken")
                return replace(found, cursor=token if isinstance(token, str) and token else None)
        raise OutboundError("too_large")  # more pages than a calendar of busy times needs

    async def create(self, event: ExportEvent) -> str:
        body = _body(event) | {
            "iCalUID": event.uid,
            "extendedProperties": {"private": {PRIVATE_KEY: event.uid}},
        }
        answer = await self._call("POST", f"{self._events}?sendUpdates=none", body)
        if answer.status == 409:  # a repeat after a lost answer: the first insert went through
            found = await self.find(event.uid)
            if found is not None:
                return found
        return created_id(written(answer))

    async def update(self, event_id: str, event: ExportEvent) -> None:
        answer = await self._call("PATCH", f"{self._event(event_id)}?sendUpdates=none", _body(event))
        if answer.status in (404, 410):
            raise EventGone
        written(answer)

    async def delete(self, event_id: str) -> None:
        answer = await self._call("DELETE", f"{self._event(event_id)}?sendUpdates=none")
        if answer.status not in (404, 410):  # already gone is what was wanted
            written(answer)

    async def find(self, uid: str) -> str | None:
        answer = await self._call("GET", f"{self._events}?{urlencode({'iCalUID': uid})}")
        items = json_body(written(answer)).get("items")
        for item in items if isinstance(items, list) else []:
            if (
                isinstance(item, dict)
                and item.get("status") != "cancelled"
                and isinstance(item.get("id"), str)
            ):
                return str(item["id"])
        return None

    def _event(self, event_id: str) -> str:
        return f"{self._events}/{quote(event_id, safe='')}"

    async def _call(self, method: str, url: str, payload: dict[str, object] | None = None) -> Answer:
        return await call(self._http, self._bearer, method, url, payload, retryable=_retryable)


def _sort(item: dict[str, object], zone: tzinfo, found: Changes) -> None:
    """File one event of an answer as busy or removed."""
    event_id = item.get("id")
    if not isinstance(event_id, str) or not event_id:
        return
    private = item.get("extendedProperties")
    private = private.get("private") if isinstance(private, dict) else None
    if (
        item.get("status") == "cancelled"
        or item.get("transparency") == "transparent"
        or is_ours(item.get("iCalUID"))
        or (isinstance(private, dict) and is_ours(private.get(PRIVATE_KEY)))
    ):
        found.removed.append(event_id)
        return
    found.add(event_id, _when(item.get("start"), zone), _when(item.get("end"), zone))


def _when(value: object, zone: tzinfo) -> datetime | None:
    if not isinstance(value, dict):
        return None
    try:
        if isinstance(value.get("dateTime"), str):
            return parse_time(value["dateTime"], known_zone(value.get("timeZone"), zone))
        if isinstance(value.get("date"), str):  # all day: from midnight in the calendar's zone
            return datetime.combine(date.fromisoformat(value["date"]), time(0), zone)
    except ValueError:
        return None
    return None


def _body(event: ExportEvent) -> dict[str, object]:
    """The host's copy of the meeting: no attendees, so Google invites nobody (ours went by mail)."""
    meeting = event.meeting
    body: dict[str, object] = {
        "summary": host_summary(meeting),
        "description": host_description(meeting),
        "start": {"dateTime": _rfc3339(meeting.start)},
        "end": {"dateTime": _rfc3339(meeting.end)},
        "transparency": "opaque",
        "status": "confirmed",
    }
    place = meeting_place(meeting)
    if place:
        body["location"] = place
    return body


def _throttled(answer: Answer) -> bool:
    """Google's 403 usageLimits errors are throttling, answered like a 429 (guides/errors, quota)."""
    if answer.status != 403:
        return False
    error = error_body(answer)
    errors = None if error is None else error.get("errors")
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("domain") == "usageLimits" or e.get("reason") in _THROTTLED)
        for e in errors
    )


def _retryable(answer: Answer) -> bool:
    return retry_status(answer) or _throttled(answer)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
