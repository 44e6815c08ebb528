"""Slot ids: a signed, self-contained encoding of link, host, start, end and location."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from wix_meetings_mcp.bookings.errors import InvalidSlot
from wix_meetings_mcp.bookings.model import LocationKind, Slot
from wix_meetings_mcp.tools.signing import Signer

_KINDS: tuple[LocationKind, ...] = get_args(LocationKind)
_SEP = "|"


class SlotIds:
    def __init__(self, secret: bytes) -> None:
        self._signer = Signer(secret, purpose="slot-id/v1")

    def encode(self, slot: Slot) -> str:
        start = int(slot.start.timestamp())
        seconds = int((slot.end - slot.start).total_seconds())
        fields = (slot.link_id, slot.host_id, str(start), str(seconds), str(_KINDS.index(slot.location_kind)))
        return self._signer.sign(_SEP.join(fields))

    def decode(self, slot_id: str) -> Slot:
        """The slot the server offered, or InvalidSlot for a malformed, tampered or foreign id."""
        try:
            link_id, host_id, start, seconds, kind = self._signer.verify(slot_id).split(_SEP)
            begin = datetime.fromtimestamp(int(start), UTC)
            return Slot(
                link_id=link_id,
                host_id=host_id,
                start=begin,
                end=begin + timedelta(seconds=int(seconds)),
                location_kind=_KINDS[int(kind)],
            )
        except (ValueError, IndexError, UnicodeDecodeError):
            raise InvalidSlot(
                "this slot_id was not issued by this server or was altered",
                next_step="Call find_slots and pass one of its slot_id values unchanged.",
            ) from None
