"""This server's own public pages: where people reach them, and the signed tokens that open them.

The local engine has no vendor's scheduling page, so the server serves one (`/book/{slug}`) and
gives each attendee a page of their own meeting (`/m/{token}`). A meeting token is the meeting id
signed with the server's secret: it opens that one meeting and cannot be guessed or altered, and
every process on the same database accepts it.
"""

from __future__ import annotations

from urllib.parse import quote

from wix_meetings_mcp.tools.signing import Signer


class PublicPages:
    def __init__(self, base: str | None, secret: bytes) -> None:
        self.base = base  # None: no address a browser can use is known (stdio, a wildcard bind)
        self._secret = secret
        self._meetings = Signer(secret, purpose="meeting-page/v1")

    def signer(self, purpose: str) -> Signer:
        return Signer(self._secret, purpose=f"pages/{purpose}")

    def booking_url(self, slug: str) -> str | None:
        return None if self.base is None else f"{self.base}/book/{quote(slug, safe='')}"

    def feed_url(self, secret: str) -> str | None:
        """A host's export feed: the address is the credential, so it carries no other token."""
        return None if self.base is None else f"{self.base}/feeds/{quote(secret, safe='')}.ics"

    def meeting_token(self, meeting_id: str) -> str:
        return self._meetings.sign(meeting_id)

    def meeting_id(self, token: str) -> str | None:
        """The meeting a token opens, or None for one this server did not sign."""
        try:
            return self._meetings.verify(token)
        except (ValueError, UnicodeDecodeError):
            return None

    def meeting_url(self, meeting_id: str) -> str | None:
        return None if self.base is None else f"{self.base}/m/{self.meeting_token(meeting_id)}"


SERVE_HINT = (
    "booking_url is absent: no public address. Set MEETINGS_PUBLIC_URL, or serve HTTP on a concrete "
    "address (meetings-mcp pages --port 8080)."
)
