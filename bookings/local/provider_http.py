"""Requests to the calendar providers (Google, Microsoft): through the outbound guard, with retries.

Every request goes through `Outbound.request` (address checked, one deadline, the body capped);
throttling and passing failures are retried here with the numbers of bookings/remote.py: up to
`MAX_ATTEMPTS` tries, the provider's `Retry-After` when it sends one (Graph does on 429), else
exponential backoff with equal jitter, never waiting past `RETRY_AFTER_CAP` at once or
`WAIT_BUDGET` in all. Every call made here is safe to repeat: reads, token requests, and writes
that carry their own idempotency (Google's iCalUID, Graph's transactionId) or are idempotent
(PATCH, DELETE). What is left after the retries is returned for the client to judge.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import anyio

from wix_meetings_mcp.bookings.outbound import Answer, Outbound, OutboundError
from wix_meetings_mcp.bookings.remote import (
    MAX_ATTEMPTS,
    RETRY_AFTER_CAP,
    RETRY_STATUSES,
    WAIT_BUDGET,
    backoff_delay,
    retry_after_seconds,
)

if TYPE_CHECKING:
    import httpx

Sleep = Callable[[float], Awaitable[None]]
Retryable = Callable[[Answer], bool]


@dataclass(frozen=True)
class ProviderLimits:
    deadline: float = 20.0  # seconds for one request, its body included
    max_bytes: int = 4 * 1024 * 1024  # one answer: a page of events or a token
    max_pages: int = 100  # pages of one sync round
    max_events: int = 5_000  # events kept per connection (as an iCal feed's busy intervals)


def retry_status(answer: Answer) -> bool:
    return answer.status in RETRY_STATUSES


class ProviderHttp:
    """One provider's requests for one backend; `sleep` and `jitter` are injected by tests."""

    def __init__(
        self,
        *,
        outbound: Outbound,
        http: httpx.AsyncClient,
        limits: ProviderLimits,
        clock: Callable[[], datetime],
        sleep: Sleep = anyio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._outbound = outbound
        self._http = http
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        retryable: Retryable = retry_status,
    ) -> Answer:
        """The provider's answer once it is not one to retry (or the retries are spent); raises
        OutboundError when none came (the last failure's reason)."""
        waited = 0.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            last = attempt == MAX_ATTEMPTS
            try:
                answer = await self._outbound.request(
                    self._http, method, url, headers=headers, body=body,
                    max_bytes=self.limits.max_bytes, deadline=self.limits.deadline,
                )  # fmt: skip
            except OutboundError as exc:
                delay = backoff_delay(attempt, self._jitter)
                if exc.reason not in ("unreachable", "timeout") or last or waited + delay > WAIT_BUDGET:
                    raise
                await self._sleep(delay)
                waited += delay
                continue
            if not last and retryable(answer):
                given = retry_after_seconds(answer.headers.get("retry-after", ""), self._clock)
                delay = backoff_delay(attempt, self._jitter) if given is None else given
                if delay <= RETRY_AFTER_CAP and waited + delay <= WAIT_BUDGET:
                    await self._sleep(delay)
                    waited += delay
                    continue
            return answer
        raise AssertionError("unreachable")  # the last attempt returns or raises


def json_body(answer: Answer) -> dict[str, object]:
    """A JSON object answer, or OutboundError: a provider that answers something else is not one."""
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        raise OutboundError("unreachable") from None
    if not isinstance(data, dict):
        raise OutboundError("unreachable")
    return data
