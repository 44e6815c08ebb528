"""OAuth 2.0 authorization code flow for Google and Microsoft calendars (web server apps, PKCE).

The owner opens an authorization URL; the provider sends their browser back to this server's
`/oauth/{provider}/callback` with a code, which is exchanged (with the PKCE verifier) for an
access token and a refresh token. Facts used (see the providers' docs):

- Google: `access_type=offline` asks for a refresh token, `prompt=consent` gets one on every
  authorization, not only the first; a refresh answer usually carries no new refresh token (keep
  the old one); a dead refresh token is `400 {"error": "invalid_grant"}`.
  https://developers.google.com/identity/protocols/oauth2/web-server
- Microsoft identity platform v2.0: `offline_access` among the scopes asks for a refresh token,
  every refresh answer brings a new one (store it); errors are RFC 6749 §5.2 bodies.
  https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
- PKCE S256 (RFC 7636): the challenge is BASE64URL(SHA-256(verifier)) without padding.

`state` names the pending connection and a one-time nonce, expires soon, and is signed with the
server's secret: a callback is accepted only for an authorization this server started. The
token endpoint is spoken in oauth_tokens.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlencode

OAuthProvider = Literal["google", "outlook"]

# Read and write events (import busy times, export meetings), nothing else of the account.
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/calendar.events",)
MICROSOFT_SCOPES = ("offline_access", "Calendars.ReadWrite")  # a bare name means Microsoft Graph

STATE_LIFETIME = timedelta(minutes=10)  # the owner signs in within this; Microsoft's code lives ~10


@dataclass(frozen=True)
class OAuthApp:
    """One provider's OAuth client, as registered by the operator, and the provider's addresses."""

    provider: OAuthProvider
    client_id: str
    client_secret: str = field(repr=False)
    authorization_url: str
    token_url: str
    api_url: str

    @property
    def scopes(self) -> tuple[str, ...]:
        return GOOGLE_SCOPES if self.provider == "google" else MICROSOFT_SCOPES

    def authorization_request(self, *, redirect_uri: str, state: str, challenge: str) -> str:
        params = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if self.provider == "google":
            params |= {"access_type": "offline", "prompt": "consent"}
        else:
            params |= {"response_mode": "query"}
        return f"{self.authorization_url}?{urlencode(params, quote_via=quote)}"


@dataclass(frozen=True)
class OAuthSetup:
    """What the server gives the engine: the configured clients, where its pages are reached
    (None: nowhere a browser can come back to), and its signing secret."""

    apps: Mapping[OAuthProvider, OAuthApp]
    public_url: str | None
    secret: bytes = field(repr=False)

    def redirect_uri(self, provider: OAuthProvider) -> str | None:
        return None if self.public_url is None else f"{self.public_url}/oauth/{provider}/callback"


def refreshable(setup: OAuthSetup | None) -> frozenset[OAuthProvider]:
    """The providers whose connections a process can refresh and export to: those it has an OAuth
    client for."""
    return frozenset() if setup is None else frozenset(setup.apps)


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 86 characters from the unreserved set, as RFC 7636 §4.1 asks."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class BadState(Exception):
    """A callback's state this server did not sign, or signed for an authorization now expired."""


class StateSigner:
    """`state` = connection id, nonce and expiry, HMAC-signed under a key of its own purpose."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"calendar-oauth-state/v1", hashlib.sha256).digest()

    def sign(self, connection_id: str, nonce: str, expires: datetime) -> str:
        payload = f"{connection_id}.{nonce}.{int(expires.timestamp())}".encode()
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def verify(self, state: str, now: datetime) -> tuple[str, str]:
        """(connection id, nonce) of a state this signer made that has not expired."""
        try:
            body, tag = state.split(".")
            payload = _unb64(body)
            if not hmac.compare_digest(_unb64(tag), self._tag(payload)):
                raise BadState
            connection_id, nonce, expires = payload.decode("ascii").split(".")
            if int(expires) < now.timestamp():
                raise BadState
        except (ValueError, UnicodeError):
            raise BadState from None
        return connection_id, nonce

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
