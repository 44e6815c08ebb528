"""A stateful fake of www.wixapis.com for tests, following shared/reference/wix-api.md to the letter.

Use it as an `httpx.MockTransport` handler: `httpx.AsyncClient(transport=httpx.MockTransport(fake))`.
It routes both path forms of §1.1, checks the API-key headers of §1.3 (raw or `Bearer` key plus
`wix-site-id`), answers errors in the §1.4 envelope with an `x-wix-request-id`, keeps revisions as
strings bumped on every update, and can inject faults per route: an HTTP status (429 with
`Retry-After`, 503...), a timeout, or a response dropped after the write was applied. Every call is
recorded as "METHOD /public/path" in `calls`, so tests can hold adapters to call budgets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.fakes import wix_bookings as bookings
from tests.fakes import wix_calendars as calendars
from tests.fakes import wix_catalog as catalog
from tests.fakes import wix_conferencing as conferencing
from tests.fakes import wix_forms as forms
from tests.fakes.wix_common import MEETINGS_APP_ID, Req, WixError, bump, new_id, wire_time

ALIASES = (  # §1.1: alias prefix → public prefix
    ("/_api/bookings/v2/services", "/bookings/v2/services"),
    ("/_api/bookings-service/v2/bookings", "/bookings/v2/bookings"),
    ("/_api/service-availability/v2/time-slots", "/service-availability/v2/time-slots"),
    (
        "/_api/bookings-reader/v2/extended-bookings/query",
        "/bookings/bookings-reader/v2/extended-bookings/query",
    ),
    ("/bookings/staff/v1/staff-members", "/bookings/v1/staff-members"),
    ("/bookings/services/v2/bulk/services", "/bookings/v2/bulk/services"),
)
_ID = "([^/:]+)"
_EXT = "/bookings/v2/external-calendars"
Handler = Callable[[Any, Req], dict[str, Any]]
ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/meetings/v1/provision-meetings-app", catalog.provision),
    ("POST", "/bookings/v2/services/query", catalog.query_services),
    ("POST", "/bookings/v2/services", catalog.create_service),
    ("GET", f"/bookings/v2/services/{_ID}", catalog.get_service),
    ("PATCH", f"/bookings/v2/services/{_ID}", catalog.update_service),
    ("POST", f"/bookings/v2/services/{_ID}/locations", catalog.set_locations),
    ("POST", "/service-availability/v2/time-slots", bookings.list_time_slots),
    ("POST", "/service-availability/v2/time-slots/get", bookings.get_time_slot),
    ("POST", "/bookings/v2/bookings", bookings.create_booking),
    ("POST", f"/bookings/v2/bookings/{_ID}/reschedule", bookings.reschedule_booking),
    ("POST", f"/bookings/v2/bookings/{_ID}/cancel", bookings.cancel_booking),
    ("POST", f"/bookings/v2/bookings/{_ID}/confirm", bookings.confirm_booking),
    ("POST", f"/bookings/v2/confirmation/{_ID}:confirmOrDecline", bookings.confirm_or_decline),
    ("POST", "/bookings/bookings-reader/v2/extended-bookings/query", bookings.query_extended_bookings),
    ("POST", "/bookings/bookings-reader/v2/extended-bookings/count", bookings.count_extended_bookings),
    ("GET", f"/bookings/v1/booking-policies/{_ID}", catalog.get_policy),
    ("PATCH", f"/bookings/v1/booking-policies/{_ID}", catalog.update_policy),
    ("POST", "/bookings/v1/staff-members", catalog.create_staff),
    ("POST", "/bookings/v1/staff-members/query", catalog.query_staff),
    ("GET", f"/bookings/v1/staff-members/{_ID}", catalog.get_staff),
    ("POST", f"/bookings/v1/staff-members/{_ID}/connect-staff-member-to-user", catalog.connect_staff),
    ("GET", f"/form-schema-service/v4/forms/{_ID}", forms.get_form),
    ("GET", f"{_EXT}/providers", calendars.list_providers),
    ("POST", f"{_EXT}/connections:connectByOAuth", calendars.connect_by_oauth),
    ("POST", f"{_EXT}/connections:connectByCredentials", calendars.connect_by_credentials),
    ("GET", f"{_EXT}/connections", calendars.list_connections),
    ("GET", f"{_EXT}/connections/{_ID}", calendars.get_connection),
    ("POST", f"{_EXT}/connections/{_ID}/disconnect", calendars.disconnect),
    ("PATCH", f"{_EXT}/connections/{_ID}/sync-config", calendars.update_sync_config),
    ("GET", f"{conferencing.BASE}/providers", conferencing.list_providers),
    ("POST", f"{conferencing.BASE}/connections/connect", conferencing.connect),
    ("GET", f"{conferencing.BASE}/connections", conferencing.list_connections),
    ("POST", f"{conferencing.BASE}/connections/mark-as-disconnected", conferencing.mark_as_disconnected),
    ("POST", "/ecom/v1/checkouts", bookings.create_checkout),
    ("GET", f"/ecom/v1/checkouts/{_ID}/checkout-url", bookings.checkout_url),
]


@dataclass
class Fault:
    """What to do instead of (or after) answering one matching request."""

    status: int | None = None  # answer with this status in the error envelope
    code: str | None = None
    retry_after: str | None = None
    timeout: bool = False  # raise httpx.ReadTimeout without applying the request
    drop: bool = False  # apply the request, then lose the response (the connection drops)
    before: Callable[[], None] | None = None  # e.g. someone else updates the entity first
    after: Callable[[], None] | None = None  # e.g. Wix answers, yet the entity is not as asked

    @classmethod
    def throttled(cls, retry_after: str | None = "1") -> Fault:
        return cls(status=429, code="TOO_MANY_REQUESTS", retry_after=retry_after)

    @classmethod
    def unavailable(cls) -> Fault:
        return cls(status=503, code="UNAVAILABLE")


class FakeWix:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        api_key: str = "IST.fake-wix-api-key-0123456789",
        site_id: str = "5c1b1a3e-0000-4000-8000-000000000001",
        premium: bool = True,
        time_zone: str = "Europe/Berlin",
        site_url: str = "https://studio.example.com",
    ) -> None:
        self.clock, self.api_key, self.site_id = clock, api_key, site_id
        self.premium, self.time_zone, self.site_url = premium, time_zone, site_url
        self.working_days, self.opens, self.closes = (0, 1, 2, 3, 4), time(9), time(17)
        self.business_location = {
            "id": new_id(),
            "name": "Studio",
            "default": True,
            "address": {"formattedAddress": "Torstraße 1, 10119 Berlin, Germany", "city": "Berlin"},
        }
        self.staff: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        self.bookings: dict[str, dict[str, Any]] = {}
        self.form_submissions: dict[str, dict[str, Any]] = {}
        self.sms_reminders: dict[str, bool] = {}  # booking id → the sendSmsReminder Wix applied
        self.forms: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, str] = {}
        self.checkouts: dict[str, dict[str, Any]] = {}
        self.providers = calendars.default_providers()
        self.connections: dict[str, dict[str, Any]] = {}
        self.oauth_requests: dict[str, dict[str, Any]] = {}
        self.conferencing_providers = conferencing.default_providers()
        self.conferencing: dict[tuple[str, str], dict[str, Any]] = {}  # (resourceId, appId) → connection
        self.external_busy: list[tuple[datetime, datetime]] = []
        self.provisioning: dict[str, str] | None = None
        self.slot_page_size = 1000  # lower it to make Time Slots page
        self.calls: list[str] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._faults: list[tuple[str, re.Pattern[str], Fault]] = []
        self._routes = [(m, re.compile(p), h) for m, p, h in ROUTES]

    # ---- seeding and test hooks ----

    def default_policy_id(self) -> str:
        found = next((p for p in self.policies.values() if p.get("default")), None)
        return str((found or catalog.default_policy(self))["id"])

    def meetings_form_id(self) -> str:
        """The site's `wix.meetings.form` booking form (provisioning makes one; wix-forms.md §2)."""
        found = next(
            (f for f in self.forms.values() if f["namespace"] == forms.MEETINGS_FORM_NAMESPACE), None
        )
        if found is None:
            found = forms.meetings_form()
            self.forms[found["id"]] = found
        return str(found["id"])

    def meetings_form(self) -> dict[str, Any]:
        return self.forms[self.meetings_form_id()]

    def add_host(self, name: str = "Ada Host", email: str | None = "ada@example.com") -> dict[str, Any]:
        return catalog.new_staff(self, name, email)

    def add_service(
        self,
        host: dict[str, Any],
        name: str = "Intro call",
        *,
        durations: tuple[int, ...] = (30,),
        location: str = "BUSINESS",
        price: str | None = None,
        deposit: str | None = None,
        full_upfront: bool = False,
        manual_approval: bool = False,
        conferencing: bool = False,
        active: bool = True,
        app_id: str = MEETINGS_APP_ID,
        created_by_app_id: str | None = None,
        buffer_minutes: int = 0,
    ) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "type": "APPOINTMENT",
            "appId": app_id,
            "createdByAppId": created_by_app_id or app_id,
            "name": name,
            "onlineBooking": {"enabled": active, "requireManualApproval": manual_approval},
            "schedule": {
                "availabilityConstraints": {
                    "sessionDurations": list(durations),
                    "timeBetweenSessions": buffer_minutes,
                }
            },
            "staffMemberIds": [host["resourceId"]],
            "conferencing": {"enabled": conferencing},
            "locations": [
                {
                    "type": location,
                    **({"business": {"id": self.business_location["id"]}} if location == "BUSINESS" else {}),
                }
            ],
        }
        if location == "CUSTOM":
            raw["locations"] = [
                {"type": "CUSTOM", "custom": {"address": {"formattedAddress": "Hafen 3, Hamburg"}}}
            ]
        if price is not None:
            fixed: dict[str, Any] = {
                "price": {"value": price, "currency": "EUR", "formattedValue": f"€{price}"}
            }
            if deposit is not None:
                fixed["deposit"] = {"value": deposit, "currency": "EUR"}
                fixed["fullUpfrontPaymentAllowed"] = full_upfront
            raw["payment"] = {
                "rateType": "FIXED",
                "fixed": fixed,
                "options": {"online": True, "inPerson": False, "deposit": deposit is not None},
            }
        return catalog.build_service(self, raw)

    def policy_of(self, service: dict[str, Any]) -> dict[str, Any]:
        return self.policies[service["bookingPolicy"]["id"]]

    def touch(self, entity: dict[str, Any]) -> None:
        """Someone else (the Wix dashboard) updates an entity: its revision moves on."""
        bump(entity, self.clock())

    def pay(self, booking_id: str) -> None:
        """The eCommerce order is paid: payment status syncs and the booking is confirmed (§11.2 step 4)."""
        booking = self.bookings[booking_id]
        booking["paymentStatus"], booking["status"] = "PAID", "CONFIRMED"
        bump(booking, self.clock())

    def complete_oauth(self, oauth_url: str, email: str) -> str:
        return calendars.complete_oauth(self, oauth_url, email)

    def block(self, start: datetime, minutes: int) -> None:
        """A busy time imported from the host's connected calendar."""
        self.external_busy.append((start, start + timedelta(minutes=minutes)))

    def inject(self, method: str, path: str, fault: Fault, *, times: int = 1) -> None:
        """Apply `fault` to the next `times` requests whose public path fully matches the regex `path`."""
        self._faults.extend([(method, re.compile(path), fault)] * times)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for call in self.calls
            if (method is None or call.split(" ", 1)[0] == method)
            and (path is None or re.fullmatch(path, call.split(" ", 1)[1]))
        )

    # ---- transport ----

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for alias, public in ALIASES:
            if path == alias or path.startswith(alias + "/") or path.startswith(alias + ":"):
                path = public + path[len(alias) :]
                break
        self.calls.append(f"{request.method} {path}")
        headers = {"x-wix-request-id": new_id()}
        try:
            self._authenticate(request)
            fault = self._take_fault(request.method, path)
            if fault and fault.before:
                fault.before()
            if fault and fault.timeout:
                raise httpx.ReadTimeout("timed out waiting for Wix", request=request)
            if fault and fault.status:
                if fault.retry_after:
                    headers["Retry-After"] = fault.retry_after
                raise WixError(fault.status, fault.code, f"{fault.code}: injected fault")
            handler, groups = self._route(request.method, path)
            body = json.loads(request.content) if request.content else {}
            params = parse_qs(request.url.query.decode(), keep_blank_values=True)
            result = handler(self, Req(request.method, path, groups, body, params))
            if fault and fault.after:
                fault.after()
            if fault and fault.drop:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            return httpx.Response(200, json=result, headers=headers)
        except WixError as error:
            return httpx.Response(error.status, json=error.envelope(), headers=headers)

    def _authenticate(self, request: httpx.Request) -> None:
        key = request.headers.get("authorization", "")
        if key.removeprefix("Bearer ") != self.api_key:
            raise WixError(401, "UNAUTHENTICATED", "UNAUTHENTICATED: missing or invalid Authorization header")
        if request.headers.get("wix-site-id") != self.site_id:
            raise WixError(403, "PERMISSION_DENIED", "PERMISSION_DENIED: the key has no access to this site")

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for index, (fault_method, pattern, fault) in enumerate(self._faults):
            if fault_method == method and pattern.fullmatch(path):
                del self._faults[index]
                return fault
        return None

    def _route(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
        for route_method, pattern, handler in self._routes:
            found = pattern.fullmatch(path)
            if found and route_method == method:
                return handler, found.groups()
        raise WixError(404, "NOT_FOUND", f"NOT_FOUND: no route {method} {path}")


__all__ = ["MEETINGS_APP_ID", "FakeWix", "Fault", "wire_time"]
