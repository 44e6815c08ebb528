"""Meetings written into a Google or Outlook calendar connected by OAuth: the `Exporter` of both.

A thin adapter over the connection's provider client (google_calendar.py, graph_calendar.py, got
from the engine, which keeps and renews the tokens): a put finds our event by the meeting's UID and
patches it, or creates it when there is none (or it was deleted in the calendar meanwhile); a delete
finds it and deletes it, and finding none is done. So a job run twice, or after the host deleted the
event by hand, still leaves one event as the meeting is now.

The clients' failures become the worker's outcomes: access withdrawn or a refresh token refused is
`auth` (the connection turns `error` until it is connected again); a write the provider refused for
good is `rejected`; a provider that throttled or failed past the clients' own retries is `retry`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from wix_meetings_mcp.bookings.errors import NotFound, NotSupported
from wix_meetings_mcp.bookings.local.calendar_api import (
    AccessRevoked,
    CalendarClient,
    EventGone,
    EventRefused,
)
from wix_meetings_mcp.bookings.local.exporters import ExportEvent, ExportFailed, Outcome
from wix_meetings_mcp.bookings.local.oauth_tokens import TokenRefused
from wix_meetings_mcp.bookings.outbound import OutboundError


class CalendarClients(Protocol):
    """Where a connection's provider client comes from (the local engine)."""

    async def calendar_client(self, connection_id: str) -> CalendarClient: ...


class OAuthExporter:
    def __init__(self, clients: CalendarClients) -> None:
        self._clients = clients

    async def put_event(self, connection_id: str, event: ExportEvent) -> None:
        with _translated():
            client = await self._clients.calendar_client(connection_id)
            found = await client.find(event.uid)
            if found is not None:
                try:
                    await client.update(found, event)
                    return
                except EventGone:  # deleted in the calendar since the look-up: write it anew
                    pass
            await client.create(event)

    async def delete_event(self, connection_id: str, uid: str) -> None:
        with _translated():
            client = await self._clients.calendar_client(connection_id)
            found = await client.find(uid)
            if found is not None:
                await client.delete(found)


@contextmanager
def _translated() -> Iterator[None]:
    """The clients' failures as ExportFailed, with a reason or a status code and nothing else."""
    try:
        yield
    except (AccessRevoked, TokenRefused):
        raise ExportFailed("auth", "the calendar's access was withdrawn or refused") from None
    except EventRefused as exc:
        raise ExportFailed("rejected", f"HTTP {exc.status}") from None
    except OutboundError as exc:
        outcome: Outcome = "retry" if exc.reason in ("unreachable", "timeout") else "rejected"
        raise ExportFailed(outcome, exc.reason) from None
    except (NotFound, NotSupported):  # not a connected OAuth calendar (any more), or no OAuth client
        raise ExportFailed("rejected", "not a connected Google or Outlook calendar") from None
