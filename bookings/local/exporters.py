"""What the export worker asks of each calendar provider: put a meeting's event, delete it.

One exporter per provider (CalDAV in caldav_export.py; Google and Microsoft plug in the same way)
writes into the calendar of one connection, which it names by id: it finds the connection's
credentials and target calendar itself. Both calls are idempotent (a PUT of the whole event by its
UID, a delete that finds nothing is done), so a job run twice after a crash does no harm.

An exporter says how a call failed with `ExportFailed`, never with a provider's own exception:
- `retry`: the provider throttled or failed (429, 5xx, timeout, unreachable); the worker backs off,
  at least `retry_after` seconds when the provider said so;
- `auth`: the credentials were refused (401/403): the job is given up and the connection turns
  `error` (`auth_failed`) until it is connected again (the host connects it anew, or an import of
  it succeeds), which queues the host's meetings again, this one included;
- `rejected`: anything else the provider refused; this job is given up.
`detail` is shown to the operator (doctor, logs): a status code or a reason, never a credential,
an address or text from the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from wix_meetings_mcp.bookings.model import Meeting

Outcome = Literal["retry", "auth", "rejected"]


@dataclass(frozen=True)
class ExportEvent:
    """A meeting as it is now, with the SEQUENCE of its last change and when this copy was made."""

    uid: str  # the invitations' UID (calendar_event.meeting_uid)
    sequence: int
    meeting: Meeting
    stamp: datetime


class ExportFailed(Exception):
    def __init__(self, outcome: Outcome, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.outcome: Outcome = outcome
        self.detail = detail
        self.retry_after = retry_after


class Exporter(Protocol):
    async def put_event(self, connection_id: str, event: ExportEvent) -> None:
        """Create or replace the event with `event.uid` in the connection's calendar."""
        ...

    async def delete_event(self, connection_id: str, uid: str) -> None:
        """Remove the event with `uid`; one already gone counts as removed."""
        ...


class Deferred:
    """An exporter made on its first job, so a process that never exports (most start-ups) never
    imports what the exporter needs."""

    def __init__(self, make: Callable[[], Exporter]) -> None:
        self._make = make
        self._made: Exporter | None = None

    def _exporter(self) -> Exporter:
        if self._made is None:
            self._made = self._make()
        return self._made

    async def put_event(self, connection_id: str, event: ExportEvent) -> None:
        await self._exporter().put_event(connection_id, event)

    async def delete_event(self, connection_id: str, uid: str) -> None:
        await self._exporter().delete_event(connection_id, uid)
