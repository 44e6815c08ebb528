"""The tool call being served, so that a write can keep the call's audit row in its own transaction.

The registry opens a `Call` around each tool call; a write on the local engine hands the store a
`Receipt` built here, and the store commits the meeting, the result kept under the idempotency key
and the audit row together (bookings/receipts.py). The registry then skips its own audit write for
that call: one durable commit per booking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from wix_meetings_mcp.bookings.model import Meeting
from wix_meetings_mcp.bookings.receipts import AuditRow, KeyClaim, Receipt


class AuditLog(Protocol):
    """Where write calls are reported; server/ supplies the implementation (who, when, storage).

    `arguments` are as the caller sent them: the implementation drops secrets before keeping them.
    `result` is "ok", the contract's error code, "input_required" (the user is being asked to
    confirm), "protocol_error" or "cancelled" (the client went away: the write may have happened);
    `status` is a successful result's status field, if it has one.
    """

    def row(self, tool: str, arguments: Mapping[str, Any], result: str, status: str | None) -> AuditRow:
        """The row `record` would write (for a write that keeps it in its own transaction)."""
        ...

    async def record(
        self, tool: str, arguments: Mapping[str, Any], result: str, status: str | None
    ) -> None: ...


@dataclass
class Call:
    tool: str
    arguments: Mapping[str, Any]
    audit: AuditLog | None
    kept: bool = False  # the write committed this call's audit row itself


_current: ContextVar[Call | None] = ContextVar("meetings_mcp_call", default=None)


@contextmanager
def serving(call: Call) -> Iterator[Call]:
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)


def receipt(key: KeyClaim | None, result: Callable[[Meeting], BaseModel]) -> Receipt:
    """What the write keeps: `result(meeting)` under `key`, and the audit row of the call being
    served (none outside a tool call, such as a booking made on the public page)."""
    call = _current.get()

    def keep(meeting: Meeting) -> tuple[str, AuditRow | None]:
        model = result(meeting)
        row = None
        if call is not None and call.audit is not None:
            status = getattr(model, "status", None)
            row = call.audit.row(call.tool, call.arguments, "ok", status if isinstance(status, str) else None)
            call.kept = True
        return model.model_dump_json(), row

    return Receipt(key, keep)
