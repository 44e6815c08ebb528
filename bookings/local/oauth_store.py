"""Where OAuth calendar connections keep their state (tables of engine migration 9). One set of rules
(`OAuthStore`) runs on either store; each dialect gives its SQL: SQLite's is here, PostgreSQL's in
pg_oauth_store.py (transactions and statement runners are calendar_sync.py's).

A connection starts `pending` with a one-time nonce and a PKCE verifier; the callback takes both
in one write (a replayed callback finds nothing; on PostgreSQL the row is locked, so two callbacks
at once cannot both take it), then stores the tokens. Each sync round writes the provider's busy
events by id and rewrites the connection's rows of `busy` from them, so find_slots reads OAuth
calendars like every other one. A refresh's outcome is written only by the holder of the
connection's refresh claim (see calendar_sync.py).

Tokens are read here for the clients only; no result, error or log line carries one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from wix_meetings_mcp.bookings.local import exports, rows
from wix_meetings_mcp.bookings.local.calendar_api import Changes
from wix_meetings_mcp.bookings.local.calendar_sync import Database, SqliteDatabase, Tx, export_window
from wix_meetings_mcp.bookings.local.oauth import OAuthProvider
from wix_meetings_mcp.bookings.local.oauth_tokens import Tokens
from wix_meetings_mcp.bookings.local.rows import ts
from wix_meetings_mcp.bookings.model import CalendarConnection, CalendarErrorReason
from wix_meetings_mcp.bookings.outbound import OutboundError

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.store import Store


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


@dataclass(frozen=True)
class OAuthSql:
    """Every statement of the OAuth rules in one dialect; the parameters each one takes are named."""

    expired_pending: str  # host, provider, now → connection_id: pending ones whose sign-in expired
    drop_account: str  # connection
    drop_connection: str  # connection
    add_connection: str  # connection, host, provider, ics_url, now: pending, importing, not exporting
    add_account: str  # connection, calendar_id, redirect_url, nonce, verifier, until
    pending: str  # connection, provider, nonce, now → host_id, provider, code_verifier, redirect_url
    spend: str  # connection: the nonce and verifier are used up
    grant: str  # connection, refresh, access, expires
    authorized: str  # connection, now: connected and exporting
    account: str  # connection → the account row with host_id, provider
    save_tokens: str  # connection, access, expires, refresh (None keeps the stored one)
    holder: str  # connection, claim (None: any) → host_id of a live connection (locks the write's rows)
    drop_events: str  # connection
    drop_event: str  # connection, event
    put_event: str  # connection, event, start, end
    count_events: str  # connection → n
    busy_elsewhere: str  # host, connection → n
    drop_busy: str  # connection
    add_busy: str  # connection, host, since, until: busy rows from the events in the window
    synced: str  # connection, cursor, full_at (None: not a full round)
    requeue_refused: str  # connection, since, limit: exports queued anew if credentials were refused
    imported: str  # connection, now
    forget_cursor: str  # connection
    failed: str  # connection, reason, now
    connection: str  # connection → the connection's row with busy_count


class OAuthStore:
    """Blocking calls on the engine's database; the engine runs them in worker threads."""

    def __init__(self, db: Database, sql: OAuthSql) -> None:
        self._db = db
        self._sql = sql

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
        sql, named = self._sql, {"connection": connection.connection_id}

        def write(tx: Tx) -> None:
            expired = {"host": connection.host_id, "provider": connection.provider, "now": now.timestamp()}
            for old in tx.all(sql.expired_pending, expired):
                tx.run(sql.drop_account, {"connection": old["connection_id"]})
                tx.run(sql.drop_connection, {"connection": old["connection_id"]})
            tx.run(
                sql.add_connection,
                named | {"host": connection.host_id, "provider": connection.provider,
                         "ics_url": f"oauth:{connection.connection_id}", "now": ts(now)},
            )  # fmt: skip
            tx.run(
                sql.add_account,
                named | {"calendar_id": calendar_id, "redirect_url": redirect_url, "nonce": nonce,
                         "verifier": verifier, "until": until.timestamp()},
            )  # fmt: skip

        self._db.write(write)

    def take_pending(self, connection_id: str, provider: str, nonce: str, now: datetime) -> Pending | None:
        """The pending authorization the state names, once: its nonce and verifier are spent here."""
        named = {"connection": connection_id}

        def write(tx: Tx) -> rows.Row | None:
            row = tx.one(
                self._sql.pending, named | {"provider": provider, "nonce": nonce, "now": now.timestamp()}
            )
            if row is None or row["code_verifier"] is None:
                return None
            tx.run(self._sql.spend, named)
            return row

        row = self._db.write(write)
        if row is None:
            return None
        return Pending(
            connection_id, row["host_id"], row["provider"], row["code_verifier"], row["redirect_url"]
        )

    def authorized(self, connection_id: str, tokens: Tokens, now: datetime) -> CalendarConnection:
        """The callback got tokens: the connection is connected (its first import follows) and
        exports meetings, as a CalDAV account does from the start."""
        named = {"connection": connection_id}
        grant = named | {
            "refresh": tokens.refresh_token,
            "access": tokens.access_token,
            "expires": tokens.expires_at.timestamp(),
        }

        def write(tx: Tx) -> rows.Row | None:
            tx.run(self._sql.grant, grant)
            tx.run(self._sql.authorized, named | {"now": ts(now)})
            return tx.one(self._sql.connection, named)

        return rows.to_connection(_found(self._db.write(write)))

    def account(self, connection_id: str) -> OAuthAccount | None:
        """The OAuth side of a connection; None for one that is not an OAuth connection."""
        row = self._db.read(lambda tx: tx.one(self._sql.account, {"connection": connection_id}))
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
        saved = {
            "connection": connection_id,
            "access": tokens.access_token,
            "expires": tokens.expires_at.timestamp(),
            "refresh": tokens.refresh_token,
        }
        self._db.write(lambda tx: tx.run(self._sql.save_tokens, saved))

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
        when the claim was lost (nothing written). OutboundError too_large past either limit. A
        connection whose credentials had been refused is connected again, its exports queued anew."""
        sql, named = self._sql, {"connection": connection_id}

        def write(tx: Tx) -> bool:
            holder = tx.one(sql.holder, named | {"claim": claim})
            if holder is None:
                return False
            host = {"host": str(holder["host_id"])}
            if changes.full:
                tx.run(sql.drop_events, named)
            tx.many(sql.drop_event, [named | {"event": event_id} for event_id in changes.removed])
            tx.many(
                sql.put_event,
                [named | {"event": e.event_id, "start": ts(e.start), "end": ts(e.end)} for e in changes.busy],
            )
            kept, others = tx.one(sql.count_events, named), tx.one(sql.busy_elsewhere, named | host)
            kept_n, others_n = int(_found(kept)["n"]), int(_found(others)["n"])
            if kept_n > max_events or others_n + kept_n > host_limit:
                raise OutboundError("too_large")  # rolled back: the last good import stays
            tx.run(sql.drop_busy, named)
            tx.run(sql.add_busy, named | host | {"since": ts(window[0]), "until": ts(window[1])})
            full_at = now.timestamp() if changes.full else None
            tx.run(sql.synced, named | {"cursor": changes.cursor, "full_at": full_at})
            tx.run(sql.requeue_refused, export_window(connection_id, now))
            tx.run(sql.imported, named | {"now": ts(now)})
            return True

        return self._db.write(write)

    def forget_cursor(self, connection_id: str) -> None:
        """The provider dropped the sync cursor: the next round is a full one."""
        self._db.write(lambda tx: tx.run(self._sql.forget_cursor, {"connection": connection_id}))

    def failed(
        self, connection_id: str, reason: CalendarErrorReason, now: datetime, *, claim: str | None = None
    ) -> CalendarConnection | None:
        """The connection turns `error` with its reason and keeps its busy times (None: claim lost)."""
        named = {"connection": connection_id}

        def write(tx: Tx) -> rows.Row | None:
            if tx.one(self._sql.holder, named | {"claim": claim}) is None:
                return None
            tx.run(self._sql.failed, named | {"reason": reason, "now": ts(now)})
            return tx.one(self._sql.connection, named)

        row = self._db.write(write)
        return None if row is None else rows.to_connection(row)

    def connection(self, connection_id: str) -> CalendarConnection:
        row = self._db.read(lambda tx: tx.one(self._sql.connection, {"connection": connection_id}))
        return rows.to_connection(_found(row))


def _found(row: rows.Row | None) -> rows.Row:
    assert row is not None  # written in the same transaction, or a count
    return row


# --- SQLite ---------------------------------------------------------------------------------------

SQLITE = OAuthSql(
    expired_pending="SELECT c.connection_id FROM calendar_connections c JOIN oauth_accounts a"
    " ON a.connection_id = c.connection_id WHERE c.host_id = :host AND c.provider = :provider"
    " AND c.status = 'pending' AND a.pending_until < :now",
    drop_account="DELETE FROM oauth_accounts WHERE connection_id = :connection",
    drop_connection="DELETE FROM calendar_connections WHERE connection_id = :connection",
    add_connection="INSERT INTO calendar_connections (connection_id, host_id, provider, status, ics_url,"
    " import_enabled, export_enabled, imported_at, refreshed_at)"
    " VALUES (:connection, :host, :provider, 'pending', :ics_url, 1, 0, :now, :now)",
    add_account="INSERT INTO oauth_accounts (connection_id, calendar_id, redirect_url, state_nonce,"
    " code_verifier, pending_until) VALUES (:connection, :calendar_id, :redirect_url, :nonce, :verifier, :until)",
    # The write lock (BEGIN IMMEDIATE) keeps a second callback out until this one has spent it.
    pending="SELECT c.host_id, c.provider, a.code_verifier, a.redirect_url FROM calendar_connections c"
    " JOIN oauth_accounts a ON a.connection_id = c.connection_id WHERE c.connection_id = :connection"
    " AND c.provider = :provider AND c.status = 'pending' AND a.state_nonce = :nonce AND a.pending_until >= :now",
    spend="UPDATE oauth_accounts SET state_nonce = NULL, code_verifier = NULL WHERE connection_id = :connection",
    grant="UPDATE oauth_accounts SET refresh_token = :refresh, access_token = :access, access_expires = :expires"
    " WHERE connection_id = :connection",
    authorized="UPDATE calendar_connections SET status = 'connected', error_reason = NULL, export_enabled = 1,"
    " imported_at = :now, refreshed_at = :now WHERE connection_id = :connection AND status != 'disconnected'",
    account="SELECT a.*, c.host_id, c.provider FROM oauth_accounts a JOIN calendar_connections c"
    " ON c.connection_id = a.connection_id WHERE a.connection_id = :connection",
    save_tokens="UPDATE oauth_accounts SET access_token = :access, access_expires = :expires,"
    " refresh_token = COALESCE(:refresh, refresh_token) WHERE connection_id = :connection",
    holder="SELECT host_id FROM calendar_connections WHERE connection_id = :connection"
    " AND status != 'disconnected' AND (:claim IS NULL OR refresh_token = :claim)",
    drop_events="DELETE FROM oauth_events WHERE connection_id = :connection",
    drop_event="DELETE FROM oauth_events WHERE connection_id = :connection AND event_id = :event",
    put_event="INSERT INTO oauth_events VALUES (:connection, :event, :start, :end)"
    " ON CONFLICT (connection_id, event_id) DO UPDATE SET start_ts = excluded.start_ts, end_ts = excluded.end_ts",
    count_events="SELECT COUNT(*) AS n FROM oauth_events WHERE connection_id = :connection",
    busy_elsewhere="SELECT COUNT(*) AS n FROM busy WHERE host_id = :host AND connection_id != :connection",
    drop_busy="DELETE FROM busy WHERE connection_id = :connection",
    add_busy="INSERT INTO busy SELECT connection_id, :host, start_ts, end_ts FROM oauth_events"
    " WHERE connection_id = :connection AND start_ts < :until AND end_ts > :since",
    synced="UPDATE oauth_accounts SET sync_cursor = :cursor, full_sync_at = COALESCE(:full_at, full_sync_at)"
    " WHERE connection_id = :connection",
    requeue_refused=exports.REQUEUE_REFUSED,
    imported="UPDATE calendar_connections SET status = 'connected', error_reason = NULL, imported_at = :now,"
    " refreshed_at = :now, refresh_until = 0, refresh_token = NULL WHERE connection_id = :connection",
    forget_cursor="UPDATE oauth_accounts SET sync_cursor = NULL WHERE connection_id = :connection",
    failed="UPDATE calendar_connections SET status = 'error', error_reason = :reason, refreshed_at = :now,"
    " refresh_until = 0, refresh_token = NULL WHERE connection_id = :connection",
    connection="SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id)"
    " AS busy_count FROM calendar_connections c WHERE c.connection_id = :connection",
)


def sqlite_oauth(store: Store) -> OAuthStore:
    """OAuth connections on a SQLite file."""
    return OAuthStore(SqliteDatabase(store), SQLITE)
