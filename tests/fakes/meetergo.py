"""A stateful fake of the meetergo REST API v4, served through httpx.MockTransport.

Follows shared/reference/meetergo-api.md: `/v4/...` paths, Bearer auth with the
`x-meetergo-api-user-id` rules (required with platform keys, refused with PATs), camelCase wire
names and NestJS error bodies `{statusCode, message, error}`. Where sources disagree it accepts
both spellings (availability dates or ISO timestamps, `hostIds` comma list or repeated key,
`allowPhoneOnlyBooking` nested or top-level, a configurable `bookingType` casing).

Behaviour the reference leaves NOT FOUND is marked "assumed" below. Fault injection per
"METHOD /path": 429 (+ Retry-After), 503, a timeout before the request is applied, and a response
dropped after it was applied. `calls` counts requests per "METHOD /path".
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

import httpx

Json = dict[str, Any]
PROVIDERS = ("google", "outlook", "icloud", "caldav", "exchange", "smart-we", "ics")
_ON = {"enabled", "true", "always"}  # assumed: the exact enum strings are NOT FOUND


@dataclass
class Fault:
    kind: str  # "429", "503", "timeout" (before applying) or "drop" (after applying)
    retry_after: str | None = None


class VendorError(Exception):
    def __init__(self, status: int, message: str | list[str]) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class FakeMeetergo:
    now: Callable[[], datetime]
    api_key: str = "rgo-" + "k" * 32
    time_zone: str = "Europe/Berlin"
    booking_type_spelling: str = "DoubleOptIn"  # docs; the official MCP's tests use "doubleOptIn"
    list_variant: str = "bare"  # "bare" array (current) or "wrapped" {meetingTypes: [...]} (stale)
    cancel_returns_empty: bool = False  # the n8n node's test stubs an empty cancel body
    users: dict[str, Json] = field(default_factory=dict)
    meeting_types: dict[str, Json] = field(default_factory=dict)
    queues: dict[str, list[str]] = field(default_factory=dict)
    appointments: dict[str, Json] = field(default_factory=dict)
    provisional: dict[str, Json] = field(default_factory=dict)
    connections: list[Json] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    requests: list[httpx.Request] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    owner_id: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- set-up --------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def add_user(self, name: str, email: str, *, owner: bool = False) -> str:
        user_id = self._id("user")
        given, _, family = name.partition(" ")
        self.users[user_id] = {
            "id": user_id, "givenName": given, "familyName": family, "fullName": name, "email": email,
            "slug": given.lower(), "timezone": self.time_zone, "language": "en", "userType": "standard",
        }  # fmt: skip
        if owner or not self.owner_id:
            self.owner_id = user_id
        return user_id

    def add_queue(self, *user_ids: str) -> str:
        queue_id = self._id("queue")
        self.queues[queue_id] = list(user_ids)
        return queue_id

    def add_meeting_type(
        self,
        name: str,
        *,
        user_id: str | None = None,
        queue_id: str | None = None,
        duration: int = 30,
        allowed_durations: tuple[int, ...] = (),
        enabled: bool = True,
        channel: str = "zoom",
        double_opt_in: str = "disabled",
        require_host_confirmation: str = "disabled",
        allow_phone_only: bool = False,
        spots: int = 1,
    ) -> str:
        type_id = self._id("mt")
        owner = user_id or (self.queues[queue_id][0] if queue_id else self.owner_id)
        self.meeting_types[type_id] = {
            "id": type_id, "slug": name.lower().replace(" ", "-"), "enabled": enabled, "spots": spots,
            "userId": None if queue_id else owner, "queueId": queue_id, "companyId": "company-1",
            "locations": [], "bookingMinimum": 0, "deletedAt": None, "createdAt": self._iso(self.now()),
            "meetingInfo": {"name": name, "description": "", "duration": duration, "channel": channel,
                            "bufferBefore": 0, "bufferAfter": 0},
            "meetingOptions": {"allowedDurations": list(allowed_durations), "doubleOptIn": double_opt_in,
                               "requireHostConfirmation": require_host_confirmation,
                               "allowPhoneOnlyBooking": allow_phone_only},
            "_owner": owner,
        }  # fmt: skip
        return type_id

    def add_connection(self, user_id: str, provider: str, email: str, **fields: Any) -> str:
        connection_id = self._id("conn")
        self.connections.append(
            {"id": connection_id, "provider": provider, "email": email, "isPrimary": False,
             "isConnected": True,
             "selectedCalendars": [], "createdAt": self._iso(self.now()), "_user": user_id, **fields}
        )  # fmt: skip
        return connection_id

    def inject(self, method: str, path: str, *faults: Fault) -> None:
        self.faults.setdefault(f"{method} {path}", []).extend(faults)

    def confirm_provisional(self, provisional_id: str) -> str:
        """The attendee clicks the opt-in link: the provisional booking becomes an appointment."""
        entry = self.provisional.pop(provisional_id)
        return self._create_appointment(entry["dto"], entry["_host"], entry["_type"])

    def seed_appointment(self, type_id: str, start: datetime, email: str, *, cancelled: bool = False) -> str:
        """An appointment made elsewhere (booking page, dashboard), without availability checks."""
        meeting_type = self.meeting_types[type_id]
        attendee = {"email": email, "fullname": email.split("@")[0], "receiveReminders": True, "notes": {}}
        dto = {
            "start": start.isoformat(),
            "duration": meeting_type["meetingInfo"]["duration"],
            "attendee": attendee,
        }
        appointment_id = self._create_appointment(dto, meeting_type["_owner"], type_id)
        if cancelled:
            self.appointments[appointment_id].update(
                isCancelled=True, cancel={"actionAt": self._iso(self.now())}
            )
        return appointment_id

    def live_appointments(self) -> list[Json]:
        return [a for a in self.appointments.values() if not a["isCancelled"]]

    # --- transport -----------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        self.calls[key] += 1
        self.requests.append(request)
        try:
            acting = self._authenticate(request)
            fault = self.faults.get(key, []).pop(0) if self.faults.get(key) else None
            if fault and fault.kind == "429":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._error(VendorError(429, "Too Many Requests"), headers)
            if fault and fault.kind == "503":
                return self._error(VendorError(503, "Service Unavailable"))
            if fault and fault.kind == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            status, body = self._route(request, acting)
            if fault and fault.kind == "drop":
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
        except VendorError as exc:
            return self._error(exc)
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    def _authenticate(self, request: httpx.Request) -> str:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise VendorError(401, "Invalid API key")
        header = request.headers.get("x-meetergo-api-user-id")
        if not self.api_key.startswith("ak_live:"):
            if header is not None:  # "the API rejects the header outright" with a PAT
                raise VendorError(403, "x-meetergo-api-user-id cannot be used with a personal access token")
            return self.owner_id
        exempt = {"POST /v4/user", "GET /v4/user/me", "GET /v4/booking-availability"}
        if header is None:
            if f"{request.method} {request.url.path}" in exempt:
                return self.owner_id
            # The status for a missing header is assumed (the reference names none).
            raise VendorError(401, "x-meetergo-api-user-id header is required with an API key")
        if header not in self.users:
            raise VendorError(404, "User not found")
        return str(header)

    def _error(self, exc: VendorError, headers: dict[str, str] | None = None) -> httpx.Response:
        body = {"statusCode": exc.status, "message": exc.message, "error": HTTPStatus(exc.status).phrase}
        return httpx.Response(exc.status, json=body, headers=headers)

    def _route(self, request: httpx.Request, acting: str) -> tuple[int, Any]:
        method, path, q = request.method, request.url.path, request.url.params
        body: Json = _json(request) if method in ("POST", "PATCH") else {}
        routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("GET", r"/v4/user/me", lambda: (200, self._public(self.users[acting]))),
            ("GET", r"/v4/meeting-type", lambda: (200, self._list_types(acting))),
            ("GET", r"/v4/meeting-type/([^/]+)", lambda i: (200, self._public(self._type(i)))),
            ("PATCH", r"/v4/meeting-type/([^/]+)", lambda i: (200, self._patch_type(i, body))),
            ("GET", r"/v4/booking-availability", lambda: (200, self._availability(q))),
            ("POST", r"/v4/booking", lambda: (201, self._book(body))),
            ("GET", r"/v4/appointment/paginated", lambda: (200, self._paginated(q, acting))),
            ("GET", r"/v4/appointment/([^/]+)", lambda i: (200, self._appointment(i))),
            ("POST", r"/v4/appointment/([^/]+)/reschedule", lambda i: (201, self._reschedule(i, body))),
            ("POST", r"/v4/appointment/([^/]+)/cancel", lambda i: self._cancel(i, body, acting)),
            ("POST", r"/v4/provisional-booking/([^/]+)/decline", lambda i: self._decline(i, body)),
            ("GET", r"/v4/calendar-connections/auth/([^/]+)/url", lambda p: (200, self._auth_url(p, q))),
            ("GET", r"/v4/calendar-connections/connections", lambda: (200, self._connections(q, acting))),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return handler(*match.groups())
        raise VendorError(404, f"Cannot {method} {path}")  # e.g. bare /v4/appointment: not a route

    # --- meeting types -------------------------------------------------------------------------

    def _type(self, type_id: str) -> Json:
        found = self.meeting_types.get(type_id)
        if found is None or found["deletedAt"]:
            raise VendorError(404, "Meeting type not found")
        return found

    def _list_types(self, acting: str) -> Any:
        slug = self.users[acting]["slug"]
        items = [
            {"id": t["id"], "slug": t["slug"], "bookingUrl": f"https://cal.meetergo.com/{slug}/{t['slug']}",
             "meetingInfo": {k: t["meetingInfo"][k] for k in ("name", "description", "duration", "channel")}}
            for t in self.meeting_types.values()
            if not t["deletedAt"] and acting in (t["userId"], *self.queues.get(t["queueId"] or "", ()))
        ]  # fmt: skip
        return {"meetingTypes": items} if self.list_variant == "wrapped" else items

    def _patch_type(self, type_id: str, body: Json) -> Json:
        found = self._type(type_id)
        # whitelist: true — undecorated properties are dropped silently.
        if "enabled" in body:
            found["enabled"] = bool(body["enabled"])
        if "slug" in body:
            found["slug"] = body["slug"]
        found["meetingInfo"].update(body.get("meetingInfo") or {})
        found["meetingOptions"].update(body.get("meetingOptions") or {})
        if "allowPhoneOnlyBooking" in body:  # the voice-bot recipe's top-level spelling
            found["meetingOptions"]["allowPhoneOnlyBooking"] = bool(body["allowPhoneOnlyBooking"])
        return self._public(found)  # assumed: the PATCH response shape is undocumented

    # --- availability --------------------------------------------------------------------------

    def _availability(self, q: httpx.QueryParams) -> Json:
        host_ids = [h for raw in q.get_list("hostIds") for h in raw.split(",") if h]
        queue_id = q.get("queueId")
        if not host_ids and not queue_id:  # checked before the meeting type is loaded
            raise VendorError(400, "Expected hostIds or queueId")
        if "start" not in q or "end" not in q:
            raise VendorError(
                400,
                ["start must be a valid ISO 8601 date string", "end must be a valid ISO 8601 date string"],
            )
        meeting_type = self._type(q["meetingTypeId"])
        tz = ZoneInfo(q.get("timezone") or self.time_zone)
        first, last = _day(q["start"], tz), _day(q["end"], tz)
        minutes = self._duration(meeting_type, q.get("meetingDuration"))
        hosts = self.queues.get(queue_id, []) if queue_id else host_ids
        exclude = q.get("existingAppointmentId")
        dates = []
        day = first
        while day < last:  # `end` exclusive: a same-day range comes back empty
            starts = [
                s
                for s in self._grid(day, tz, minutes)
                if self._free_host(meeting_type, hosts, s, minutes, exclude)
            ]
            if starts:
                spots = [
                    {"startTime": s.isoformat(timespec="milliseconds"), "unavailabilityEvents": []}
                    for s in starts
                ]
                dates.append({"date": day.isoformat(), "spots": spots})
            day += timedelta(days=1)
        earliest = dates[0]["date"] if dates else None
        return {"timezone": str(tz), "timeframes": [], "dates": dates, "earliestAvailableDate": earliest}

    def _grid(self, day: date, tz: ZoneInfo, minutes: int) -> list[datetime]:
        if day.weekday() >= 5:
            return []
        start = datetime.combine(day, time(9), tz)
        return [start + timedelta(minutes=m) for m in range(0, 8 * 60 - minutes + 1, minutes)]

    def _duration(self, meeting_type: Json, raw: object) -> int:
        minutes = int(str(raw)) if raw is not None else meeting_type["meetingInfo"]["duration"]
        allowed = {
            meeting_type["meetingInfo"]["duration"],
            *meeting_type["meetingOptions"]["allowedDurations"],
        }
        if minutes not in allowed:
            raise VendorError(400, "Duration must match one of the allowed durations for this meeting type")
        return minutes

    def _free_host(
        self, meeting_type: Json, hosts: list[str], start: datetime, minutes: int, exclude: str | None
    ) -> str | None:
        if not meeting_type["enabled"] or start <= self.now() + timedelta(
            minutes=meeting_type["bookingMinimum"]
        ):
            return None
        end = start + timedelta(minutes=minutes)
        busy = [a for a in self.live_appointments() if a["id"] != exclude]
        busy += [p for p in self.provisional.values() if p["status"] == "pending"]  # held until confirmed
        for host in hosts:
            if not any(
                host in b["hostIds"] and _parse(b["start"]) < end and start < _parse(b["end"]) for b in busy
            ):
                return host
        return None

    # --- booking -------------------------------------------------------------------------------

    def _book(self, body: Json) -> Json:
        attendee = body.get("attendee")
        if not isinstance(attendee, dict):  # a flat body is refused
            raise VendorError(400, ["attendee must be an object"])
        problems = []
        if not isinstance(attendee.get("receiveReminders"), bool):
            problems.append("attendee.receiveReminders must be a boolean value")
        if not isinstance(attendee.get("notes"), dict):
            problems.append("attendee.notes must be an object")
        if len(attendee.get("bringalongEmails") or []) > 5:
            problems.append("attendee.bringalongEmails must contain no more than 5 elements")
        if len(body.get("icsTitle") or "") > 200:
            problems.append("icsTitle must be shorter than or equal to 200 characters")
        if len(body.get("icsDescription") or "") > 2000:
            problems.append("icsDescription must be shorter than or equal to 2000 characters")
        if problems:
            raise VendorError(400, problems)
        if not body.get("hostIds") and not body.get("queueId"):
            raise VendorError(400, "hostIds or queueId is required")
        meeting_type = self._type(str(body.get("meetingTypeId")))
        if body.get("phoneOnlyBooking"):
            if not meeting_type["meetingOptions"]["allowPhoneOnlyBooking"]:
                raise VendorError(400, "Phone-only booking is not enabled for this meeting type")  # assumed
            if not attendee.get("phone"):
                raise VendorError(400, ["attendee.phone should not be empty"])
        elif not attendee.get("email"):
            raise VendorError(400, ["attendee.email must be an email"])
        minutes = self._duration(meeting_type, body.get("duration"))
        start = _parse(str(body.get("start")))
        hosts = self.queues[body["queueId"]] if body.get("queueId") else list(body["hostIds"])
        tz = ZoneInfo(self.time_zone)
        offered = start in self._grid(start.astimezone(tz).date(), tz, minutes)
        host = self._free_host(meeting_type, hosts, start, minutes, None) if offered else None
        if host is None:  # also for a disabled type (assumed: that behaviour is NOT FOUND)
            raise VendorError(400, "The selected time slot is no longer available")
        dto = {**body, "duration": minutes}
        options = meeting_type["meetingOptions"]
        if options["doubleOptIn"] in _ON or options["requireHostConfirmation"] in _ON:
            provisional_id = self._id("prov")
            kind = self.booking_type_spelling
            if options["doubleOptIn"] not in _ON:
                kind = "RequireHostConfirmation" if kind[0].isupper() else "requireHostConfirmation"
            end = start + timedelta(minutes=minutes)
            self.provisional[provisional_id] = {
                "id": provisional_id, "dto": dto, "type": kind, "status": "pending", "hostIds": [host],
                "start": self._iso(start), "end": self._iso(end), "_host": host, "_type": meeting_type["id"],
            }  # fmt: skip
            return {"bookingType": kind, "provisionalBookingId": provisional_id}
        appointment_id = self._create_appointment(dto, host, meeting_type["id"])
        return {"appointmentId": appointment_id, "secret": self.appointments[appointment_id]["secret"]}

    def _create_appointment(self, dto: Json, host: str, type_id: str) -> str:
        attendee = dto["attendee"]
        start = _parse(dto["start"])
        appointment_id = self._id("appt")
        info = self.meeting_types[type_id]["meetingInfo"]
        self.appointments[appointment_id] = {
            "id": appointment_id, "secret": f"secret-{appointment_id}", "ics": "BEGIN:VCALENDAR...",
            "start": self._iso(start), "end": self._iso(start + timedelta(minutes=dto["duration"])),
            "isCancelled": False, "cancel": None, "rescheduledAt": None, "rescheduleCount": 0,
            "meetingTypeId": type_id, "hostIds": [host], "companyId": "company-1",
            "meetingInfo": dict(info),
            "hostingInfo": {"mainHost": host, "meetingLink": f"https://zoom.us/j/{appointment_id}"},
            "attendees": [{"id": self._id("att"), **{k: attendee.get(k) for k in (
                "email", "firstname", "lastname", "fullname", "phone", "timezone", "language", "notes")}}],
            "attendeeIds": [], "createdAt": self._iso(self.now()), "updatedAt": self._iso(self.now()),
            "_dto": dto,
        }  # fmt: skip
        return appointment_id

    # --- appointments --------------------------------------------------------------------------

    def _appointment(self, appointment_id: str) -> Json:
        found = self.appointments.get(appointment_id)
        if found is None:
            raise VendorError(404, "Appointment not found")
        return self._public(found)

    def _paginated(self, q: httpx.QueryParams, acting: str) -> Json:
        if "page" not in q or "pageSize" not in q:  # GetPaginatedAppointmentsDto requires both
            raise VendorError(400, ["page must be an integer number", "pageSize must be an integer number"])
        page, size = int(q["page"]), int(q["pageSize"])
        items = [a for a in self.appointments.values() if self._visible(a, acting)]
        if "start" in q:
            items = [a for a in items if _parse(a["start"]) >= _parse(q["start"])]
        if "end" in q:
            items = [a for a in items if _parse(a["start"]) <= _parse(q["end"])]
        if "meetingTypeId" in q:
            items = [a for a in items if a["meetingTypeId"] == q["meetingTypeId"]]
        key = "createdAt" if q.get("sortBy") == "appointment.createdAt" else "start"
        items.sort(key=lambda a: _parse(a[key]), reverse=q.get("sortDirection") == "DESC")
        return {
            "appointments": [self._public(a) for a in items[page * size : (page + 1) * size]],
            "total": len(items),
        }

    def _visible(self, appointment: Json, acting: str) -> bool:
        queue = self.meeting_types[appointment["meetingTypeId"]]["queueId"]
        return acting in appointment["hostIds"] or acting in self.queues.get(queue or "", [])

    def _reschedule(self, appointment_id: str, body: Json) -> Json:
        found = self.appointments.get(appointment_id)
        if found is None:
            raise VendorError(404, "Appointment not found")
        if found["isCancelled"]:
            raise VendorError(400, "Cannot reschedule a cancelled appointment")  # assumed
        start = _parse(str(body.get("start")))
        minutes = int((_parse(found["end"]) - _parse(found["start"])).total_seconds() // 60)  # duration stays
        meeting_type = self.meeting_types[found["meetingTypeId"]]
        free = self._free_host(meeting_type, found["hostIds"], start, minutes, appointment_id)
        if not body.get("ignoreAvailability") and free is None:
            raise VendorError(400, "The selected time slot is no longer available")  # assumed, like booking's
        previous = found["start"]
        found.update(start=self._iso(start), end=self._iso(start + timedelta(minutes=minutes)))
        found.update(rescheduledAt=self._iso(self.now()), rescheduleCount=found["rescheduleCount"] + 1)
        return {"appointment": self._public(found), "previousStart": previous}

    def _cancel(self, appointment_id: str, body: Json, acting: str) -> tuple[int, Any]:
        found = self.appointments.get(appointment_id)
        if found is None:
            raise VendorError(404, "Appointment not found")
        if len(body.get("reason") or "") > 500:
            raise VendorError(400, ["reason must be shorter than or equal to 500 characters"])
        group = self.meeting_types[found["meetingTypeId"]]["spots"] > 1
        if group and not body.get("attendeeId") and not body.get("cancelAll"):
            raise VendorError(400, "attendeeId or cancelAll is required for group bookings")
        found["isCancelled"] = True
        found["cancel"] = {"actionSource": "host", "actionAt": self._iso(self.now()), "actionBy": acting,
                           "reason": body.get("reason")}  # fmt: skip
        return (200, None) if self.cancel_returns_empty else (200, self._public(found))

    def _decline(self, provisional_id: str, body: Json) -> tuple[int, Any]:
        found = self.provisional.get(provisional_id)
        if found is None:
            raise VendorError(404, "Provisional booking not found")
        found.update(status="declined_by_host", reason=body.get("reason"))
        return 201, None  # assumed: the response body is undocumented

    # --- calendar connections ------------------------------------------------------------------

    def _auth_url(self, provider: str, q: httpx.QueryParams) -> Json:
        if provider not in PROVIDERS:
            raise VendorError(400, [f"provider must be one of the following values: {', '.join(PROVIDERS)}"])
        state = f"user={q.get('userId', 'me')}&redirect={q.get('redirectUrl', '')}"
        return {"authUrl": f"https://accounts.{provider}.example/oauth?{state}", "provider": provider}

    def _connections(self, q: httpx.QueryParams, acting: str) -> Json:
        user = q.get("userId") or acting
        mine = [self._public(c) for c in self.connections if c["_user"] == user]
        return {"connections": mine, "total": len(mine)}

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _public(entity: Json) -> Json:
        return {k: v for k, v in entity.items() if not k.startswith("_")}

    @staticmethod
    def _iso(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(request: httpx.Request) -> Json:
    if request.headers.get("content-type") != "application/json":
        raise VendorError(400, "Content-Type must be application/json")
    data = json.loads(request.content or b"{}")
    if not isinstance(data, dict):
        raise VendorError(400, "Request body must be an object")
    return data


def _parse(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise VendorError(400, ["start must be a valid ISO 8601 date string"]) from exc
    if parsed.tzinfo is None:
        raise VendorError(400, ["start must carry a UTC offset"])
    return parsed


def _day(value: str, tz: ZoneInfo) -> date:
    """Availability `start`/`end`: `YYYY-MM-DD` (docs) or a full ISO timestamp (official MCP)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    return _parse(value).astimezone(tz).date()
