"""Which video room a meeting gets, by the rule of Wix's "Managing Multiple Video Conferencing Links".

A host's own account wins over the business default; without a default account no meeting gets a
video link at all, even for hosts with their own. An account with unique rooms mints one room per
meeting: its URL plus a random room name, for providers whose room URLs need no API (a self-hosted
Jitsi, for one), so two meetings never share a room.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from wix_meetings_mcp.bookings.model import Location, VideoAccount


def room_for(accounts: Sequence[VideoAccount], host_id: str) -> tuple[str, Location] | None:
    """The join URL and the video location (password, description) of a new meeting, or None."""
    default = next((a for a in accounts if a.host_id is None), None)
    if default is None:
        return None
    account = next((a for a in accounts if a.host_id == host_id), default)
    url = account.url
    if account.unique_rooms:
        # 96 random bits: rooms never repeat, and nobody guesses another meeting's room.
        url = f"{url.rstrip('/')}/meet-{secrets.token_urlsafe(12)}"
    return url, Location(kind="video", password=account.password, description=account.description)
