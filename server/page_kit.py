"""What every public page needs: templates, safe responses, signed forms, capped bodies, people's words.

Responses carry a strict Content-Security-Policy (scripts and styles only from our own files, no
inline code), never a stack trace, and no Referer (a meeting page's address is its key). Forms
carry a signed token naming what they are for and when they were made: a post is accepted only
with a token this server signed for that very page, and the token doubles as the submission's
idempotency key, so a double submit books once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import HTMLResponse

from wix_meetings_mcp.bookings.errors import (
    BackendError,
    BookingError,
    IdempotencyConflict,
    InvalidArgument,
    InvalidSlot,
    LinkInactive,
    NotFound,
    PlanLimitReached,
    PolicyViolation,
    PremiumRequired,
    RateLimited,
    SlotUnavailable,
)
from wix_meetings_mcp.tools.signing import Signer

MAX_BODY = 16 * 1024  # the largest honest form (notes of 2,000 characters, escaped) is far below
MAX_FIELDS = 12
FORM_LIFETIME = 2 * 3600  # seconds a form may stay open before it must be loaded again

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}

_HERE = Path(__file__).parent
STATIC = {
    "pages.css": ("text/css; charset=utf-8", _HERE / "static" / "pages.css"),
    "pages.js": ("text/javascript; charset=utf-8", _HERE / "static" / "pages.js"),
    "icon.svg": ("image/svg+xml", _HERE / "static" / "icon.svg"),
}


@cache
def _templates() -> Any:
    import jinja2  # loaded with the first page, not at start-up

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,  # every value is escaped; templates hold no |safe
        undefined=jinja2.StrictUndefined,
    )


def page(name: str, status: int = 200, /, **values: object) -> HTMLResponse:
    html = _templates().get_template(name).render(**values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def notice(title: str, message: str, status: int, *, back: str | None = None) -> HTMLResponse:
    return page("notice.html", status, title=title, message=message, back=back)


@cache
def zone_names() -> tuple[str, ...]:
    """The zones a visitor can pick: places (Region/City) and UTC, not legacy aliases."""
    regions = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/",
               "Indian/", "Pacific/")  # fmt: skip
    return ("UTC", *sorted(z for z in available_timezones() if z.startswith(regions)))


class FormTokens:
    """Signed, short-lived form tokens bound to one page (`target`), e.g. "book:<link>:<slot>"."""

    def __init__(self, signer: Signer, clock: Any = time.time) -> None:
        self._signer = signer
        self._clock = clock

    def issue(self, target: str) -> str:
        return self._signer.sign(f"{int(self._clock())}|{secrets.token_urlsafe(12)}|{target}")

    def check(self, token: str, target: str) -> bool:
        try:
            issued, _nonce, signed_target = self._signer.verify(token).split("|", 2)
        except (ValueError, UnicodeDecodeError):
            return False
        return signed_target == target and 0 <= self._clock() - int(issued) <= FORM_LIFETIME


def submission_key(token: str) -> str:
    """One idempotency key per rendered form: a double submit repeats it, a new form gets another."""
    return "page-" + hashlib.sha256(token.encode()).hexdigest()[:40]


class BodyTooLarge(Exception):
    pass


async def form_fields(request: Request) -> dict[str, str]:
    """An url-encoded form body, at most MAX_BODY bytes and MAX_FIELDS fields (first value each)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BodyTooLarge
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items()}


def client_address(request: Request) -> str:
    # uvicorn has already replaced the peer with X-Forwarded-For's client when the peer is one of
    # MEETINGS_TRUSTED_PROXIES (server_config), and only then.
    return request.client.host if request.client else "unknown"


def for_people(exc: BookingError) -> tuple[int, str]:
    """A refusal in a visitor's words (the agent's next steps name tools; a visitor has none)."""
    if isinstance(exc, SlotUnavailable | InvalidSlot):
        return 409, "Sorry, that time is no longer free. Please choose another time."
    if isinstance(exc, PolicyViolation):
        return 409, f"That is not possible here: {exc.message.rstrip('.')}."
    if isinstance(exc, LinkInactive):
        return 410, "This scheduling link is not taking bookings."
    if isinstance(exc, PlanLimitReached | PremiumRequired):
        return 409, "This calendar is not taking new bookings at the moment. Please contact the host."
    if isinstance(exc, IdempotencyConflict):
        return 409, "This form was already sent with other details. Please start again."
    if isinstance(exc, NotFound):
        return 404, "This page does not exist, or the meeting was removed."
    if isinstance(exc, InvalidArgument):
        return 400, f"Please check your details: {exc.message.rstrip('.')}."
    if isinstance(exc, RateLimited | BackendError):
        return 503, "The scheduling service is busy. Please try again in a minute."
    return 400, "That did not work. Please try again."
