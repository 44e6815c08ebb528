"""The OAuth 2.0 authorization server half of the Google and Microsoft fakes (auth code + PKCE).

Written from RFC 6749 (§4.1 authorization code grant, §5 token responses and errors), RFC 7636
(PKCE S256) and the providers' pages:
- Google, https://developers.google.com/identity/protocols/oauth2/web-server: the consent redirect
  carries `code` and `state`, or `error=access_denied`; the token endpoint takes the form
  `code, client_id, client_secret, redirect_uri, grant_type, code_verifier`; a refresh answer has no
  new `refresh_token`; a dead one is `400 {"error": "invalid_grant", "error_description": "Token has
  been expired or revoked."}` (googleworkspace/python-samples#1644).
- Microsoft, https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow: the same
  form; `offline_access` in the scope grants a refresh token, and every refresh brings a new one;
  errors carry `error_description: "AADSTSnnnnn: ..."`, `error_codes`, `timestamp`, `trace_id`.

The "browser" step is `authorize(url)`: it checks the request as the provider would and returns
the redirect it would send the browser to. Faults are queued per endpoint ("token"): an HTTP
status, ("status", {headers}), or "stall" (an answer slower than any client deadline).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx

Fault = int | tuple[int, dict[str, str]] | str


@dataclass
class Grant:
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class AuthorizationServer:
    client_id: str
    client_secret: str
    microsoft: bool  # Microsoft rotates refresh tokens and words its errors its own way
    required_params: dict[str, str] = field(default_factory=dict)  # e.g. Google's access_type=offline
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch)
    issued: list[str] = field(default_factory=list)  # every token handed out, to look for in logs
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lifetime: int = 3599
    now: Any = None  # a callable clock; None: the real one

    # --- the browser's visit ------------------------------------------------------------------

    def authorize(self, url: str, *, allow: bool = True) -> str:
        """Where the provider sends the browser after the owner allows (or declines) access."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["client_id"] == self.client_id
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        for name, value in self.required_params.items():
            assert query.get(name) == value, (name, query.get(name))
        back = {"state": query["state"]}
        if not allow:
            back |= {"error": "access_denied", "error_description": "The user denied access."}
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = Grant(query["redirect_uri"], query["code_challenge"], query["scope"])
            back = {"code": code} | back
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def revoke(self) -> None:
        """The owner withdrew access: every refresh and access token stops working."""
        self.refresh_tokens.clear()
        self.access_tokens.clear()

    def expire_access(self) -> None:
        self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)

    def fail(self, endpoint: str, *faults: Fault) -> None:
        self.faults.setdefault(endpoint, []).extend(faults)

    # --- the token endpoint -------------------------------------------------------------------

    async def token(self, request: httpx.Request) -> httpx.Response:
        fault = await self.injected("token")
        if fault is not None:
            return fault
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.token_requests.append(form)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._error(401, "invalid_client", "The OAuth client was not found.")
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if (
                grant is None
                or grant.redirect_uri != form.get("redirect_uri")
                or grant.challenge != _s256(verifier)
            ):
                return self._error(400, "invalid_grant", "Malformed auth code.")
            refresh = self._new("rt")
            self.refresh_tokens.add(refresh)
            return self._tokens(refresh)
        if form.get("grant_type") == "refresh_token":
            old = form.get("refresh_token", "")
            if old not in self.refresh_tokens:
                return self._error(400, "invalid_grant", "Token has been expired or revoked.")
            if not self.microsoft:
                return self._tokens(None)
            self.refresh_tokens.discard(old)
            refresh = self._new("rt")
            self.refresh_tokens.add(refresh)
            return self._tokens(refresh)
        return self._error(400, "unsupported_grant_type", "Invalid grant_type.")

    def valid(self, request: httpx.Request) -> bool:
        """The request carries a live access token this server issued."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and self.access_tokens.get(token, 0.0) > self._now()

    async def injected(self, endpoint: str) -> httpx.Response | None:
        queue = self.faults.get(endpoint)
        if not queue:
            return None
        fault = queue.pop(0)
        if fault == "stall":
            await anyio.sleep(30)  # cut short by the client's deadline
            return httpx.Response(504)
        status, headers = fault if isinstance(fault, tuple) else (int(fault), {})
        body = {"error": "temporarily_unavailable"} if status >= 500 else {}
        return httpx.Response(status, headers=headers, json=body)

    def _tokens(self, refresh: str | None) -> httpx.Response:
        access = self._new("at")
        self.access_tokens[access] = self._now() + self.lifetime
        body: dict[str, Any] = {"access_token": access, "expires_in": self.lifetime, "token_type": "Bearer",
                                "scope": "offline_access Calendars.ReadWrite" if self.microsoft
                                else "https://www.googleapis.com/auth/calendar.events"}  # fmt: skip
        if refresh is not None:
            body["refresh_token"] = refresh
        return httpx.Response(200, json=body, headers={"Cache-Control": "no-store"})

    def _error(self, status: int, error: str, description: str) -> httpx.Response:
        body: dict[str, Any] = {"error": error, "error_description": description}
        if self.microsoft:
            body = {"error": error, "error_description": f"AADSTS70000: {description}", "error_codes": [70000],
                    "timestamp": "2026-11-30 08:00:00Z", "trace_id": "t", "correlation_id": "c"}  # fmt: skip
        return httpx.Response(status, content=json.dumps(body), headers={"Content-Type": "application/json"})

    def _new(self, prefix: str) -> str:
        token = f"{prefix}-{secrets.token_urlsafe(18)}"
        self.issued.append(token)
        return token

    def _now(self) -> float:
        return (self.now() if self.now is not None else datetime.now(UTC)).timestamp()


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
