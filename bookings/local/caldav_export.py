"""Meetings written into a CalDAV account's "Meetings" calendar: the CalDAV `Exporter`.

On a connection's first export the calendar is looked up by name in the account's calendar home,
or made there with MKCALENDAR (RFC 4791 5.3.1) at a fixed path, so two processes making it at once
end up with one; its URL is then kept per connection. Each meeting is one calendar object resource,
`{calendar}/{uid}.ics` with the invitations' UID, PUT whole on every change (its SEQUENCE raised)
and DELETEd once cancelled; a DELETE that finds nothing is done. A PUT goes without If-Match: the
calendar is ours, and the meeting as it is now always wins. If the calendar was deleted in the
calendar app (404 or 409 on PUT), it is found or made again once, within the same job.

Every request goes through the outbound guard (a caldav_url on a private network must be allowed by
the operator), signed with the account's app-specific password; no failure said here names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, unquote

import anyio

from wix_meetings_mcp.bookings.calendar_event import stored_event
from wix_meetings_mcp.bookings.local import caldav
from wix_meetings_mcp.bookings.local.exporters import ExportEvent, ExportFailed, Outcome
from wix_meetings_mcp.bookings.outbound import Answer, Outbound, OutboundError

if TYPE_CHECKING:
    import httpx

EXPORT_PATH = "meetings-mcp/"  # where in the calendar home the export calendar is made
DEADLINE = 30.0  # seconds per request, redirects included
MAX_BYTES = 2 * 1024 * 1024  # a calendar home's listing
MAX_RETRY_AFTER = 6 * 3600.0  # a server asking for a longer pause gets the backoff's longest


class CalDavExportState(Protocol):
    """Where the exporter reads credentials and keeps its calendar's URL (blocking calls):
    exports.ExportQueue on the SQLite file, pg_exports.PgExportQueue on PostgreSQL."""

    def caldav_account(self, connection_id: str) -> tuple[str, str, str] | None: ...
    def export_target(self, connection_id: str) -> str | None: ...
    def save_export_target(self, connection_id: str, target: str | None) -> None: ...


class CalDavExporter:
    def __init__(
        self,
        state: CalDavExportState,
        *,
        outbound: Outbound,
        http: Callable[[], httpx.AsyncClient],
        deadline: float = DEADLINE,
    ) -> None:
        self._state = state
        self._outbound = outbound
        self._http = http
        self._deadline = deadline

    async def put_event(self, connection_id: str, event: ExportEvent) -> None:
        body = stored_event(event.meeting, event.sequence, event.stamp)
        with _translated():
            client = await self._client(connection_id)
            for again in (False, True):
                calendar = await self._calendar(connection_id, client, again=again)
                answer = await client.put_event(_resource(calendar, event.uid), body)
                if answer.status in (200, 201, 204):
                    return
                if answer.status not in (404, 409) or again:
                    raise _failure(answer)
                # The calendar is gone (deleted in the app): forget it, find or make it again.
                await anyio.to_thread.run_sync(self._state.save_export_target, connection_id, None)

    async def delete_event(self, connection_id: str, uid: str) -> None:
        calendar = await anyio.to_thread.run_sync(self._state.export_target, connection_id)
        if calendar is None:
            return  # nothing was ever exported to this connection
        with _translated():
            client = await self._client(connection_id)
            answer = await client.delete(_resource(calendar, uid))
            if answer.status not in (200, 204, 404, 410):
                raise _failure(answer)

    async def _client(self, connection_id: str) -> caldav.CalDavClient:
        account = await anyio.to_thread.run_sync(self._state.caldav_account, connection_id)
        if account is None:
            raise ExportFailed("rejected", "no CalDAV account is stored for this connection")
        return caldav.CalDavClient(
            outbound=self._outbound,
            http=self._http(),
            account=caldav.Account(*account),
            max_bytes=MAX_BYTES,
            deadline=self._deadline,
        )

    async def _calendar(self, connection_id: str, client: caldav.CalDavClient, *, again: bool) -> str:
        """The export calendar's URL: the one kept, or else found by name, or else made."""
        if not again:
            kept = await anyio.to_thread.run_sync(self._state.export_target, connection_id)
            if kept is not None:
                return kept
        home = await client.home()
        ours = home.rstrip("/") + "/" + EXPORT_PATH
        found = await _find(client, home, ours)
        if found is None:
            status = await client.make_calendar(ours, caldav.EXPORT_CALENDAR)
            # Anything but 201: perhaps another process made it just now; look once more.
            found = ours if status == 201 else await _find(client, home, ours)
            if found is None:
                outcome: Outcome = "retry" if status == 429 or status >= 500 else "rejected"
                raise ExportFailed(
                    outcome, f"the server did not make the {caldav.EXPORT_CALENDAR} calendar (HTTP {status})"
                )
        await anyio.to_thread.run_sync(self._state.save_export_target, connection_id, found)
        return found


async def _find(client: caldav.CalDavClient, home: str, ours: str) -> str | None:
    """The export calendar by its name, or at the path this exporter makes it at."""
    listed = await client.event_calendars(home)
    for calendar in listed:
        if calendar.name == caldav.EXPORT_CALENDAR:
            return calendar.url
    return next((c.url for c in listed if _same(c.url, ours)), None)


def _same(url: str, other: str) -> bool:
    return unquote(url).rstrip("/") == unquote(other).rstrip("/")


def _resource(calendar: str, uid: str) -> str:
    return f"{calendar.rstrip('/')}/{quote(uid, safe='@')}.ics"


def _failure(answer: Answer) -> ExportFailed:
    status = answer.status
    if status == 429 or status >= 500:
        return ExportFailed("retry", f"HTTP {status}", retry_after=_retry_after(answer.headers))
    return ExportFailed("rejected", f"HTTP {status}")


def _retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds (its date form is left to the backoff)."""
    value = headers.get("retry-after", "").strip()
    return min(float(value), MAX_RETRY_AFTER) if value.isdigit() else None


@contextmanager
def _translated() -> Iterator[None]:
    """The guard's and the client's failures as ExportFailed; the reason only, nothing else."""
    try:
        yield
    except caldav.CalDavAuthError:
        raise ExportFailed("auth", "the CalDAV server refused the email and password") from None
    except OutboundError as exc:
        outcome: Outcome = "retry" if exc.reason in ("unreachable", "timeout") else "rejected"
        raise ExportFailed(outcome, exc.reason) from None
