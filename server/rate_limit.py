"""Per-token rate limit for the HTTP transport: a token bucket per caller, 429 with Retry-After.

It sits behind BearerAuth, so only authenticated requests reach it and the caller is the token's
subject. Each bucket holds up to a minute's worth of requests and refills continuously, so a
burst of `per_minute` requests passes and a steady `per_minute / 60` per second goes on passing.
The state is per process: N server processes allow N times the rate in all.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

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


class RateLimit:
    """ASGI middleware applying a RateLimiter to every HTTP request by its caller."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        wait = self._limiter.wait_for(current_caller())
        if wait <= 0:
            await self._app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        body = json.dumps(
            {"error": "rate_limited", "error_description": f"too many requests; retry in {seconds} s"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
