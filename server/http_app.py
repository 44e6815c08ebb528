"""The ASGI app the HTTP transport serves: probes and public pages without a token, MCP behind it.

Outside in: `/healthz` and `/readyz` answer first (load balancers carry no token and learn
nothing but up or not), then the public scheduling pages (`/book/...`, `/m/...`: people carry
no token either), then the limit on failed token checks per client address, then the token
gate, then the per-token rate limit, then the SDK's streamable HTTP app at `/mcp` (which checks
Host and Origin on loopback binds and caps bodies). Deadlines and the connection cap live below
the app, in the server's protocol (`connections.py`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from wix_meetings_mcp.server.app import Readiness, Running, open_deps
from wix_meetings_mcp.server.http_auth import BearerAuth
from wix_meetings_mcp.server.pages import Beside, Pages
from wix_meetings_mcp.server.rate_limit import (
    Admits,
    AuthFailureLimit,
    FailureLimiter,
    RateLimit,
    RateLimiter,
)
from wix_meetings_mcp.server.settings import Settings
from wix_meetings_mcp.tools.registry import CodedServer

# The largest legitimate call (book_meeting with 30 notes of 2,000 characters, every character
# escaped as a surrogate pair) stays under 0.8 MiB; the SDK answers 413 above this.
MAX_REQUEST_BODY = 1024 * 1024


class Probes:
    """`GET /healthz`: the process serves. `GET /readyz`: its database and backend answer too."""

    def __init__(self, app: ASGIApp, readiness: Readiness) -> None:
        self._app = app
        self._readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path == "/healthz":
            await _json(send, 200, {"status": "ok"})
        elif path == "/readyz":
            problems = await self._readiness.problems()
            await _json(send, 503 if problems else 200, {"status": "unavailable" if problems else "ready"}
                        | ({"failing": problems} if problems else {}))  # fmt: skip
        else:
            await self._app(scope, receive, send)


async def _json(send: Send, status: int, body: dict[str, object]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def rate_limiter(settings: Settings) -> Admits:
    """Per-token limits: shared by all replicas on PostgreSQL, per process on a SQLite file."""
    if settings.db_url is not None:
        from wix_meetings_mcp.server.pg_state import PgRateLimiter

        return PgRateLimiter(settings.db_url, settings.http_rate_limit)
    return RateLimiter(settings.http_rate_limit)


def build_http_app(
    server: CodedServer,
    settings: Settings,
    readiness: Readiness,
    *,
    host: str,
    auth_failures: FailureLimiter | None = None,
    running: Running | None = None,
) -> ASGIApp:
    """`running`: the MCP server's open dependencies, on which the public pages are served too."""
    assert settings.http_token is not None  # the CLI refuses to serve HTTP without one
    app: ASGIApp = server.streamable_http_app(host=host, max_request_body_size=MAX_REQUEST_BODY)
    if settings.http_rate_limit:
        app = RateLimit(app, rate_limiter(settings))
    app = BearerAuth(app, settings.http_token.get_secret_value())
    app = AuthFailureLimit(app, auth_failures or FailureLimiter())
    if running is not None:
        app = Beside(app, Pages(lambda: running.deps))  # the pages need no token
    return Probes(app, readiness)


def pages_only(settings: Settings, readiness: Readiness, *, public_url: str | None) -> ASGIApp:
    """`meetings-mcp pages`: the pages and the probes, no MCP and so no token, on the tools'
    dependencies opened the way the MCP server's lifespan opens them."""
    running = Running()

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        async with open_deps(
            settings,
            allow_file_feeds=False,
            readiness=readiness,
            public_url=public_url,
            refresh_calendars=True,
        ) as d:
            running.deps = d
            try:
                yield
            finally:
                running.deps = None

    return Probes(Pages(lambda: running.deps, lifespan=lifespan), readiness)
