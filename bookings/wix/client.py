"""The Wix REST APIs over the shared HTTP layer: Wix's auth headers and its error envelope.

One injected `httpx.AsyncClient`; no client is ever built here. Retries, `Retry-After`, lost
writes (`WriteOutcomeUnknown`) and scrubbing are `bookings.remote`'s. Responses are parsed into
the private payload models of `_payloads.py` by the caller-supplied type; failures are raised as
`bookings.errors` types that keep the vendor code, message, HTTP status and `x-wix-request-id`
(wix-api.md §1.3, §1.4, §1.5). The API key never appears in an error text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
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
from wix_meetings_mcp.bookings.errors import (
    WriteOutcomeUnknown as WriteOutcomeUnknown,  # re-exported: the Wix adapter modules import it here
)
from wix_meetings_mcp.bookings.remote import Remote, Sleep
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
REQUEST_ID = "x-wix-request-id"


class WixConflict(BackendUnavailable):
    """409: a stale revision (or another state conflict); callers re-read and retry once."""


class WixClient:
    """Site-level Wix REST calls with an API key (`Authorization: <key>`, `wix-site-id`).

    Retries, `Retry-After`, lost writes and scrubbing are the shared layer's (`bookings.remote`);
    this class adds Wix's headers and maps Wix's error envelope.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        api_key: str,
        site_id: str,
        base_url: str = DEFAULT_BASE_URL,
        sleep: Sleep = anyio.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not api_key or not site_id:
            raise InvalidArgument("The Wix API key and site id are both required.")
        self._headers = {"Authorization": api_key, "wix-site-id": site_id}
        self._remote = Remote(
            client=client,
            base_url=base_url,
            vendor="Wix",
            refuse=self._error,
            secrets=(api_key,),
            request_id_header=REQUEST_ID,
            sleep=sleep,
            jitter=jitter,
            clock=clock,
        )
        self.premium_denied = False  # set once Wix answers PREMIUM_FEATURE_NOT_ENABLED

    async def read(
        self, method: Method, path: str, into: type[T], *, body: object = None, params: Params | None = None
    ) -> T:
        """GET or a query/list POST: retried on 429, 5xx and transport errors."""
        return await self._call(method, path, into, body=body, params=params, write=False)

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
        """A mutation: retried like a read only when `idempotent`; may raise `WriteOutcomeUnknown`.

        `redact` lists request secrets (an Apple app-specific password) kept out of any error text.
        """
        return await self._call(
            method, path, into, body=body, write=True, idempotent=idempotent, redact=redact
        )

    async def _call(
        self,
        method: Method,
        path: str,
        into: type[T],
        *,
        body: object,
        write: bool,
        idempotent: bool = False,
        params: Params | None = None,
        redact: Sequence[str] = (),
    ) -> T:
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = await self._remote.send(
            method,
            path,
            headers=headers,
            params=params,
            json=body,
            write=write,
            idempotent=idempotent,
            redact=redact,
        )
        try:
            return into.model_validate_json(response.content or b"{}")
        except ValidationError:
            raise self._remote.unreadable(
                response, method, path, write=write, idempotent=idempotent
            ) from None

    def _error(self, response: httpx.Response) -> BookingError:
        """Wix's envelope (validation → application error → status text) as a domain error."""
        status = response.status_code
        request_id = response.headers.get(REQUEST_ID)
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
        vendor = envelope.message or (app.description if app and app.description else "")
        if violations:
            fields = "; ".join(
                f"{v.field}: {v.description}" if v.description else str(v.field) for v in violations
            )
            vendor = f"{vendor} ({fields})" if vendor else fields
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
            return domain(SlotUnavailable, f"That time is no longer available ({said}).")
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
                retry_after=self._remote.retry_after(response),
            )
        if status >= 500:
            return BackendUnavailable(
                f"Wix is unavailable ({said}).",
                next_step="Try again later.",
                status=status,
                request_id=request_id,
                vendor_code=code,
            )
        if status in (400, 422, 428):
            return domain(InvalidArgument, f"Wix rejected the request ({said}).")
        return BackendError(said, status=status, request_id=request_id, vendor_code=code)
