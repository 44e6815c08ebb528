"""The engine's calendar sync state: which feed is due for a refresh, sync switches, export feeds.

Refreshing is claimed like the outbox is: an UPDATE under the write lock (`BEGIN IMMEDIATE`) takes
a due connection only when no other claim on it is live, so several processes on one database
never fetch the same feed at once; a process that dies mid-refresh leaves the claim to expire.
The outcome is written only by the claim's holder (its token), so a stale refresher that wakes up
late cannot overwrite a newer import.
"""

from __future__ import annotations

import secrets
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotFound, NotSupported
from wix_meetings_mcp.bookings.local import rows
from wix_meetings_mcp.bookings.local.rows import ts
from wix_meetings_mcp.bookings.local.slots import Interval
from wix_meetings_mcp.bookings.model import CalendarConnection, Meeting
from wix_meetings_mcp.bookings.outbound import OutboundError, Reason, Validators

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.store import Store

EXPORT_PAST = timedelta(days=90)  # meetings that ended longer ago leave the export feed
EXPORT_LIMIT = 2000  # events per export feed: a calendar app re-reads the whole feed each time


@dataclass(frozen=True)
class DueFeed:
    connection_id: str
    host_id: str
    ics_url: str
    validators: Validators
    token: str  # this claim's


class CalendarSync:
    """Blocking calls on the engine's file; the backend runs them in worker threads."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- refresh --------------------------------------------------------------------------------

    def claim_due(
        self, now: datetime, *, every: timedelta, lease: timedelta, limit: int = 10
    ) -> list[DueFeed]:
        """Connections importing a calendar whose last refresh is `every` old, claimed for `lease`
        (an OAuth connection still waiting for its owner's sign-in has nothing to refresh)."""
        at, token = now.timestamp(), uuid.uuid4().hex
        with self._store._write() as conn:
            conn.execute(
                "UPDATE calendar_connections SET refresh_until = :until, refresh_token = :token"
                " WHERE connection_id IN (SELECT connection_id FROM calendar_connections"
                "   WHERE status NOT IN ('disconnected', 'pending') AND import_enabled = 1 AND refresh_until < :now"
                "   AND COALESCE(refreshed_at, imported_at) <= :due ORDER BY refreshed_at LIMIT :limit)"
                " AND refresh_until < :now",
                {
                    "until": at + lease.total_seconds(),
                    "token": token,
                    "now": at,
                    "due": int(at - every.total_seconds()),
                    "limit": limit,
                },
            )
            found = conn.execute(
                "SELECT connection_id, host_id, ics_url, etag, last_modified FROM calendar_connections"
                " WHERE refresh_token = ?",
                (token,),
            ).fetchall()
        return [DueFeed(r[0], r[1], r[2], Validators(etag=r[3], last_modified=r[4]), token) for r in found]

    def refreshed(
        self,
        feed: DueFeed,
        *,
        busy: Sequence[Interval] | None,
        validators: Validators,
        now: datetime,
        host_limit: int,
    ) -> None:
        """A good import (`busy` None: unchanged since the last one); raises OutboundError too_large
        when the host's calendars would together hold more than `host_limit` busy times."""
        with self._store._write() as conn:
            if not self._holds(conn, feed):
                return
            if busy is not None:
                (others,) = conn.execute(
                    "SELECT COUNT(*) FROM busy WHERE host_id = ? AND connection_id != ?",
                    (feed.host_id, feed.connection_id),
                ).fetchone()
                if others + len(busy) > host_limit:
                    raise OutboundError("too_large")
                conn.execute("DELETE FROM busy WHERE connection_id = ?", (feed.connection_id,))
                conn.executemany(
                    "INSERT INTO busy VALUES (?, ?, ?, ?)",
                    [(feed.connection_id, feed.host_id, ts(s), ts(e)) for s, e in busy],
                )
            conn.execute(
                "UPDATE calendar_connections SET status = 'connected', error_reason = NULL, imported_at = ?,"
                " refreshed_at = ?, etag = ?, last_modified = ?, refresh_until = 0, refresh_token = NULL"
                " WHERE connection_id = ?",
                (ts(now), ts(now), validators.etag, validators.last_modified, feed.connection_id),
            )

    def refresh_failed(self, feed: DueFeed, *, reason: Reason, now: datetime) -> None:
        """The feed failed: the connection turns `error` with its reason and keeps its busy times."""
        with self._store._write() as conn:
            if self._holds(conn, feed):
                conn.execute(
                    "UPDATE calendar_connections SET status = 'error', error_reason = ?, refreshed_at = ?,"
                    " refresh_until = 0, refresh_token = NULL WHERE connection_id = ?",
                    (reason, ts(now), feed.connection_id),
                )

    def save_caldav_account(self, connection_id: str, *, url: str, username: str, password: str) -> None:
        with self._store._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO caldav_accounts VALUES (?, ?, ?, ?)",
                (connection_id, url, username, password),
            )

    def caldav_account(self, connection_id: str) -> tuple[str, str, str] | None:
        """(server URL, username, password) of a CalDAV connection; None for an iCal feed."""
        with self._store._read() as conn:
            row = conn.execute(
                "SELECT url, username, password FROM caldav_accounts WHERE connection_id = ?",
                (connection_id,),
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    @staticmethod
    def _holds(conn: sqlite3.Connection, feed: DueFeed) -> bool:
        row = conn.execute(
            "SELECT 1 FROM calendar_connections WHERE connection_id = ? AND refresh_token = ?"
            " AND status != 'disconnected'",
            (feed.connection_id, feed.token),
        ).fetchone()
        return row is not None

    def oldest_import(self, host_id: str) -> datetime | None:
        """When the least recently imported of the host's importing calendars was last imported."""
        row = (
            self._store._conn()
            .execute(
                "SELECT MIN(imported_at) FROM calendar_connections WHERE host_id = ?"
                " AND status NOT IN ('disconnected', 'pending') AND import_enabled = 1",
                (host_id,),
            )
            .fetchone()
        )
        return None if row[0] is None else rows.dt(row[0])

    def last_refreshes(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """connection id → (last good import, last attempt): for the doctor."""
        found = self._store._conn().execute(
            "SELECT connection_id, imported_at, refreshed_at FROM calendar_connections"
        )
        return {
            r[0]: (None if r[1] is None else rows.dt(r[1]), None if r[2] is None else rows.dt(r[2]))
            for r in found
        }

    # --- sync switches --------------------------------------------------------------------------

    def set_sync(
        self, connection_id: str, *, import_enabled: bool | None, export_enabled: bool | None
    ) -> CalendarConnection:
        if export_enabled:
            raise NotSupported(
                "A secret iCal address can only be read; meetings cannot be written back to it.",
                next_step="Subscribe the calendar to the host's export_feed_url (list_calendar_connections).",
            )
        with self._store._write() as conn:
            row = conn.execute(
                "SELECT status FROM calendar_connections WHERE connection_id = ?", (connection_id,)
            ).fetchone()
            if row is None:
                raise NotFound(
                    f"Calendar connection {connection_id} does not exist.", connection_id=connection_id
                )
            if row[0] == "disconnected":
                raise InvalidArgument(
                    f"Calendar connection {connection_id} is disconnected.",
                    next_step="Connect the calendar again with connect_calendar.",
                )
            if import_enabled is not None:
                conn.execute(
                    "UPDATE calendar_connections SET import_enabled = ? WHERE connection_id = ?",
                    (import_enabled, connection_id),
                )
            found = conn.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id)"
                " AS busy_count FROM calendar_connections c WHERE connection_id = ?",
                (connection_id,),
            ).fetchone()
        return rows.to_connection(found)

    # --- export feeds ---------------------------------------------------------------------------

    def export_secret(self, host_id: str, *, rotate: bool = False) -> str:
        """The host's feed secret, made on first use; `rotate` replaces it (the old one stops working)."""
        with self._store._write() as conn:
            row = conn.execute("SELECT secret FROM export_feeds WHERE host_id = ?", (host_id,)).fetchone()
            if row is not None and not rotate:
                return str(row[0])
            secret = secrets.token_urlsafe(24)
            conn.execute(
                "INSERT INTO export_feeds VALUES (?, ?) ON CONFLICT (host_id) DO UPDATE SET secret = excluded.secret",
                (host_id, secret),
            )
            return secret

    def export_feed(self, secret: str, *, now: datetime) -> tuple[str, list[tuple[Meeting, int]]] | None:
        """The host a secret names and their meetings with each one's SEQUENCE, or None."""
        with self._store._read() as conn:
            row = conn.execute("SELECT host_id FROM export_feeds WHERE secret = ?", (secret,)).fetchone()
            if row is None:
                return None
            found = conn.execute(
                "SELECT * FROM meetings WHERE host_id = ? AND status != 'cancelled' AND end_ts > ?"
                " ORDER BY start_ts LIMIT ?",
                (row[0], ts(now - EXPORT_PAST), EXPORT_LIMIT),
            ).fetchall()
        zone = self._store._zone
        return str(row[0]), [(rows.to_meeting(r, zone), int(r["sequence"])) for r in found]
