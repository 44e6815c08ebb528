"""WixClient: Wix's headers and error envelope on the shared HTTP layer (its retries are tested in
test_remote), and the fake's own faithfulness to the reference (path aliases, auth, wire shapes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.fakes.wix import FakeWix, Fault
from tests.fakes.wix_setup import Clock
from wix_meetings_mcp.bookings.errors import (
    AuthFailed,
    BackendUnavailable,
    BookingError,
    InvalidArgument,
    NotFound,
    PolicyViolation,
    PremiumRequired,
    RateLimited,
    SlotUnavailable,
)
from wix_meetings_mcp.bookings.wix import WixClient, WixConflict, WriteOutcomeUnknown
from wix_meetings_mcp.bookings.wix._payloads import Empty, ServicesResponse

KEY = "IST.secret-key-never-shown"
SITE = "site-123"
QUERY = "/bookings/v2/services/query"
Responder = Callable[[httpx.Request], httpx.Response]


class Script:
    """A transport answering from a list of responders, recording each request."""

    def __init__(self, *steps: Responder) -> None:
        self.steps, self.requests = list(steps), list[httpx.Request]()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.steps.pop(0)(request)


def reply(status: int, body: dict[str, Any] | None = None, **headers: str) -> Responder:
    return lambda request: httpx.Response(
        status, json=body or {}, headers={"x-wix-request-id": "req-1", **headers}
    )


def fail(exc: type[httpx.TransportError]) -> Responder:
    def raise_(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return raise_


def app_error(status: int, code: str, message: str = "") -> Responder:
    return reply(status, {"message": message or code, "details": {"applicationError": {"code": code}}})


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[..., tuple[WixClient, Script, list[float]]]]:
    clients: list[httpx.AsyncClient] = []

    def make(*steps: Responder) -> tuple[WixClient, Script, list[float]]:
        script, sleeps = Script(*steps), list[float]()

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        http = httpx.AsyncClient(transport=httpx.MockTransport(script))
        clients.append(http)
        client = WixClient(client=http, api_key=KEY, site_id=SITE, sleep=sleep, jitter=lambda: 0.5)
        return client, script, sleeps

    yield make
    for http in clients:
        await http.aclose()


async def test_requests_carry_the_raw_key_and_the_site_id(scripted: Callable[..., Any]) -> None:
    client, script, _ = scripted(reply(200, {"services": []}))
    await client.read("POST", QUERY, ServicesResponse, body={"query": {}})
    sent = script.requests[0]
    assert sent.headers["authorization"] == KEY and sent.headers["wix-site-id"] == SITE
    assert sent.headers["content-type"] == "application/json"
    assert str(sent.url) == "https://www.wixapis.com/bookings/v2/services/query"


async def test_a_5xx_on_a_write_is_write_outcome_unknown_with_the_wix_code_and_request_id(
    scripted: Callable[..., Any],
) -> None:
    client, script, _ = scripted(app_error(503, "UNAVAILABLE", "try later"), reply(200))
    with pytest.raises(WriteOutcomeUnknown) as caught:
        await client.write("POST", "/w", Empty, body={})
    assert len(script.requests) == 1
    assert caught.value.status == 503 and caught.value.request_id == "req-1"
    assert caught.value.context["vendor_code"] == "UNAVAILABLE"
    assert "Wix 503" in caught.value.message and "try later" in caught.value.message


async def test_an_unreadable_answer_to_a_write_is_write_outcome_unknown(scripted: Callable[..., Any]) -> None:
    client, _, _ = scripted(lambda request: httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(WriteOutcomeUnknown):
        await client.write("POST", QUERY, ServicesResponse, body={})
    client, _, _ = scripted(lambda request: httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(BackendUnavailable) as caught:
        await client.read("POST", QUERY, ServicesResponse, body={})
    assert not isinstance(caught.value, WriteOutcomeUnknown)


async def test_a_long_retry_after_is_not_waited_out(scripted: Callable[..., Any]) -> None:
    client, _script, sleeps = scripted(reply(429, {}, **{"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        await client.read("GET", "/x", Empty)
    assert sleeps == [] and caught.value.context["retry_after"] == 120.0


@pytest.mark.parametrize(
    ("responder", "error"),
    [
        (app_error(401, "UNAUTHENTICATED"), AuthFailed),
        (app_error(403, "PERMISSION_DENIED"), AuthFailed),
        (app_error(403, "PREMIUM_FEATURE_NOT_ENABLED"), PremiumRequired),
        (app_error(404, "BOOKING_NOT_FOUND"), NotFound),
        (app_error(409, "INVALID_REVISION"), WixConflict),
        (app_error(428, "SLOT_NOT_AVAILABLE"), SlotUnavailable),
        (app_error(428, "BOOKING_POLICY_VIOLATION"), PolicyViolation),
        (app_error(401, "BAD_CREDENTIALS"), InvalidArgument),
        (
            reply(
                400,
                {
                    "message": "bad",
                    "details": {
                        "validationError": {
                            "fieldViolations": [
                                {
                                    "field": "service.name",
                                    "description": "must not be empty",
                                    "ruleName": "INVALID_SERVICE_NAME",
                                }
                            ]
                        }
                    },
                },
            ),
            InvalidArgument,
        ),
    ],
)
async def test_the_error_envelope_maps_to_the_domain_tree(
    scripted: Callable[..., Any], responder: Responder, error: type[BookingError]
) -> None:
    client, _, _ = scripted(responder)
    with pytest.raises(error) as caught:
        await client.write("POST", "/w", Empty, body={})
    assert caught.value.context.get("request_id", getattr(caught.value, "request_id", None)) == "req-1"


async def test_validation_errors_name_the_field_and_premium_is_remembered(
    scripted: Callable[..., Any],
) -> None:
    client, _, _ = scripted(
        reply(
            400,
            {
                "message": "bad",
                "details": {
                    "validationError": {
                        "fieldViolations": [
                            {
                                "field": "service.name",
                                "description": "must not be empty",
                                "ruleName": "INVALID_SERVICE_NAME",
                            }
                        ]
                    }
                },
            },
        ),
        app_error(403, "PREMIUM_FEATURE_NOT_ENABLED"),
    )
    with pytest.raises(InvalidArgument) as caught:
        await client.write("POST", "/w", Empty, body={})
    assert (
        "service.name" in caught.value.message
        and caught.value.context["vendor_code"] == "INVALID_SERVICE_NAME"
    )
    assert not client.premium_denied
    with pytest.raises(PremiumRequired):
        await client.read("GET", "/x", Empty)
    assert client.premium_denied


async def test_no_error_text_ever_holds_the_api_key_or_a_redacted_secret(
    scripted: Callable[..., Any],
) -> None:
    client, _, _ = scripted(
        app_error(400, "VALIDATION_FAILURE", f"key {KEY} is odd"),
        app_error(400, "VALIDATION_FAILURE", "password hunter2 too short"),
        app_error(401, "UNAUTHENTICATED", f"bad key {KEY}"),
    )
    errors = []
    for redact in ((), ("hunter2",), ()):
        with pytest.raises(BookingError) as caught:
            await client.write("POST", "/w", Empty, body={}, redact=redact)
        errors.append(caught.value)
    for error in errors:
        text = f"{error} {error.message} {error.next_step} {error.context}"
        assert KEY not in text and "hunter2" not in text


# ---- the fake follows the reference ----


@pytest.fixture
async def fake_http() -> AsyncIterator[tuple[FakeWix, httpx.AsyncClient]]:
    fake = FakeWix(clock=Clock())
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(fake),
        base_url="https://www.wixapis.com",
        headers={"Authorization": fake.api_key, "wix-site-id": fake.site_id},
    ) as http:
        yield fake, http


async def test_the_fake_routes_both_path_forms(fake_http: tuple[FakeWix, httpx.AsyncClient]) -> None:
    fake, http = fake_http
    host = fake.add_host()
    fake.add_service(host)
    for path in (QUERY, "/_api/bookings/v2/services/query"):
        answer = await http.post(path, json={"query": {}})
        assert answer.status_code == 200 and answer.json()["services"][0]["revision"] == "1"
    for path in ("/bookings/v1/staff-members/", "/bookings/staff/v1/staff-members/"):
        answer = await http.get(path + host["id"], params={"fields": "RESOURCE_DETAILS"})
        assert answer.json()["staffMember"]["resource"]["eventsSchedule"]["id"]
    answer = await http.post("/_api/bookings-reader/v2/extended-bookings/query", json={"query": {}})
    assert answer.json() == {
        "extendedBookings": [],
        "pagingMetadata": {"count": 0, "cursors": {}, "hasNext": False},
    }
    assert fake.calls[1] == f"POST {QUERY}"  # counted under the public form


async def test_the_fake_checks_auth_and_answers_in_the_envelope(
    fake_http: tuple[FakeWix, httpx.AsyncClient],
) -> None:
    fake, http = fake_http
    wrong = await http.get("/bookings/v2/services/x", headers={"Authorization": "nope"})
    assert wrong.status_code == 401 and wrong.headers["x-wix-request-id"]
    assert wrong.json()["details"]["applicationError"]["code"] == "UNAUTHENTICATED"
    bearer = await http.get("/bookings/v2/services/x", headers={"Authorization": f"Bearer {fake.api_key}"})
    assert (
        bearer.status_code == 404
        and bearer.json()["details"]["applicationError"]["code"] == "SERVICE_NOT_FOUND"
    )
    no_site = await http.get("/bookings/v2/services/x", headers={"wix-site-id": "other"})
    assert no_site.status_code == 403
    unknown = await http.get("/bookings/v3/nothing")
    assert unknown.status_code == 404


async def test_the_fake_rejects_slot_location_types_on_create_booking(
    fake_http: tuple[FakeWix, httpx.AsyncClient],
) -> None:
    fake, http = fake_http
    service = fake.add_service(fake.add_host())
    slot = {
        "serviceId": service["id"],
        "scheduleId": service["schedule"]["id"],
        "startDate": "2026-12-01T10:00:00",
        "endDate": "2026-12-01T10:30:00",
        "timezone": "Europe/Berlin",
        "resource": {"id": service["staffMemberIds"][0]},
        "location": {"locationType": "BUSINESS"},
    }
    body = {"booking": {"bookedEntity": {"slot": slot}, "totalParticipants": 1}}
    rejected = await http.post("/bookings/v2/bookings", json=body)
    assert rejected.status_code == 400 and "validationError" in rejected.json()["details"]
    slot["location"] = {"locationType": "OWNER_BUSINESS", "id": fake.business_location["id"]}
    created = await http.post("/_api/bookings-service/v2/bookings", json=body)
    booking = created.json()["booking"]
    assert booking["status"] == "CREATED" and booking["revision"] == "1"
    assert booking["bookedEntity"]["slot"]["startDate"] == "2026-12-01T10:00:00.000+01:00"
    assert booking["bookingSource"]["appName"] == "Wix Meetings"
    # A CREATED booking holds no slot (Verified correction 3): a second one can be created...
    second = (await http.post("/bookings/v2/bookings", json=body)).json()["booking"]
    decided = await http.post(f"/bookings/v2/confirmation/{booking['id']}:confirmOrDecline", json={})
    assert decided.json()["booking"]["status"] == "CONFIRMED"
    # ...but once the first is confirmed the slot is taken, and Wix declines the unpaid double booking.
    taken = await http.post("/bookings/v2/bookings", json=body)
    assert (
        taken.status_code == 428
        and taken.json()["details"]["applicationError"]["code"] == "SLOT_NOT_AVAILABLE"
    )
    declined = await http.post(f"/bookings/v2/confirmation/{second['id']}:confirmOrDecline", json={})
    assert declined.json()["booking"]["status"] == "DECLINED"
    stale = await http.post(f"/bookings/v2/bookings/{booking['id']}/confirm", json={"revision": "7"})
    assert stale.status_code == 409


async def test_injected_faults_hit_only_matching_requests(
    fake_http: tuple[FakeWix, httpx.AsyncClient],
) -> None:
    fake, http = fake_http
    fake.inject("POST", QUERY, Fault.throttled("3"))
    throttled = await http.post(QUERY, json={})
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "3"
    assert (await http.post(QUERY, json={})).status_code == 200
    fake.inject("POST", QUERY, Fault(timeout=True))
    with pytest.raises(httpx.ReadTimeout):
        await http.post(QUERY, json={})
    assert fake.count("POST", QUERY) == 3
