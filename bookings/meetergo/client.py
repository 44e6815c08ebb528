"""The meetergo REST API v4 over the shared HTTP layer: meetergo's headers and its error mapping.

Adds authentication (Bearer; `x-meetergo-api-user-id` only with platform API keys) and maps the
vendor's NestJS error body to bookings.errors, keeping its text, status and request id. Retries,
`Retry-After`, lost writes (`WriteOutcomeUnknown`) and scrubbing are `bookings.remote`'s.
Limit: 100 requests per minute per key (429 + Retry-After).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

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
from wix_meetings_mcp.bookings.remote import Params, Remote, Sleep

DEFAULT_BASE_URL = "https://api.meetergo.com"
USER_ID_HEADER = "x-meetergo-api-user-id"
REQUEST_ID = "x-request-id"

_SLOT_TAKEN = re.compile(r"time ?slot|no longer available|not available|unavailable|already booked", re.I)


def is_platform_key(api_key: str) -> bool:
    """Platform API keys look like `ak_live:<uuid>:<secret>`; PATs start with `rgo-`."""
    return api_key.startswith("ak_")


class MeetergoClient:
    """Calls meetergo through the shared HTTP layer (`bookings.remote`): reads are retried on
    429/5xx/transport errors, writes only on 429 or when nothing was sent (no idempotency key)."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        api_key: str,
        user_id: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
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
        self._user_id = user_id
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        if platform and user_id:
            self._headers[USER_ID_HEADER] = user_id
        self._remote = Remote(
            client=client,
            # accept the official clients' `.../v4` form too
            base_url=base_url.rstrip("/").removesuffix("/v4"),
            vendor="meetergo",
            refuse=self._error,
            # A platform key's secret part alone is a credential too (`ak_live:<uuid>:<secret>`).
            secrets=(api_key, *api_key.split(":")[2:]) if platform else (api_key,),
            request_id_header=REQUEST_ID,
            sleep=sleep,
            jitter=jitter,
            clock=clock,
        )

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
        write = method != "GET"
        response = await self._remote.send(
            method, path, headers=self._headers, params=params, json=body, write=write
        )
        if not response.content.strip():
            return None  # cancel may answer with an empty body
        try:
            return response.json()
        except ValueError:
            raise self._remote.unreadable(response, method, path, write=write) from None

    def _error(self, response: httpx.Response) -> BookingError:
        """meetergo's NestJS error body as a domain error, keeping its message, status and request id."""
        status = response.status_code
        path = response.request.url.path
        body = _json_or_none(response)
        message = _vendor_message(body) or response.reason_phrase or f"HTTP {status}"
        request_id = self._remote.request_id(response)
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
            return SlotUnavailable(text, status=status, vendor_message=message)
        if status in (400, 422):
            return InvalidArgument(text, status=status, vendor_message=message, path=path)
        if status == 429:
            return RateLimited(
                text,
                next_step="meetergo allows 100 requests per minute; try again in a minute.",
                status=status,
                request_id=request_id,
                retry_after=self._remote.retry_after(response),
            )
        return BackendUnavailable(
            text, next_step="Try again later.", status=status, request_id=request_id, path=path
        )


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
