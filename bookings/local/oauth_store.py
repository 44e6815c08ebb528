"""The SQLite side of OAuth calendar connections (tables of engine migration 9, schema.py).

A connection starts `pending` with a one-time nonce and a PKCE verifier; the callback takes both
in one write (a replayed callback finds nothing), then stores the tokens. Each sync round writes
the provider's busy events by id and rewrites the connection's rows of `busy` from them, so
find_slots reads OAuth calendars like every other one. A refresh's outcome is written only by
the holder of the connection's refresh claim (see calendar_sync.py).

Tokens are read here for the clients only; no result, error or log line carries one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from wix_meetings_mcp.bookings.local import rows
from wix_meetings_mcp.bookings.local.calendar_api import Changes
from wix_meetings_mcp.bookings.local.oauth import OAuthProvider
from wix_meetings_mcp.bookings.local.oauth_tokens import Tokens
from wix_meetings_mcp.bookings.local.rows import ts
from wix_meetings_mcp.bookings.model import CalendarConnection, CalendarErrorReason
from wix_meetings_mcp.bookings.outbound import OutboundError

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.store import Store

_CONNECTION = (
    "SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id) AS busy_count"
    " FROM calendar_connections c WHERE c.connection_id = ?"
)


@dataclass(frozen=True)
class Pending:
    """A pending authorization, taken by its callback."""

    connection_id: str
    host_id: str
    provider: OAuthProvider
    verifier: str = field(repr=False)
    redirect_url: str | None


@dataclass(frozen=True)
class OAuthAccount:
    connection_id: str
    host_id: str
    provider: OAuthProvider
    calendar_id: str | None
    refresh_token: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    access_expires: float
    cursor: str | None = field(repr=False)
    full_sync_at: float


class OAuthStore:
    """Blocking calls on the engine's file; the engine runs them in worker threads."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def create_pending(
        self,
        connection: CalendarConnection,
        *,
        calendar_id: str | None,
        redirect_url: str | None,
        nonce: str,
        verifier: str,
        until: datetime,
        now: datetime,
    ) -> None:
        """A new pending connection; this host's earlier ones of the provider that expired go."""
        with self._store._write() as conn:
            expired = [
                r[0]
                for r in conn.execute(
                    "SELECT c.connection_id FROM calendar_connections c JOIN oauth_accounts a"
                    " ON a.connection_id = c.connection_id WHERE c.host_id = ? AND c.provider = ?"
                    " AND c.status = 'pending' AND a.pending_until < ?",
                    (connection.host_id, connection.provider, now.timestamp()),
                )
            ]
            for old in expired:
                conn.execute("DELETE FROM oauth_accounts WHERE connection_id = ?", (old,))
                conn.execute("DELETE FROM calendar_connections WHERE connection_id = ?", (old,))
            conn.execute(
                "INSERT INTO calendar_connections (connection_id, host_id, provider, status, ics_url,"
                " import_enabled, export_enabled, imported_at, refreshed_at) VALUES (?, ?, ?, 'pending', ?, 1, 0, ?, ?)",
                (connection.connection_id, connection.host_id, connection.provider,
                 f"oauth:{connection.connection_id}", ts(now), ts(now)),
            )  # fmt: skip
            conn.execute(
                "INSERT INTO oauth_accounts (connection_id, calendar_id, redirect_url, state_nonce,"
                " code_verifier, pending_until) VALUES (?, ?, ?, ?, ?, ?)",
                (connection.connection_id, calendar_id, redirect_url, nonce, verifier, until.timestamp()),
            )

    def take_pending(self, connection_id: str, provider: str, nonce: str, now: datetime) -> Pending | None:
        """The pending authorization the state names, once: its nonce and verifier are spent here."""
        with self._store._write() as conn:
            row = conn.execute(
                "SELECT c.host_id, c.provider, a.code_verifier, a.redirect_url FROM calendar_connections c"
                " JOIN oauth_accounts a ON a.connection_id = c.connection_id WHERE c.connection_id = ?"
                " AND c.provider = ? AND c.status = 'pending' AND a.state_nonce = ? AND a.pending_until >= ?",
                (connection_id, provider, nonce, now.timestamp()),
            ).fetchone()
            if row is None or row["code_verifier"] is None:
                return None
            conn.execute(
                "UPDATE oauth_accounts SET state_nonce = NULL, code_verifier = NULL WHERE connection_id = ?",
                (connection_id,),
            )
        return Pending(
            connection_id, row["host_id"], row["provider"], row["code_verifier"], row["redirect_url"]
        )

    def authorized(self, connection_id: str, tokens: Tokens, now: datetime) -> CalendarConnection:
        """The callback got tokens: the connection is connected (its first import follows) and
        exports meetings, as a CalDAV account does from the start."""
        with self._store._write() as conn:
            conn.execute(
                "UPDATE oauth_accounts SET refresh_token = ?, access_token = ?, access_expires = ?"
                " WHERE connection_id = ?",
                (tokens.refresh_token, tokens.access_token, tokens.expires_at.timestamp(), connection_id),
            )
            conn.execute(
                "UPDATE calendar_connections SET status = 'connected', error_reason = NULL, export_enabled = 1,"
                " imported_at = ?, refreshed_at = ? WHERE connection_id = ? AND status != 'disconnected'",
                (ts(now), ts(now), connection_id),
            )
            return rows.to_connection(conn.execute(_CONNECTION, (connection_id,)).fetchone())

    def account(self, connection_id: str) -> OAuthAccount | None:
        """The OAuth side of a connection; None for one that is not an OAuth connection."""
        row = (
            self._store._conn()
            .execute(
                "SELECT a.*, c.host_id, c.provider FROM oauth_accounts a JOIN calendar_connections c"
                " ON c.connection_id = a.connection_id WHERE a.connection_id = ?",
                (connection_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return OAuthAccount(
            connection_id=connection_id,
            host_id=row["host_id"],
            provider=row["provider"],
            calendar_id=row["calendar_id"],
            refresh_token=row["refresh_token"],
            access_token=row["access_token"],
            access_expires=float(row["access_expires"]),
            cursor=row["sync_cursor"],
            full_sync_at=float(row["full_sync_at"]),
        )

    def save_tokens(self, connection_id: str, tokens: Tokens) -> None:
        """A refreshed access token, and the refresh token when the provider sent a new one."""
        with self._store._write() as conn:
            conn.execute(
                "UPDATE oauth_accounts SET access_token = ?, access_expires = ?,"
                " refresh_token = COALESCE(?, refresh_token) WHERE connection_id = ?",
                (tokens.access_token, tokens.expires_at.timestamp(), tokens.refresh_token, connection_id),
            )

    def imported(
        self,
        connection_id: str,
        changes: Changes,
        *,
        window: tuple[datetime, datetime],
        now: datetime,
        claim: str | None,
        max_events: int,
        host_limit: int,
    ) -> bool:
        """Apply one sync round and make the connection's busy rows its events in `window`; False
        when the claim was lost (nothing written). OutboundError too_large past either limit."""
        with self._store._write() as conn:
            holder = self._holder(conn, connection_id, claim)
            if holder is None:
                return False
            if changes.full:
                conn.execute("DELETE FROM oauth_events WHERE connection_id = ?", (connection_id,))
            conn.executemany(
                "DELETE FROM oauth_events WHERE connection_id = ? AND event_id = ?",
                [(connection_id, event_id) for event_id in changes.removed],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO oauth_events VALUES (?, ?, ?, ?)",
                [(connection_id, e.event_id, ts(e.start), ts(e.end)) for e in changes.busy],
            )
            (kept,) = conn.execute(
                "SELECT COUNT(*) FROM oauth_events WHERE connection_id = ?", (connection_id,)
            ).fetchone()
            (others,) = conn.execute(
                "SELECT COUNT(*) FROM busy WHERE host_id = ? AND connection_id != ?", (holder, connection_id)
            ).fetchone()
            if kept > max_events or others + kept > host_limit:
                raise OutboundError("too_large")  # rolled back: the last good import stays
            conn.execute("DELETE FROM busy WHERE connection_id = ?", (connection_id,))
            conn.execute(
                "INSERT INTO busy SELECT connection_id, ?, start_ts, end_ts FROM oauth_events"
                " WHERE connection_id = ? AND start_ts < ? AND end_ts > ?",
                (holder, connection_id, ts(window[1]), ts(window[0])),
            )
            conn.execute(
                "UPDATE oauth_accounts SET sync_cursor = ?, full_sync_at = CASE WHEN ? THEN ? ELSE full_sync_at END"
                " WHERE connection_id = ?",
                (changes.cursor, changes.full, now.timestamp(), connection_id),
            )
            conn.execute(
                "UPDATE calendar_connections SET status = 'connected', error_reason = NULL, imported_at = ?,"
                " refreshed_at = ?, refresh_until = 0, refresh_token = NULL WHERE connection_id = ?",
                (ts(now), ts(now), connection_id),
            )
        return True

    def forget_cursor(self, connection_id: str) -> None:
        """The provider dropped the sync cursor: the next round is a full one."""
        with self._store._write() as conn:
            conn.execute(
                "UPDATE oauth_accounts SET sync_cursor = NULL WHERE connection_id = ?", (connection_id,)
            )

    def failed(
        self, connection_id: str, reason: CalendarErrorReason, now: datetime, *, claim: str | None = None
    ) -> CalendarConnection | None:
        """The connection turns `error` with its reason and keeps its busy times (None: claim lost)."""
        with self._store._write() as conn:
            if self._holder(conn, connection_id, claim) is None:
                return None
            conn.execute(
                "UPDATE calendar_connections SET status = 'error', error_reason = ?, refreshed_at = ?,"
                " refresh_until = 0, refresh_token = NULL WHERE connection_id = ?",
                (reason, ts(now), connection_id),
            )
            return rows.to_connection(conn.execute(_CONNECTION, (connection_id,)).fetchone())

    def forget(self, connection_id: str) -> None:
        """A disconnected connection keeps no tokens, cursor or events."""
        with self._store._write() as conn:
            conn.execute("DELETE FROM oauth_events WHERE connection_id = ?", (connection_id,))
            conn.execute("DELETE FROM oauth_accounts WHERE connection_id = ?", (connection_id,))

    def connection(self, connection_id: str) -> CalendarConnection:
        return rows.to_connection(self._store._conn().execute(_CONNECTION, (connection_id,)).fetchone())

    @staticmethod
    def _holder(conn: sqlite3.Connection, connection_id: str, claim: str | None) -> str | None:
        """The host of a live connection whose refresh claim is `claim` (None: no claim needed)."""
        row = conn.execute(
            "SELECT host_id FROM calendar_connections WHERE connection_id = ? AND status != 'disconnected'"
            " AND (? IS NULL OR refresh_token = ?)",
            (connection_id, claim, claim),
        ).fetchone()
        return None if row is None else str(row[0])
