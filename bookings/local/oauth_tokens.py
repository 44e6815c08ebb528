"""The OAuth 2.0 token endpoint of Google and Microsoft: code exchange (with the PKCE verifier)
and refresh, over the outbound guard with the providers' retries (provider_http.py).

Answers are RFC 6749 §5 bodies: `access_token`, `expires_in`, and `refresh_token` when one is
issued (Google only with offline access, Microsoft with `offline_access`, a new one on every
refresh); a refusal is `{"error": ...}`, `invalid_grant` for a code or refresh token that is no
longer good. Throttling, server errors and the errors that say "later" (`server_error`,
`temporarily_unavailable`, Google's `internal_failure`) are retried, as google-auth does.
Tokens never appear in a repr, an error or a log line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from wix_meetings_mcp.bookings.local.oauth import OAuthApp
from wix_meetings_mcp.bookings.local.provider_http import ProviderHttp, json_body
from wix_meetings_mcp.bookings.outbound import Answer, OutboundError

ACCESS_MARGIN = timedelta(minutes=1)  # an access token this close to expiry is refreshed first
_TRANSIENT_ERRORS = frozenset({"server_error", "temporarily_unavailable", "internal_failure"})
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)  # None: keep the one stored


class TokenRefused(Exception):
    """The token endpoint refused the grant (RFC 6749 §5.2); `error` is its code, e.g. invalid_grant."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class TokenEndpoint:
    """Code exchange and refresh against one provider's token endpoint."""

    def __init__(self, app: OAuthApp, http: ProviderHttp, clock: Callable[[], datetime]) -> None:
        self._app = app
        self._http = http
        self._clock = clock

    async def exchange(self, code: str, *, verifier: str, redirect_uri: str) -> Tokens:
        return await self._grant(
            {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
             "redirect_uri": redirect_uri},
        )  # fmt: skip

    async def refresh(self, refresh_token: str) -> Tokens:
        return await self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def _grant(self, grant: dict[str, str]) -> Tokens:
        form = {"client_id": self._app.client_id, "client_secret": self._app.client_secret} | grant
        answer = await self._http.send(
            "POST",
            self._app.token_url,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            body=urlencode(form).encode(),
            retryable=_transient,
        )
        data = json_body(answer)
        if answer.status == 200:
            access, lifetime, refresh = (
                data.get("access_token"),
                data.get("expires_in"),
                data.get("refresh_token"),
            )
            if not isinstance(access, str) or not access:
                raise OutboundError("unreachable")
            seconds = lifetime if isinstance(lifetime, int | float) and lifetime > 0 else 3600
            return Tokens(
                access_token=access,
                expires_at=self._clock() + timedelta(seconds=float(seconds)),
                refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            )
        error = data.get("error")
        if answer.status in (400, 401) and isinstance(error, str) and error not in _TRANSIENT_ERRORS:
            raise TokenRefused(error[:64])
        raise OutboundError("unreachable")


def _transient(answer: Answer) -> bool:
    if answer.status in _TRANSIENT_STATUSES:
        return True
    if answer.status != 400:
        return False
    try:
        return json_body(answer).get("error") in _TRANSIENT_ERRORS
    except OutboundError:
        return False
