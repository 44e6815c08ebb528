"""Thin HTTP layer over one injected httpx.AsyncClient for the meetergo REST API v4.

Adds authentication (Bearer; `x-meetergo-api-user-id` only with platform API keys), retries and
the mapping of vendor errors to bookings.errors. Messages keep the vendor's text and status and
never the API key. Limit: 100 requests per minute per key (429 + Retry-After).
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
import httpx

from wix_meetings_mcp.bookings.errors import (
    AuthFailed,
    BackendUnavailable,
    BookingError,
    InvalidArgument,
    NotFound,
    PlanLimitReached,
    RateLimited,
    SlotUnavailable,
)

DEFAULT_BASE_URL = "https://api.meetergo.com"
USER_ID_HEADER = "x-meetergo-api-user-id"

Params = Mapping[str, str | Sequence[str]]  # a sequence repeats the key (hostIds=a&hostIds=b)
Sleep = Callable[[float], Awaitable[None]]

_SLOT_TAKEN = re.compile(r"time ?slot|no longer available|not available|unavailable|already booked", re.I)
_AMBIGUOUS_STATUSES = {500, 502, 504}  # the write may have been applied before the failure


class AmbiguousWrite(BackendUnavailable):
    """A write whose outcome is unknown (timeout or dropped response): reconcile before answering."""


def is_platform_key(api_key: str) -> bool:
    """Platform API keys look like `ak_live:<uuid>:<secret>`; PATs start with `rgo-`."""
    return api_key.startswith("ak_")


class MeetergoClient:
    """Calls meetergo; reads retry on 429/5xx/transport errors, writes only on 429.

    Writes are retried only on 429: the API has no idempotency key, so a repeated POST after a
    5xx or a timeout could book twice.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        api_key: str,
        user_id: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        max_retries: int = 3,
        max_retry_after: float = 30.0,
        sleep: Sleep = anyio.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not api_key:
            raise ValueError("a meetergo API key is required")
        platform = is_platform_key(api_key)
        if platform and not user_id:
            raise ValueError("a meetergo platform API key needs the user id to act as (MEETERGO_USER_ID)")
        if not platform and user_id:
            # The API rejects the user-id header with a personal access token (403).
            raise ValueError("MEETERGO_USER_ID is only for platform API keys (ak_live:...); unset it")
        self._client = client
        self._api_key = api_key
        self._user_id = user_id
        base = base_url.rstrip("/")
        self._base_url = base.removesuffix("/v4")  # accept the official clients' `.../v4` form too
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        if platform and user_id:
            self._headers[USER_ID_HEADER] = user_id

    @property
    def user_id(self) -> str | None:
        return self._user_id

    async def get(self, path: str, params: Params | None = None) -> object:
        return await self._call("GET", path, params=params)

    async def post(self, path: str, body: Mapping[str, object]) -> object:
        return await self._call("POST", path, body=body)

    async def patch(self, path: str, body: Mapping[str, object]) -> object:
        return await self._call("PATCH", path, body=body)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, object] | None = None,
    ) -> object:
        response = await self._send(method, path, params=params, body=body)
        if not response.content.strip():
            return None  # cancel may answer with an empty body
        try:
            return response.json()
        except ValueError as exc:
            raise BackendUnavailable(
                "meetergo returned a response that is not JSON", status=response.status_code
            ) from exc

    async def _send(
        self, method: str, path: str, *, params: Params | None, body: Mapping[str, object] | None
    ) -> httpx.Response:
        read = method == "GET"
        url = self._base_url + path
        attempt = 0
        while True:
            try:
                response = await self._client.request(
                    method, url, params=params, json=body, headers=self._headers
                )
            except httpx.TransportError as exc:
                if read and attempt < self._max_retries:
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise self._transport_error(exc, method, path) from exc
            status = response.status_code
            retryable = status == 429 or (read and status >= 500)
            if retryable and attempt < self._max_retries:
                delay = self._retry_delay(response, attempt)
                if delay is not None:
                    await self._sleep(delay)
                    attempt += 1
                    continue
            if response.is_success:
                return response
            raise self._error(response, method, path)

    def _backoff(self, attempt: int) -> float:
        # Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... each scaled into [50 %, 100 %].
        return min(8.0, 0.5 * 2.0**attempt) * (0.5 + self._jitter() / 2)

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying; None when the server asks for longer than we wait."""
        retry_after = self._retry_after(response)
        if retry_after is None:
            return self._backoff(attempt)
        return retry_after if retry_after <= self._max_retry_after else None

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self._clock()).total_seconds())

    def _transport_error(self, exc: httpx.TransportError, method: str, path: str) -> BackendUnavailable:
        kind = type(exc).__name__
        sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        if method != "GET" and sent:
            return AmbiguousWrite(
                f"meetergo did not answer {method} {path} ({kind}); the write may or may not have happened",
                next_step="Check the current state before trying again.",
            )
        return BackendUnavailable(
            f"meetergo is unreachable ({kind})", next_step="Try again in a minute.", method=method, path=path
        )

    def _error(self, response: httpx.Response, method: str, path: str) -> BookingError:
        status = response.status_code
        body = _json_or_none(response)
        message = self._scrub(_vendor_message(body) or response.reason_phrase or f"HTTP {status}")
        request_id = response.headers.get("x-request-id")
        text = f"meetergo: {message}"
        if isinstance(body, dict) and body.get("code") == "PLAN_LIMIT_REACHED":
            feature = str(body.get("feature") or "")
            return PlanLimitReached(
                text,
                next_step=f"Upgrade at https://my.meetergo.com/admin/subscription?feature={feature}",
                feature=feature,
                status=status,
                vendor_message=message,
            )
        if status in (401, 403):
            return AuthFailed(
                text,
                next_step="Check MEETERGO_API_KEY (and MEETERGO_USER_ID for platform keys).",
                status=status,
                request_id=request_id,
                path=path,
            )
        if status == 404:
            return NotFound(text, status=status, vendor_message=message, path=path)
        if status == 409 or (status in (400, 422) and _SLOT_TAKEN.search(message)):
            return SlotUnavailable(
                text,
                next_step="Call find_slots again and pick another time.",
                status=status,
                vendor_message=message,
            )
        if status in (400, 422):
            return InvalidArgument(text, status=status, vendor_message=message, path=path)
        if status == 429:
            return RateLimited(
                text,
                next_step="meetergo allows 100 requests per minute; try again in a minute.",
                status=status,
                request_id=request_id,
                retry_after=self._retry_after(response),
            )
        error_type = (
            AmbiguousWrite if method != "GET" and status in _AMBIGUOUS_STATUSES else BackendUnavailable
        )
        return error_type(text, next_step="Try again later.", status=status, request_id=request_id, path=path)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***")


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _vendor_message(body: object) -> str | None:
    """NestJS errors: `{statusCode, message: str | str[], error}`; arrays are joined with '; '."""
    if not isinstance(body, dict):
        return None
    message = body.get("message")
    if isinstance(message, list):
        return "; ".join(str(part) for part in message)
    if isinstance(message, str):
        return message
    error = body.get("error")
    return error if isinstance(error, str) else None
