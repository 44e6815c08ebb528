"""HMAC-signed, self-contained tokens: slot ids and confirmation tokens.

The server hands out a token and later accepts only what it signed itself, so an agent can
name just the times it was offered and confirm just the call it was shown. Each purpose signs
under its own label, so a slot id can never pass as a confirmation token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from wix_meetings_mcp.bookings.errors import InvalidArgument

_TAG_BYTES = 12  # 96-bit tags: forgery stays out of reach while the ids stay short for the model


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes, *, purpose: str) -> None:
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def sign(self, payload: str) -> str:
        raw = payload.encode()
        return f"{_b64(raw)}.{_b64(self._tag(raw))}"

    def verify(self, token: str) -> str:
        """The payload of a token this signer made; ValueError for anything else."""
        if len(token) > 1024 or token.count(".") != 1:
            raise ValueError("malformed token")
        body, tag = token.split(".")
        try:
            raw, given = _unb64(body), _unb64(tag)
        except (ValueError, TypeError) as exc:
            raise ValueError("malformed token") from exc
        if not hmac.compare_digest(given, self._tag(raw)):
            raise ValueError("bad signature")
        return raw.decode()


class Cursors:
    """Page cursors the server signed: a backend's own cursor (or a slot time) inside, so a crafted
    cursor is refused as one line instead of reaching a query."""

    def __init__(self, secret: bytes) -> None:
        self._signer = Signer(secret, purpose="cursor/v1")

    def wrap(self, cursor: str | None) -> str | None:
        return None if cursor is None else self._signer.sign(cursor)

    def unwrap(self, cursor: str | None, *, tool: str) -> str | None:
        if cursor is None:
            return None
        try:
            return self._signer.verify(cursor)
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument(
                "cursor is not one this tool returned",
                next_step=f"Pass next_cursor from the previous {tool} result unchanged, or omit cursor.",
            ) from None
