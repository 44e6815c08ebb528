"""Bearer-token gate in front of the streamable HTTP app.

The token is compared in constant time; a missing or wrong token gets 401 with a
WWW-Authenticate challenge before any MCP handling happens.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send


class BearerAuth:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self._app(scope, receive, send)
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
