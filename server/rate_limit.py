"""Rate limits for the HTTP transport: requests per token, and failed bearer checks per address.

It sits behind BearerAuth, so only authenticated requests reach it and the caller is the token's
subject. Each bucket holds up to a minute's worth of requests and refills continuously, so a
burst of `per_minute` requests passes and a steady `per_minute / 60` per second goes on passing.
On a SQLite file the state is per process (N processes allow N times the rate); on PostgreSQL
the buckets live in the shared database (server/pg_state.py), so replicas share one limit.

Failed bearer checks are limited per client address: AuthFailureLimit sits in front of the
token gate, counts its 401 answers per address and, past the limit, answers 429 before the token
is compared at all, so a guesser gets a handful of tries a minute and learns nothing from the rest.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wix_meetings_mcp.server.http_auth import current_caller


@dataclass
class TokenBucket:
    capacity: float
    per_second: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; 0 if it was there, else the seconds until one will be."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}  # one per token: as many as there are valid tokens

    def wait_for(self, caller: str) -> float:
        """Admit one request of `caller` (0.0) or say how many seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            limit = float(self._per_minute)
            bucket = self._buckets[caller] = TokenBucket(limit, limit / 60, limit, now)
        return bucket.take(now)

    async def admit(self, caller: str) -> float:
        return self.wait_for(caller)


class FailureLimiter:
    """At most `per_minute` failures per client, in bursts of as many; then wait for a refill.

    Clients are keyed by address; an IPv6 client by its /64, since one host commonly holds the
    whole range. A client whose bucket has refilled is forgotten, and at most `max_clients` are
    tracked (the longest quiet go first), so a flood of addresses cannot grow memory.
    """

    def __init__(
        self, per_minute: int = 10, clock: Callable[[], float] = time.monotonic, max_clients: int = 65_536
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()  # least recently failed first

    def wait_for(self, client: str) -> float:
        """0.0 if `client` may try now, else the seconds until it may."""
        bucket = self._buckets.get(_client_key(client))
        if bucket is None:
            return 0.0
        now = self._clock()
        tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._per_second)
        return 0.0 if tokens >= 1 else (1 - tokens) / self._per_second

    def failed(self, client: str) -> None:
        now = self._clock()
        key = _client_key(client)
        bucket = self._buckets.pop(key, None) or TokenBucket(
            self._capacity, self._per_second, self._capacity, now
        )
        bucket.take(now)
        self._buckets[key] = bucket
        refill = self._capacity / self._per_second
        while self._buckets:
            first = next(iter(self._buckets.values()))
            if now - first.updated < refill and len(self._buckets) <= self._max_clients:
                break
            self._buckets.popitem(last=False)


def _client_key(client: str) -> str:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def too_many(seconds: float, what: str) -> list[Message]:
    """A 429 answer with Retry-After (whole seconds, at least 1)."""
    wait = max(1, math.ceil(seconds))
    body = json.dumps({"error": "rate_limited", "error_description": f"{what}; retry in {wait} s"}).encode()
    headers = [(b"content-type", b"application/json"), (b"retry-after", str(wait).encode())]
    return [
        {"type": "http.response.start", "status": 429, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


class Admits(Protocol):
    """Where a request's turn is decided: 0.0 to go ahead, else the seconds to wait."""

    async def admit(self, caller: str) -> float: ...


class RateLimit:
    """ASGI middleware applying a per-caller limit to every HTTP request."""

    def __init__(self, app: ASGIApp, limiter: Admits) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        wait = await self._limiter.admit(current_caller())
        if wait <= 0:
            await self._app(scope, receive, send)
            return
        for message in too_many(wait, "too many requests"):
            await send(message)


class AuthFailureLimit:
    """ASGI middleware in front of BearerAuth: 429 to an address with too many recent 401s."""

    def __init__(self, app: ASGIApp, limiter: FailureLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        wait = self._limiter.wait_for(address)
        if wait > 0:
            for message in too_many(wait, "too many failed authentications from this address"):
                await send(message)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self._limiter.failed(address)
            await send(message)

        await self._app(scope, receive, watch)
