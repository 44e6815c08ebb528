"""Slot ids: about 20 characters naming a link, a start and a duration, signed by the server.

An id packs a 3-byte tag of the link id, the start in minutes since 1970, the duration in
minutes and a 48-bit HMAC over the full link id and those numbers. Host and location are not in
it: a booking re-reads the link and re-checks everything, so the id only has to prove that the
server offered this time on this link. The tag is resolved to link ids through a small cache
filled when ids are made (and, in another process, from the backend's link list once).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wix_meetings_mcp.bookings.errors import InvalidSlot
from wix_meetings_mcp.bookings.model import Link, Slot

_BODY = struct.Struct(">3sIH")  # link tag, start minute, duration minutes
_MAC_BYTES = 6  # 48 bits: an agent cannot guess a valid id; a forgery is refused and costs nothing
_LENGTH = _BODY.size + _MAC_BYTES


@dataclass(frozen=True)
class SlotRef:
    """What a slot id proves: the server offered [start, end) on this link."""

    link_id: str
    start: datetime
    end: datetime

    def on(self, link: Link) -> Slot:
        return Slot(
            link_id=link.link_id,
            host_id=link.host.host_id,
            start=self.start,
            end=self.end,
            location_kind=link.location.kind,
        )


def _refused() -> InvalidSlot:
    return InvalidSlot(
        "this slot_id was not issued by this server or was altered",
        next_step="Call find_slots and pass one of its slot_id values unchanged.",
    )


class SlotIds:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"slot-id/v2", hashlib.sha256).digest()
        self._links: dict[bytes, set[str]] = {}

    @staticmethod
    def _tag(link_id: str) -> bytes:
        return hashlib.sha256(link_id.encode()).digest()[:3]

    def _mac(self, link_id: str, body: bytes) -> bytes:
        return hmac.new(self._key, link_id.encode() + b"\0" + body, hashlib.sha256).digest()[:_MAC_BYTES]

    def remember(self, link_ids: Iterable[str]) -> None:
        for link_id in link_ids:
            self._links.setdefault(self._tag(link_id), set()).add(link_id)

    def encode(self, slot: Slot) -> str:
        self.remember([slot.link_id])
        minutes = int((slot.end - slot.start).total_seconds() // 60)
        body = _BODY.pack(self._tag(slot.link_id), int(slot.start.timestamp() // 60), minutes)
        return base64.urlsafe_b64encode(body + self._mac(slot.link_id, body)).decode()

    async def decode(self, slot_id: str, link_ids: Callable[[], Awaitable[Iterable[str]]]) -> SlotRef:
        """The slot the server offered, or InvalidSlot for a malformed, tampered or foreign id.

        `link_ids` lists every link id (active or not); it is asked only for a tag this process
        has not seen, as when another server process made the id.
        """
        try:
            raw = base64.urlsafe_b64decode(slot_id.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise _refused() from None
        if len(raw) != _LENGTH:
            raise _refused()
        body, mac = raw[: _BODY.size], raw[_BODY.size :]
        tag, start_minute, minutes = _BODY.unpack(body)
        if tag not in self._links:
            self.remember(await link_ids())
        for link_id in self._links.get(tag, ()):
            if hmac.compare_digest(mac, self._mac(link_id, body)):
                start = datetime.fromtimestamp(start_minute * 60, UTC)
                return SlotRef(link_id=link_id, start=start, end=start + timedelta(minutes=minutes))
        raise _refused()
