"""Thin HTTP layer over the Wix REST APIs: auth headers, error envelope, bounded retries.

One injected `httpx.AsyncClient`; no client is ever built here. Responses are parsed into the
private payload models of `_payloads.py` by the caller-supplied type; failures are raised as
`bookings.errors` types that keep the vendor code, message, HTTP status and `x-wix-request-id`
(wix-api.md §1.3, §1.4, §1.5). The API key never appears in an error text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal, TypeVar

import anyio
import httpx
from pydantic import BaseModel, ValidationError

from wix_meetings_mcp.bookings.errors import (
    AuthFailed,
    BackendError,
    BackendUnavailable,
    BookingError,
    InvalidArgument,
    NotFound,
    NotSupported,
    PolicyViolation,
    PremiumRequired,
    RateLimited,
    SlotUnavailable,
)
from wix_meetings_mcp.bookings.wix._payloads import ErrorEnvelope

DEFAULT_BASE_URL = "https://www.wixapis.com"

T = TypeVar("T", bound=BaseModel)
Method = Literal["GET", "POST", "PATCH", "DELETE"]
Params = Mapping[str, str | Sequence[str]]

PREMIUM_CODES = frozenset({"PREMIUM_FEATURE_NOT_ENABLED", "PREMIUM_ONLY"})
SLOT_CODES = frozenset(
    {
        "SLOT_NOT_AVAILABLE",
        "SLOT_NOT_FOUND",
        "SLOT_HOLD_UNAVAILABLE",
        "SESSION_CAPACITY_EXCEEDED",
        "SCHEDULE_CAPACITY_EXCEEDED",
    }
)
# Transport failures where the request provably never reached Wix; anything else after a write
# leaves its outcome unknown.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class WixConflict(BackendUnavailable):
    """409: a stale revision (or another state conflict); callers re-read and retry once."""


class WriteOutcomeUnknown(BackendUnavailable):
    """A write timed out, lost its response or met a 5xx: it may or may not have been applied."""


class WixClient:
    """Site-level Wix REST calls with an API key (`Authorization: <key>`, `wix-site-id`)."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        api_key: str,
        site_id: str,
        base_url: str = DEFAULT_BASE_URL,
        max_attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not api_key or not site_id:
            raise InvalidArgument("The Wix API key and site id are both required.")
        self._http = client
        self._api_key = api_key
        self._site_id = site_id
        self._base_url = base_url.rstrip("/")
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._jitter = jitter
        self.premium_denied = False  # set once Wix answers PREMIUM_FEATURE_NOT_ENABLED

    async def read(
        self, method: Method, path: str, into: type[T], *, body: object = None, params: Params | None = None
    ) -> T:
        """GET or a query/list POST: retried on 429, 5xx and transport errors."""
        return await self._call(method, path, into, body=body, params=params, safe=True)

    async def write(
        self,
        method: Method,
        path: str,
        into: type[T],
        *,
        body: object = None,
        idempotent: bool = False,
        redact: Sequence[str] = (),
    ) -> T:
        """A mutation: retried only on 429 (the API takes no idempotency key), unless `idempotent`.

        `redact` lists request secrets (an Apple app-specific password) kept out of any error text.
        """
        return await self._call(method, path, into, body=body, safe=idempotent, redact=redact)

    async def _call(
        self,
        method: Method,
        path: str,
        into: type[T],
        *,
        body: object,
        safe: bool,
        params: Params | None = None,
        redact: Sequence[str] = (),
    ) -> T:
        headers = {"Authorization": self._api_key, "wix-site-id": self._site_id}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            try:
                response = await self._http.request(
                    method,
                    self._base_url + path,
                    headers=headers,
                    params=params,
                    json=body,
                )
            except httpx.TransportError as exc:
                if safe and not last:
                    await self._sleep(self._backoff(attempt))
                    continue
                raise self._transport_error(
                    exc, method, path, sent=not isinstance(exc, _NOT_SENT), safe=safe
                ) from None
            if response.is_success:
                return self._parse(response, into, path, safe=safe)
            error = self._error(response, redact)
            retryable = response.status_code == 429 or (safe and response.status_code >= 500)
            if retryable and not last:
                delay = self._retry_after(response)
                if delay is None or delay <= self._backoff_max:
                    await self._sleep(self._backoff(attempt) if delay is None else delay)
                    continue
            if not safe and response.status_code >= 500:
                raise WriteOutcomeUnknown(
                    error.message,
                    status=response.status_code,
                    request_id=response.headers.get("x-wix-request-id"),
                    path=path,
                ) from None
            raise error
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_max, self._backoff_base * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._jitter() * ceiling / 2  # "equal jitter"

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after", "").strip()
        try:
            return max(0.0, float(value)) if value else None
        except ValueError:
            return None  # an HTTP-date: fall back to our own backoff

    def _parse(self, response: httpx.Response, into: type[T], path: str, *, safe: bool) -> T:
        try:
            return into.model_validate_json(response.content or b"{}")
        except ValidationError:
            # An unreadable answer to a write still means the write happened: callers reconcile.
            kind = BackendUnavailable if safe else WriteOutcomeUnknown
            raise kind(
                f"Wix returned an unexpected response for {path}.",
                status=response.status_code,
                request_id=response.headers.get("x-wix-request-id"),
            ) from None

    def _transport_error(
        self, exc: httpx.TransportError, method: str, path: str, *, sent: bool, safe: bool
    ) -> BackendUnavailable:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed in transit"
        message = f"The Wix call {method} {path} {kind}."
        next_step = "Try again in a moment."
        if sent and not safe:
            return WriteOutcomeUnknown(message, next_step=next_step, path=path)
        return BackendUnavailable(message, next_step=next_step, path=path)

    def _scrub(self, text: str, redact: Sequence[str]) -> str:
        for secret in (self._api_key, *redact):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def _error(self, response: httpx.Response, redact: Sequence[str]) -> BookingError:
        status = response.status_code
        request_id = response.headers.get("x-wix-request-id")
        try:
            envelope = ErrorEnvelope.model_validate_json(response.content or b"{}")
        except ValidationError:
            envelope = ErrorEnvelope()
        violations = envelope.details.validation_error.field_violations if envelope.details else []
        app = envelope.details.application_error if envelope.details else None
        code = (
            (violations[0].rule_name if violations else None)
            or (app.code if app else None)
            or re.sub(r"\W+", "_", response.reason_phrase or f"HTTP {status}").strip("_").upper()
        )
        vendor = self._scrub(envelope.message or (app.description if app and app.description else ""), redact)
        if violations:
            fields = "; ".join(
                f"{v.field}: {v.description}" if v.description else str(v.field) for v in violations
            )
            vendor = (
                self._scrub(fields, redact) if not vendor else f"{vendor} ({self._scrub(fields, redact)})"
            )
        said = f"Wix {status} {code}" + (f": {vendor}" if vendor else "")

        def domain(kind: type[BookingError], message: str, next_step: str | None = None) -> BookingError:
            return kind(
                message,
                next_step=next_step,
                vendor_code=code,
                vendor_message=vendor,
                status=status,
                request_id=request_id,
            )

        if app and app.code in PREMIUM_CODES:
            self.premium_denied = True
            return domain(
                PremiumRequired,
                f"This needs a Wix premium plan ({said}).",
                "Upgrade the Wix site to a premium plan, then try again.",
            )
        if code == "BAD_CREDENTIALS":  # the external calendar's credentials, not ours
            return domain(
                InvalidArgument,
                "The calendar provider rejected the email or app-specific password.",
                "Create a new app-specific password and try again.",
            )
        if code in SLOT_CODES:
            return domain(
                SlotUnavailable, f"That time is no longer available ({said}).", "Call find_slots again."
            )
        if code == "BOOKING_POLICY_VIOLATION":
            return domain(PolicyViolation, f"The booking policy forbids this ({said}).")
        if code == "NOT_SUPPORTED_BY_PROVIDER":
            return domain(NotSupported, f"The calendar provider does not support this ({said}).")
        if status in (401, 403):
            return AuthFailed(
                f"Wix refused the credentials or permission (HTTP {status} {code}).",
                next_step="Check WIX_API_KEY and WIX_SITE_ID and the key's permissions.",
                status=status,
                request_id=request_id,
                vendor_code=code,
                vendor_message=vendor,
            )
        if status == 404 or code.endswith("_NOT_FOUND"):
            return domain(NotFound, f"Not found on Wix ({said}).")
        if status == 409:
            return WixConflict(said, status=status, request_id=request_id, vendor_code=code)
        if status == 429:
            return RateLimited(
                f"Wix is throttling requests ({said}).",
                next_step="Wait a minute and try again.",
                status=status,
                request_id=request_id,
                retry_after=self._retry_after(response),
            )
        if status >= 500:
            return BackendUnavailable(
                f"Wix is unavailable ({said}).",
                next_step="Try again later.",
                status=status,
                request_id=request_id,
            )
        if status in (400, 422, 428):
            return domain(InvalidArgument, f"Wix rejected the request ({said}).")
        return BackendError(said, status=status, request_id=request_id, vendor_code=code)
