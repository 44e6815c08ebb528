"""The HTTP layer both vendor clients share: retries, `Retry-After`, "maybe applied" writes, scrubbing.

A vendor client (Wix, meetergo) builds one `Remote` around the injected `httpx.AsyncClient` and
keeps only its own headers, its error mapping (vendor envelope → domain error) and its look-up
after a lost write. Everything here is the same for every vendor and uses the numbers below:

- Up to `MAX_ATTEMPTS` tries. Between tries: the vendor's `Retry-After` (delta-seconds or an
  HTTP date) when it sends one, else exponential backoff with "equal jitter"; a wait longer than
  `RETRY_AFTER_CAP`, or one that would take the call past `WAIT_BUDGET`, is not waited out — the
  caller gets the vendor's error (`RateLimited` keeps `retry_after` in its context).
- Reads (and writes the caller declares idempotent) are retried on `RETRY_STATUSES` and on every
  transport failure.
- Other writes are retried only on 429 and when the request never left this process: neither
  vendor takes an idempotency key, so repeating a write the vendor may have applied could book
  twice. A 429 is the vendor's throttle refusing the request before handling it.
- A non-idempotent write that may have been applied — sent and then timed out or lost its
  connection, answered with a 5xx, or answered 2xx with a body we cannot read — raises
  `WriteOutcomeUnknown`; the vendor adapter looks the result up before answering.
- Every error leaving this layer is scrubbed of the API key, secrets the caller names,
  Authorization values, bearer tokens, credentials in URLs and token-like query parameters.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
import httpx

from wix_meetings_mcp.bookings.errors import (
    BackendError,
    BackendUnavailable,
    BookingError,
    WriteOutcomeUnknown,
)

MAX_ATTEMPTS = 4  # the first try and three retries, as meetergo's official client does
BACKOFF_FIRST = 0.5  # seconds before the first retry; doubles for each further retry
BACKOFF_MAX = 8.0  # one backoff step never waits longer
RETRY_AFTER_CAP = 20.0  # a longer Retry-After is handed to the caller instead of waited out
WAIT_BUDGET = 30.0  # all waits of one call together: an agent's tool call must answer well within a minute
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures before any byte of the request reached the vendor: nothing there to have been applied.
NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

Method = str
Params = Mapping[str, str | Sequence[str]]  # a sequence repeats the key (hostIds=a&hostIds=b)
Sleep = Callable[[float], Awaitable[None]]
Refuse = Callable[[httpx.Response], BookingError]

REDACTED = "[redacted]"
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@ in any URL
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{REDACTED}@"),
    # token-like query parameters in URLs
    (
        re.compile(
            r"(?i)([?&](?:access_token|refresh_token|id_token|token|api_?key|key|secret|client_secret"
            r"|password|pass|pwd|signature|sig|code|auth)=)[^&\s#\"'<>]+"
        ),
        rf"\1{REDACTED}",
    ),
    # an echoed header or setting: "Authorization: Bearer x", "api_key=x", "x-api-key: x"
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization|x-api-key|api[-_ ]?key|access[-_ ]?token|client[-_ ]?secret)"
            r"(\"?\s*[:=]\s*\"?)(?:(?:bearer|basic|token)\s+)?[^\s\",;&]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    # a bearer token anywhere ("Basic" alone is too common a word; its header form is caught above)
    (re.compile(r"(?i)\b(bearer)\s+[a-z0-9._~+/=:-]{8,}"), rf"\1 {REDACTED}"),
)


def backoff_delay(attempt: int, jitter: Callable[[], float]) -> float:
    """Seconds before retry number `attempt`: 0.5, 1, 2, 4, 8 s ..., each in [50 %, 100 %]."""
    step = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (attempt - 1))
    return step / 2 + jitter() * step / 2


def retry_after_seconds(value: str, clock: Callable[[], datetime]) -> float | None:
    """A `Retry-After` value in seconds from now, in either form (RFC 9110 §10.2.3); None if absent
    or bad."""
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are always GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - clock()).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class Scrubber:
    """Removes known secrets and anything shaped like a credential from text."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        # Longest first, so a secret containing another is removed whole. Values under 4 characters
        # are skipped: they would blank out ordinary words, and no key or password is that short.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str, extra: Sequence[str] = ()) -> str:
        for secret in sorted(
            (*self._secrets, *(s for s in extra if s and len(s) >= 4)), key=len, reverse=True
        ):
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def error(self, error: BookingError, extra: Sequence[str] = ()) -> BookingError:
        """The same error with message, next step and context scrubbed (in place)."""
        error.message = self(error.message, extra)
        error.args = (error.message,)
        if error.next_step:
            error.next_step = self(error.next_step, extra)
        error.context = {key: self._value(value, extra) for key, value in error.context.items()}
        return error

    def _value(self, value: object, extra: Sequence[str]) -> object:
        if isinstance(value, str):
            return self(value, extra)
        if isinstance(value, list | tuple):
            return type(value)(self._value(v, extra) for v in value)
        if isinstance(value, dict):
            return {k: self._value(v, extra) for k, v in value.items()}
        return value


class Remote:
    """One vendor's calls through the shared retry and error rules."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        vendor: str,
        refuse: Refuse,
        secrets: Sequence[str] = (),
        request_id_header: str = "x-request-id",
        sleep: Sleep = anyio.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = client
        self._base_url = base_url.rstrip("/")
        self._vendor = vendor
        self._refuse = refuse
        self._request_id_header = request_id_header
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        self.scrub = Scrubber(secrets)

    async def send(
        self,
        method: Method,
        path: str,
        *,
        headers: Mapping[str, str],
        params: Params | None = None,
        json: object = None,
        write: bool,
        idempotent: bool = False,
        redact: Sequence[str] = (),
    ) -> httpx.Response:
        """A 2xx response, or the vendor's mapped error (scrubbed), after the shared retries.

        `write` marks a mutation; `idempotent` says repeating it changes nothing more (then it is
        retried like a read). `redact` lists request secrets (a password) kept out of any error.
        """
        safe = not write or idempotent
        waited = 0.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            last = attempt == MAX_ATTEMPTS
            try:
                response = await self._http.request(
                    method, self._base_url + path, headers=headers, params=params, json=json
                )
            except httpx.TransportError as exc:
                sent = not isinstance(exc, NOT_SENT)
                delay = self.backoff(attempt)
                if (safe or not sent) and not last and waited + delay <= WAIT_BUDGET:
                    await self._sleep(delay)
                    waited += delay
                    continue
                # `from None`: the httpx exception holds the request, headers and key included.
                raise self.scrub.error(self._transport_error(exc, method, path, sent, safe), redact) from None
            if response.is_success:
                return response
            status = response.status_code
            if (status == 429 or (safe and status in RETRY_STATUSES)) and not last:
                given = self.retry_after(response)
                delay = self.backoff(attempt) if given is None else given
                if delay <= RETRY_AFTER_CAP and waited + delay <= WAIT_BUDGET:
                    await self._sleep(delay)
                    waited += delay
                    continue
            error = self._refuse(response)
            if not safe and status >= 500:
                error = self._maybe_applied(error, method, path, response)
            raise self.scrub.error(error, redact) from None
        raise AssertionError("unreachable")  # the last attempt always returns or raises

    def backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self._jitter)

    def retry_after(self, response: httpx.Response) -> float | None:
        """The response's `Retry-After` in seconds from now; None if absent or bad."""
        return retry_after_seconds(response.headers.get("retry-after", ""), self._clock)

    def request_id(self, response: httpx.Response) -> str | None:
        value = response.headers.get(self._request_id_header)
        return str(value) if value is not None else None

    def unreadable(
        self, response: httpx.Response, method: Method, path: str, *, write: bool, idempotent: bool = False
    ) -> BackendUnavailable:
        """A 2xx the caller could not parse; after a write it still means the write happened."""
        kind = WriteOutcomeUnknown if write and not idempotent else BackendUnavailable
        return kind(
            f"{self._vendor} returned an unexpected response for {method} {path}.",
            status=response.status_code,
            request_id=self.request_id(response),
            path=path,
        )

    def _transport_error(
        self, exc: httpx.TransportError, method: Method, path: str, sent: bool, safe: bool
    ) -> BackendUnavailable:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed in transit"
        if sent and not safe:
            return WriteOutcomeUnknown(
                f"The {self._vendor} call {method} {path} {what}; it may or may not have been applied.",
                path=path,
                failure=type(exc).__name__,
            )
        return BackendUnavailable(
            f"The {self._vendor} call {method} {path} {what}.",
            next_step="Try again in a moment.",
            path=path,
            failure=type(exc).__name__,
        )

    def _maybe_applied(
        self, error: BookingError, method: Method, path: str, response: httpx.Response
    ) -> WriteOutcomeUnknown:
        # A 5xx (a gateway timing out, a crash after the commit) does not prove the write was not
        # applied, and the APIs take no idempotency key: the adapter must look before answering.
        unknown = WriteOutcomeUnknown(
            f"{error.message.rstrip('.')}; {method} {path} may or may not have been applied.",
            status=error.status if isinstance(error, BackendError) else response.status_code,
            request_id=self.request_id(response),
        )
        unknown.context = {**error.context, "path": path}
        unknown.context.pop("status", None)
        unknown.context.pop("request_id", None)
        return unknown
