"""MeetergoClient: auth headers and the NestJS error mapping on the shared HTTP layer (whose retry
rules are tested in test_remote), and the fake's faithfulness to the documented routes."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests._meetergo import PAT, PLATFORM_KEY, TUESDAY_9, World, open_world, request_for
from tests.conftest import FakeClock
from tests.fakes.meetergo import Fault
from wix_meetings_mcp.bookings.errors import (
    AuthFailed,
    BackendUnavailable,
    BookingError,
    InvalidArgument,
    NotFound,
    PlanLimitReached,
    RateLimited,
    SlotUnavailable,
    WriteOutcomeUnknown,
)
from wix_meetings_mcp.bookings.meetergo import MeetergoClient
from wix_meetings_mcp.bookings.model import Slot


@pytest.fixture
async def world(clock: FakeClock) -> AsyncIterator[World]:
    async with open_world(clock) as w:
        yield w


async def a_slot(world: World, start: datetime = TUESDAY_9) -> Slot:
    link = await world.backend.get_link(world.solo)
    slots = await world.backend.find_slots(
        link, start=start, end=start + timedelta(hours=1), duration=timedelta(minutes=30)
    )
    return slots[0]


def texts(error: BaseException) -> str:
    """Everything an error could show: message, next step, context, the whole traceback chain."""
    parts = ["".join(traceback.format_exception(error)), repr(error)]
    if isinstance(error, BookingError):
        parts += [error.message, error.next_step or "", repr(error.context)]
    return "\n".join(parts)


# --- the shared HTTP layer as meetergo uses it (its rules are tested in test_remote) --------------


async def test_a_read_is_retried_on_429_and_503_through_the_shared_layer(world: World) -> None:
    path = f"/v4/meeting-type/{world.solo}"
    world.fake.inject("GET", path, Fault("429", retry_after="2"), Fault("503"))
    link = await world.backend.get_link(world.solo)
    assert link.link_id == world.solo and world.fake.calls[f"GET {path}"] == 3
    assert world.sleeps == [2.0, 1.0]  # Retry-After, then backoff (jitter pinned to 1.0)


async def test_a_retry_after_given_as_an_http_date_is_read_with_the_injected_clock(
    world: World, clock: FakeClock
) -> None:
    when = format_datetime(clock.now + timedelta(seconds=5), usegmt=True)
    world.fake.inject("GET", "/v4/meeting-type", Fault("429", retry_after=when))
    await world.backend.list_links()
    assert world.sleeps == [5.0]


async def test_a_503_on_a_booking_is_not_repeated_and_nothing_is_booked(world: World) -> None:
    slot = await a_slot(world)
    world.fake.inject("POST", "/v4/booking", Fault("503"))
    with pytest.raises(WriteOutcomeUnknown) as caught:
        await world.backend.book(request_for(slot), meetings_limit=None)
    assert caught.value.status == 503 and caught.value.message.startswith("meetergo: ")
    assert world.fake.calls["POST /v4/booking"] == 1 and world.fake.live_appointments() == []


async def test_a_throttle_longer_than_the_cap_is_rate_limited_with_retry_after(world: World) -> None:
    world.fake.inject("GET", "/v4/meeting-type", Fault("429", retry_after="120"))
    with pytest.raises(RateLimited) as caught:
        await world.backend.list_links()
    assert caught.value.context["retry_after"] == 120.0 and world.sleeps == []


# --- auth ----------------------------------------------------------------------------------------


async def test_a_personal_token_never_sends_the_user_id_header(world: World) -> None:
    await world.backend.book(request_for(await a_slot(world)), meetings_limit=None)
    assert world.fake.requests and all("x-meetergo-api-user-id" not in r.headers for r in world.fake.requests)
    assert {r.headers["authorization"] for r in world.fake.requests} == {f"Bearer {PAT}"}


async def test_a_platform_key_acts_as_the_configured_user_on_every_request(clock: FakeClock) -> None:
    async with open_world(clock, api_key=PLATFORM_KEY, platform_user=True) as w:
        meeting = await w.backend.book(request_for(await a_slot(w)), meetings_limit=None)
        await w.backend.cancel(meeting.meeting_id, reason=None, notify_attendee=True)
        assert {r.headers["x-meetergo-api-user-id"] for r in w.fake.requests} == {w.host}
        assert {r.headers["authorization"] for r in w.fake.requests} == {f"Bearer {PLATFORM_KEY}"}


async def test_the_fake_refuses_the_user_id_header_with_a_personal_token(world: World) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(world.fake)) as raw:
        headers = {"Authorization": f"Bearer {PAT}", "x-meetergo-api-user-id": world.host}
        response = await raw.get("https://api.meetergo.com/v4/meeting-type", headers=headers)
    assert response.status_code == 403 and response.json()["error"] == "Forbidden"


def test_a_misconfigured_user_id_is_refused_at_construction() -> None:
    http = httpx.AsyncClient()
    with pytest.raises(ValueError, match="only for platform"):
        MeetergoClient(client=http, api_key=PAT, user_id="user-1")
    with pytest.raises(ValueError, match="MEETERGO_USER_ID"):
        MeetergoClient(client=http, api_key=PLATFORM_KEY)


async def test_the_official_clients_v4_base_url_is_accepted(clock: FakeClock) -> None:
    async with open_world(clock, base_url="https://api.meetergo.com/v4/") as w:
        assert [link.link_id for link in await w.backend.list_links()] == [w.solo]
        assert all(r.url.path.startswith("/v4/") and "/v4/v4" not in r.url.path for r in w.fake.requests)


async def test_no_error_text_ever_holds_the_api_key(clock: FakeClock) -> None:
    errors: list[BaseException] = []
    async with open_world(clock, api_key=PLATFORM_KEY, platform_user=True) as w:
        slot = await a_slot(w)
        w.fake.seed_appointment(w.solo, slot.start, "first@example.com")
        w.fake.inject("GET", "/v4/meeting-type", *[Fault("503")] * 4, Fault("429", retry_after="999"))
        w.fake.inject("POST", "/v4/booking", Fault("timeout"))
        attempts = [
            w.backend.get_meeting("appt-missing"),
            w.backend.list_links(),
            w.backend.list_links(),
            w.backend.book(request_for(slot, email="x@example.com"), meetings_limit=None),
            w.backend.book(request_for(slot), meetings_limit=None),
            w.client.post("/v4/booking", {"attendee": "flat"}),
        ]
        for attempt in attempts:
            with pytest.raises(BookingError) as caught:
                await attempt
            errors.append(caught.value)
        w.fake.api_key = "ak_live:rotated:other"
        with pytest.raises(AuthFailed) as denied:
            await w.backend.get_account()
        errors.append(denied.value)
    assert [type(e).__name__ for e in errors] == [
        "NotFound", "BackendUnavailable", "RateLimited", "WriteOutcomeUnknown", "SlotUnavailable",
        "InvalidArgument", "AuthFailed",
    ]  # fmt: skip
    for error in errors:
        assert PLATFORM_KEY not in texts(error) and "s3cr3t-platform-value" not in texts(error)


# --- error mapping -------------------------------------------------------------------------------


async def test_vendor_validation_errors_keep_the_joined_vendor_message(world: World) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.client.post("/v4/booking", {"meetingTypeId": world.solo, "attendee": {"email": "a@b.c"}})
    assert caught.value.message == (
        "meetergo: attendee.receiveReminders must be a boolean value; attendee.notes must be an object"
    )
    assert caught.value.context["status"] == 400


async def test_the_fake_follows_the_documented_routes_and_host_scope_rule(world: World) -> None:
    with pytest.raises(InvalidArgument, match="Expected hostIds or queueId"):
        await world.client.get(
            "/v4/booking-availability", {"meetingTypeId": world.solo, "start": "2026-12-01"}
        )
    for wrong in ("/v4/appointment", "/v4/calendar-connections"):
        with pytest.raises(NotFound):
            await world.client.get(wrong)
    with pytest.raises(InvalidArgument, match="page"):
        await world.client.get("/v4/appointment/paginated")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"statusCode": 401, "message": "Invalid API key", "error": "Unauthorized"}, AuthFailed),
        (403, {"statusCode": 403, "message": "Not authorized", "error": "Forbidden"}, AuthFailed),
        (404, {"statusCode": 404, "message": "Meeting type not found", "error": "Not Found"}, NotFound),
        (
            400,
            {"statusCode": 400, "message": "The selected time slot is no longer available"},
            SlotUnavailable,
        ),
        (409, {"statusCode": 409, "message": "Conflict", "error": "Conflict"}, SlotUnavailable),
        (400, {"statusCode": 400, "message": ["duration must be a number"]}, InvalidArgument),
        (429, {"statusCode": 429, "message": "Too Many Requests"}, RateLimited),
        (502, {"statusCode": 502, "message": "Bad Gateway"}, BackendUnavailable),
        (403, {"statusCode": 403, "code": "PLAN_LIMIT_REACHED", "feature": "webhooks"}, PlanLimitReached),
    ],
)
async def test_vendor_statuses_map_to_the_domain_error_tree(
    status: int, body: dict[str, object], error: type[BookingError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = MeetergoClient(client=http, api_key=PAT, sleep=no_wait)
        with pytest.raises(error) as caught:
            await client.get("/v4/meeting-type")
    assert type(caught.value) is error
    assert caught.value.context.get("status", getattr(caught.value, "status", None)) == status
    assert PAT not in texts(caught.value)


async def no_wait(seconds: float) -> None:
    """Retried statuses (429, 502) end in the same mapping after the shared layer's attempts."""
