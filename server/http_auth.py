"""Bearer-token gate in front of the streamable HTTP app, and who the caller is.

The token is compared in constant time; a missing or wrong token gets 401 with a
WWW-Authenticate challenge before any MCP handling happens. An accepted request runs with
`current_caller()` set to the token's subject, a short hash of the token that names it in the
audit trail and the rate limiter without revealing it; calls that come in any other way (stdio,
in-memory) are "stdio".
"""

from __future__ import annotations

import hashlib
import hmac
import json
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

STDIO = "stdio"

# Set for the duration of an authenticated HTTP request; the MCP SDK carries the sender's context
# into the tool call (it does the same for its own auth context), so the audit hook sees it.
_caller: ContextVar[str] = ContextVar("meetings_mcp_caller", default=STDIO)


def current_caller() -> str:
    return _caller.get()


def token_subject(token: str) -> str:
    """A stable, non-reversible name for a token: 48 bits of its SHA-256."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


class BearerAuth:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = token.encode()
        self._subject = token_subject(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        # The scheme name is case-insensitive (RFC 9110 section 11.1): "bearer" and "BEARER" count too.
        scheme, _, credentials = given.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._expected):
            reset = _caller.set(self._subject)
            try:
                await self._app(scope, receive, send)
            finally:
                _caller.reset(reset)
            return
        error = "invalid_token" if given else "invalid_request"
        body = json.dumps({"error": error, "error_description": "a valid bearer token is required"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", f'Bearer realm="meetings-mcp", error="{error}"'.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
