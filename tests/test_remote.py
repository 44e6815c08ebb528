"""The shared vendor HTTP layer: retries and backoff, Retry-After in both forms with one cap,
which failures leave a write "maybe applied", and that no secret survives into an error."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from wix_meetings_mcp.bookings import remote
from wix_meetings_mcp.bookings.errors import (
    BackendUnavailable,
    BookingError,
    InvalidArgument,
    RateLimited,
    WriteOutcomeUnknown,
)
from wix_meetings_mcp.bookings.remote import Remote, Scrubber
from wix_meetings_mcp.tools.errors import from_booking_error

KEY = "sk-live-0123456789abcdef"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
Responder = Callable[[httpx.Request], httpx.Response]


class Vendor:
    """A transport answering from a script, and the vendor-side error mapping under test."""

    def __init__(self, *steps: Responder) -> None:
        self.steps, self.requests = list(steps), list[httpx.Request]()
        self.applied = 0  # writes the vendor carried out

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.steps.pop(0)(request)

    @staticmethod
    def refuse(response: httpx.Response) -> BookingError:
        text = response.json().get("message", "") if response.content else ""
        if response.status_code == 429:
            return RateLimited(f"throttled: {text}", status=429, retry_after=None)
        if response.status_code >= 500:
            return BackendUnavailable(f"down: {text}", status=response.status_code, request_id="r-9")
        return InvalidArgument(f"refused: {text}", status=response.status_code)


def reply(status: int, message: str = "", **headers: str) -> Responder:
    return lambda request: httpx.Response(status, json={"message": message}, headers=headers)


def fail(exc: type[httpx.TransportError]) -> Responder:
    def raise_(request: httpx.Request) -> httpx.Response:
        raise exc("connection trouble", request=request)

    return raise_


def applied_then_dropped(vendor: Vendor) -> Responder:
    def drop(request: httpx.Request) -> httpx.Response:
        vendor.applied += 1
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    return drop


Make = Callable[..., tuple[Remote, Vendor, list[float]]]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    clients: list[httpx.AsyncClient] = []

    def build(*steps: Responder, secrets: Sequence[str] = (KEY,)) -> tuple[Remote, Vendor, list[float]]:
        vendor, sleeps = Vendor(*steps), list[float]()

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        http = httpx.AsyncClient(transport=httpx.MockTransport(vendor))
        clients.append(http)
        client = Remote(
            client=http,
            base_url="https://api.vendor.test",
            vendor="Vendor",
            refuse=Vendor.refuse,
            secrets=secrets,
            sleep=sleep,
            jitter=lambda: 0.5,
            clock=lambda: NOW,
        )
        return client, vendor, sleeps

    yield build
    for http in clients:
        await http.aclose()


async def get(client: Remote) -> httpx.Response:
    return await client.send("GET", "/things", headers={}, write=False)


async def post(client: Remote, *, idempotent: bool = False, redact: Sequence[str] = ()) -> httpx.Response:
    return await client.send(
        "POST", "/things", headers={}, json={"a": 1}, write=True, idempotent=idempotent, redact=redact
    )


def everything(error: BaseException) -> str:
    """All an error could show a model or a log: texts, context and the printed traceback chain."""
    parts = ["".join(traceback.format_exception(error)), repr(error), str(error)]
    if isinstance(error, BookingError):
        parts += [error.message, error.next_step or "", repr(error.context)]
    return "\n".join(parts)


# ---- Retry-After ----------------------------------------------------------------------------------


async def test_a_429_is_retried_after_the_seconds_retry_after_names(make: Make) -> None:
    client, vendor, sleeps = make(reply(429, **{"Retry-After": "3"}), reply(200))
    assert (await get(client)).status_code == 200
    assert len(vendor.requests) == 2 and sleeps == [3.0]


async def test_a_429_is_retried_at_the_http_date_retry_after_names(make: Make) -> None:
    when = format_datetime(NOW + timedelta(seconds=7), usegmt=True)
    client, vendor, sleeps = make(reply(429, **{"Retry-After": when}), reply(200))
    assert (await get(client)).status_code == 200
    assert sleeps == [7.0] and len(vendor.requests) == 2


async def test_a_retry_after_date_in_the_past_retries_at_once(make: Make) -> None:
    when = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    client, _, sleeps = make(reply(429, **{"Retry-After": when}), reply(200))
    await get(client)
    assert sleeps == [0.0]


@pytest.mark.parametrize(
    "retry_after",
    [str(int(remote.RETRY_AFTER_CAP) + 1), format_datetime(NOW + timedelta(minutes=2), usegmt=True)],
)
async def test_a_retry_after_beyond_the_cap_is_not_waited_out_in_either_form(
    make: Make, retry_after: str
) -> None:
    client, vendor, sleeps = make(reply(429, "slow down", **{"Retry-After": retry_after}))
    with pytest.raises(RateLimited) as caught:
        await get(client)
    assert sleeps == [] and len(vendor.requests) == 1 and "slow down" in caught.value.message


async def test_a_retry_after_at_the_cap_is_waited(make: Make) -> None:
    client, _, sleeps = make(reply(429, **{"Retry-After": str(int(remote.RETRY_AFTER_CAP))}), reply(200))
    await get(client)
    assert sleeps == [remote.RETRY_AFTER_CAP]


async def test_one_call_never_waits_longer_than_the_budget_in_all(make: Make) -> None:
    wait = str(int(remote.RETRY_AFTER_CAP))
    client, vendor, sleeps = make(*[reply(429, **{"Retry-After": wait})] * remote.MAX_ATTEMPTS)
    with pytest.raises(RateLimited):
        await get(client)
    assert sum(sleeps) <= remote.WAIT_BUDGET and len(vendor.requests) == len(sleeps) + 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("0", 0.0), (" 12 ", 12.0), ("1.5", 1.5), ("-4", 0.0), ("soon", None), ("inf", None), ("nan", None)],
)
async def test_retry_after_values_are_read_safely(make: Make, header: str, seconds: float | None) -> None:
    client, _, _ = make()
    assert client.retry_after(httpx.Response(429, headers={"Retry-After": header})) == seconds


# ---- reads: retried on 5xx and transport failures, bounded --------------------------------------


async def test_reads_back_off_exponentially_with_jitter_on_5xx_and_timeouts(make: Make) -> None:
    client, vendor, sleeps = make(reply(503), fail(httpx.ReadTimeout), reply(502), reply(200))
    assert (await get(client)).status_code == 200
    assert len(vendor.requests) == 4 and sleeps == [0.375, 0.75, 1.5]  # jitter 0.5 on 0.5, 1, 2 s


async def test_read_retries_are_bounded_and_end_in_the_vendors_error(make: Make) -> None:
    client, vendor, sleeps = make(*[reply(503, "maintenance")] * remote.MAX_ATTEMPTS)
    with pytest.raises(BackendUnavailable) as caught:
        await get(client)
    assert len(vendor.requests) == remote.MAX_ATTEMPTS and len(sleeps) == remote.MAX_ATTEMPTS - 1
    assert not isinstance(caught.value, WriteOutcomeUnknown)
    assert caught.value.status == 503 and "maintenance" in caught.value.message


async def test_a_read_that_keeps_timing_out_is_backend_unavailable(make: Make) -> None:
    client, vendor, _ = make(*[fail(httpx.ReadTimeout)] * remote.MAX_ATTEMPTS)
    with pytest.raises(BackendUnavailable) as caught:
        await get(client)
    assert "timed out" in caught.value.message and caught.value.next_step
    assert len(vendor.requests) == remote.MAX_ATTEMPTS


async def test_a_4xx_is_never_retried(make: Make) -> None:
    client, vendor, sleeps = make(reply(400, "bad field"))
    with pytest.raises(InvalidArgument, match="bad field"):
        await get(client)
    assert len(vendor.requests) == 1 and sleeps == []


# ---- writes: retried only where it is safe; otherwise "maybe applied" ---------------------------


async def test_a_write_is_retried_on_429(make: Make) -> None:
    client, vendor, sleeps = make(reply(429, **{"Retry-After": "1"}), reply(201))
    assert (await post(client)).status_code == 201
    assert len(vendor.requests) == 2 and sleeps == [1.0]


async def test_a_5xx_on_a_write_is_not_retried_and_its_outcome_is_unknown(make: Make) -> None:
    client, vendor, _ = make(reply(500, "boom"), reply(201))
    with pytest.raises(WriteOutcomeUnknown) as caught:
        await post(client)
    error = caught.value
    assert len(vendor.requests) == 1
    assert error.status == 500 and "boom" in error.message and "may or may not" in error.message
    assert error.code == "upstream_unavailable"


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError])
async def test_a_write_that_was_sent_and_then_failed_is_not_retried(
    make: Make, failure: type[httpx.TransportError]
) -> None:
    client, vendor, _ = make(fail(failure), reply(201))
    with pytest.raises(WriteOutcomeUnknown):
        await post(client)
    assert len(vendor.requests) == 1


async def test_a_dropped_response_after_a_write_is_write_outcome_unknown_and_sent_once(make: Make) -> None:
    client, vendor, _ = make()
    vendor.steps = [applied_then_dropped(vendor), reply(201)]
    with pytest.raises(WriteOutcomeUnknown) as caught:
        await post(client)
    assert vendor.applied == 1 and len(vendor.requests) == 1
    assert "failed in transit" in caught.value.message


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout])
async def test_a_write_that_never_left_is_retried(make: Make, failure: type[httpx.TransportError]) -> None:
    client, vendor, sleeps = make(fail(failure), reply(201))
    assert (await post(client)).status_code == 201
    assert len(vendor.requests) == 2 and len(sleeps) == 1


async def test_a_write_that_never_left_after_every_attempt_is_plainly_unavailable(make: Make) -> None:
    client, _, _ = make(*[fail(httpx.ConnectError)] * remote.MAX_ATTEMPTS)
    with pytest.raises(BackendUnavailable) as caught:
        await post(client)
    assert not isinstance(caught.value, WriteOutcomeUnknown)  # nothing reached the vendor


async def test_an_idempotent_write_is_retried_like_a_read(make: Make) -> None:
    client, vendor, _ = make(reply(503), fail(httpx.ReadTimeout), reply(200))
    assert (await post(client, idempotent=True)).status_code == 200
    assert len(vendor.requests) == 3


async def test_an_unreadable_answer_to_a_write_still_means_it_was_applied(make: Make) -> None:
    client, _, _ = make()
    answer = httpx.Response(200, content=b"<html>", request=httpx.Request("POST", "https://x.test/things"))
    assert isinstance(client.unreadable(answer, "POST", "/things", write=True), WriteOutcomeUnknown)
    read = client.unreadable(answer, "GET", "/things", write=False)
    assert type(read) is BackendUnavailable


async def test_the_agent_is_told_to_check_before_writing_again() -> None:
    result = from_booking_error(WriteOutcomeUnknown("The booking call timed out; it may have been applied."))
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and text.startswith("upstream_unavailable: ")
    assert "list_meetings" in text and "never just repeat" in text


# ---- scrubbing --------------------------------------------------------------------------------------


LEAKS = [
    f"key {KEY} rejected",
    "header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig was refused",
    "token Bearer eyJhbGciOiJIUzI1NiJ9.other was sent",
    "proxy-authorization: Basic eyJhbGciOiJIUzI1NiJ9 denied",
    'got {"authorization": "IST.raw-wix-key-value"}',
    "x-api-key=abcdef123456 is unknown",
    "see https://cal.example.com/feed.ics?token=abc123SECRET&view=week",
    "fetch https://ada:hunter22@dav.example.com/cal failed",
    "redirect to https://vendor.test/cb?code=oauth-code-999&state=s",
]


@pytest.mark.parametrize("text", LEAKS)
def test_the_scrubber_removes_every_credential_shape(text: str) -> None:
    clean = Scrubber((KEY,))(text)
    for secret in (
        KEY, "eyJhbGciOiJIUzI1NiJ9", "IST.raw-wix-key-value", "abcdef123456",
        "abc123SECRET", "hunter22", "oauth-code-999",
    ):  # fmt: skip
        assert secret not in clean
    assert remote.REDACTED in clean


def test_the_scrubber_keeps_ordinary_text() -> None:
    text = "Basic availability: meeting type not found (GET /v4/meeting-type/abc?start=2026-12-01)"
    assert Scrubber((KEY,))(text) == text


async def test_no_error_from_the_layer_holds_a_secret(make: Make) -> None:
    client, _, _ = make(
        reply(400, f"bad key {KEY}; password pw-0000-1111 too weak"),
        reply(500, "upstream said Authorization: Bearer tok_abcdefghijk"),
        *[fail(httpx.ReadTimeout)] * remote.MAX_ATTEMPTS,
    )
    errors: list[BaseException] = []
    for call in (post(client, redact=("pw-0000-1111",)), post(client), get(client)):
        with pytest.raises(BookingError) as caught:
            await call
        errors.append(caught.value)
    assert [type(e) for e in errors] == [InvalidArgument, WriteOutcomeUnknown, BackendUnavailable]
    for error in errors:
        shown = everything(error)
        assert KEY not in shown and "pw-0000-1111" not in shown and "tok_abcdefghijk" not in shown


async def test_a_transport_error_does_not_carry_the_request_and_its_headers(make: Make) -> None:
    client, _, _ = make(fail(httpx.ReadTimeout))
    with pytest.raises(WriteOutcomeUnknown) as caught:
        await client.send("POST", "/x", headers={"Authorization": KEY}, json={}, write=True)
    error: Any = caught.value
    assert error.__cause__ is None and error.__suppress_context__
    assert KEY not in everything(error)
