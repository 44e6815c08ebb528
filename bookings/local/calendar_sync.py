"""The engine's calendar sync state: which feed is due for a refresh, sync switches, export feeds and
stored CalDAV accounts. One set of rules (`CalendarSync`) runs on either store; each dialect gives
its SQL: SQLite's is here, PostgreSQL's in pg_calendar_sync.py.

Refreshing is claimed like the outbox is: a due connection is taken only when no other claim on it
is live (SQLite: under the write lock, `BEGIN IMMEDIATE`; PostgreSQL: `FOR UPDATE SKIP LOCKED`), so
several processes or replicas on one database never fetch the same feed at once; one that dies
mid-refresh leaves the claim to expire and be taken again. The outcome is written only by the
claim's holder (its token, checked with the row locked), so a stale refresher that wakes up late
cannot overwrite a newer import.
"""

from __future__ import annotations

import secrets
import sqlite3
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotFound, NotSupported
from wix_meetings_mcp.bookings.local import exports, rows
from wix_meetings_mcp.bookings.local.rows import Row, ts
from wix_meetings_mcp.bookings.local.slots import Interval
from wix_meetings_mcp.bookings.model import CalendarConnection, Meeting
from wix_meetings_mcp.bookings.outbound import OutboundError, Reason, Validators

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.store import Store

T = TypeVar("T")

EXPORT_PAST = timedelta(days=90)  # meetings that ended longer ago leave the export feed
# Events per export feed (a calendar app re-reads the whole feed each time), and meetings queued
# at once when a calendar starts exporting.
EXPORT_LIMIT = 2000


@dataclass(frozen=True)
class DueFeed:
    connection_id: str
    host_id: str
    ics_url: str
    validators: Validators
    token: str  # this claim's


Params = Mapping[str, object]


class Tx(Protocol):
    """One open transaction of a store; statements take named parameters in its dialect's style."""

    def run(self, sql: str, params: Params) -> None: ...
    def one(self, sql: str, params: Params) -> Row | None: ...
    def all(self, sql: str, params: Params) -> list[Row]: ...
    def many(self, sql: str, params: Sequence[Params]) -> None: ...


class Database(Protocol):
    """A store as the sync rules use it: its transactions, and the business zone it reads times in."""

    @property
    def zone(self) -> ZoneInfo: ...
    def write(self, work: Callable[[Tx], T]) -> T: ...
    def read(self, work: Callable[[Tx], T]) -> T: ...


@dataclass(frozen=True)
class SyncSql:
    """Every statement of the sync rules in one dialect; the parameters each one takes are named."""

    claim: str  # until, token, now, due, limit, google, outlook: due connections no live claim holds
    claimed: str  # token → connection_id, host_id, ics_url, etag, last_modified
    holds: str  # connection, token: a row while the claim is this one (locks what the write needs)
    busy_elsewhere: str  # host, connection → n: busy times of the host's other calendars
    drop_busy: str  # connection
    add_busy: str  # connection, host, start, end
    refreshed: str  # connection, now, etag, last_modified
    refresh_failed: str  # connection, now, reason
    save_account: str  # connection, url, username, password
    account: str  # connection → url, username, password
    oldest_import: str  # host → oldest
    last_refreshes: str  # → connection_id, imported_at, refreshed_at
    status: str  # connection → status, export_enabled, writable, oauth (locks the row where it can)
    set_import: str  # connection, enabled
    set_export: str  # connection, enabled
    enqueue_exports: str  # connection, since, limit: queue the host's live meetings for export
    requeue_refused: str  # connection, since, limit: the same, if its credentials had been refused
    connection: str  # connection → the connection's row with busy_count
    secret: str  # host → secret
    add_secret: str  # host, secret: kept when the host has one already
    replace_secret: str  # host, secret
    feed_host: str  # secret → host_id
    feed_meetings: str  # host, since, limit → meetings rows


class CalendarSync:
    """Blocking calls on the engine's database; the backend runs them in worker threads."""

    def __init__(self, db: Database, sql: SyncSql) -> None:
        self._db = db
        self._sql = sql

    # --- refresh --------------------------------------------------------------------------------

    def claim_due(
        self,
        now: datetime,
        *,
        every: timedelta,
        lease: timedelta,
        oauth: Collection[str] = (),
        limit: int = 10,
    ) -> list[DueFeed]:
        """Connections importing a calendar whose last refresh is `every` old, claimed for `lease`.
        An OAuth connection is taken only once its owner signed in (a pending, declined or failed
        sign-in has nothing to read and keeps its reason) and only when its provider is in `oauth`,
        the ones this process has a client for: another process may refresh the rest."""
        at, token = now.timestamp(), uuid.uuid4().hex
        params = {
            "until": at + lease.total_seconds(),
            "token": token,
            "now": at,
            "due": int(at - every.total_seconds()),
            "limit": limit,
            "google": "google" in oauth,
            "outlook": "outlook" in oauth,
        }

        def claim(tx: Tx) -> list[Row]:
            tx.run(self._sql.claim, params)
            return tx.all(self._sql.claimed, {"token": token})

        return [
            DueFeed(
                r["connection_id"],
                r["host_id"],
                r["ics_url"],
                Validators(etag=r["etag"], last_modified=r["last_modified"]),
                token,
            )
            for r in self._db.write(claim)
        ]

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
        when the host's calendars would together hold more than `host_limit` busy times. A
        connection whose credentials had been refused is connected again, its exports queued anew."""
        sql, connection = self._sql, {"connection": feed.connection_id}

        def write(tx: Tx) -> None:
            if tx.one(sql.holds, connection | {"token": feed.token}) is None:
                return
            if busy is not None:
                others = tx.one(sql.busy_elsewhere, connection | {"host": feed.host_id})
                if (0 if others is None else int(others["n"])) + len(busy) > host_limit:
                    raise OutboundError("too_large")
                tx.run(sql.drop_busy, connection)
                tx.many(
                    sql.add_busy,
                    [connection | {"host": feed.host_id, "start": ts(s), "end": ts(e)} for s, e in busy],
                )
            tx.run(sql.requeue_refused, export_window(feed.connection_id, now))
            tx.run(
                sql.refreshed,
                connection
                | {"now": ts(now), "etag": validators.etag, "last_modified": validators.last_modified},
            )

        self._db.write(write)

    def refresh_failed(self, feed: DueFeed, *, reason: Reason, now: datetime) -> None:
        """The feed failed: the connection turns `error` with its reason and keeps its busy times."""
        connection = {"connection": feed.connection_id}

        def write(tx: Tx) -> None:
            if tx.one(self._sql.holds, connection | {"token": feed.token}) is not None:
                tx.run(self._sql.refresh_failed, connection | {"now": ts(now), "reason": reason})

        self._db.write(write)

    def save_caldav_account(self, connection_id: str, *, url: str, username: str, password: str) -> None:
        params = {"connection": connection_id, "url": url, "username": username, "password": password}
        self._db.write(lambda tx: tx.run(self._sql.save_account, params))

    def caldav_account(self, connection_id: str) -> tuple[str, str, str] | None:
        """(server URL, username, password) of a CalDAV connection; None for an iCal feed."""
        row = self._db.read(lambda tx: tx.one(self._sql.account, {"connection": connection_id}))
        return None if row is None else (str(row["url"]), str(row["username"]), str(row["password"]))

    def oldest_import(self, host_id: str) -> datetime | None:
        """When the least recently imported of the host's importing calendars was last imported."""
        row = self._db.read(lambda tx: tx.one(self._sql.oldest_import, {"host": host_id}))
        return None if row is None or row["oldest"] is None else rows.dt(row["oldest"])

    def last_refreshes(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """connection id → (last good import, last attempt)."""
        found = self._db.read(lambda tx: tx.all(self._sql.last_refreshes, {}))
        return {r["connection_id"]: (_moment(r["imported_at"]), _moment(r["refreshed_at"])) for r in found}

    # --- sync switches --------------------------------------------------------------------------

    def set_sync(
        self,
        connection_id: str,
        *,
        import_enabled: bool | None,
        export_enabled: bool | None,
        now: datetime,
    ) -> CalendarConnection:
        """Switch import or export; export is written only to a calendar account (CalDAV, or Google /
        Outlook by OAuth; an iCal feed is read-only). Switching export on queues the host's meetings
        still to come or recent."""
        connection = {"connection": connection_id}

        def write(tx: Tx) -> Row:
            row = tx.one(self._sql.status, connection)
            if row is None:
                raise NotFound(
                    f"Calendar connection {connection_id} does not exist.", connection_id=connection_id
                )
            if row["status"] == "disconnected":
                raise InvalidArgument(
                    f"Calendar connection {connection_id} is disconnected.",
                    next_step="Connect the calendar again with connect_calendar.",
                )
            if export_enabled and not row["writable"] and row["oauth"]:
                raise _not_signed_in(connection_id, pending=row["status"] == "pending")
            if export_enabled and not row["writable"]:
                raise NotSupported(
                    "A secret iCal address can only be read; meetings cannot be written back to it.",
                    next_step="Subscribe the calendar to the host's export_feed_url (list_calendar_connections).",
                )
            if import_enabled is not None:
                tx.run(self._sql.set_import, connection | {"enabled": import_enabled})
            if export_enabled is not None:
                tx.run(self._sql.set_export, connection | {"enabled": export_enabled})
            if export_enabled and not row["export_enabled"]:
                self._enqueue_exports(tx, connection_id, now)
            found = tx.one(self._sql.connection, connection)
            assert found is not None  # locked or under the write lock since the look above
            return found

        return rows.to_connection(self._db.write(write))

    def start_export(self, connection_id: str, *, now: datetime) -> None:
        """A calendar account (CalDAV, or OAuth after its callback) just connected with export on:
        queue the host's meetings still to come or recent."""
        self._db.write(lambda tx: self._enqueue_exports(tx, connection_id, now))

    def _enqueue_exports(self, tx: Tx, connection_id: str, now: datetime) -> None:
        tx.run(self._sql.enqueue_exports, export_window(connection_id, now))

    # --- export feeds ---------------------------------------------------------------------------

    def export_secret(self, host_id: str, *, rotate: bool = False) -> str:
        """The host's feed secret, made on first use; `rotate` replaces it (the old one stops working).

        First uses racing on several replicas keep one secret: a new one is only added when none is."""
        host = {"host": host_id}

        def write(tx: Tx) -> str:
            row = tx.one(self._sql.secret, host)
            if row is not None and not rotate:
                return str(row["secret"])
            made = host | {"secret": secrets.token_urlsafe(24)}
            tx.run(self._sql.replace_secret if rotate else self._sql.add_secret, made)
            row = tx.one(self._sql.secret, host)
            assert row is not None
            return str(row["secret"])

        return self._db.write(write)

    def export_feed(self, secret: str, *, now: datetime) -> tuple[str, list[tuple[Meeting, int]]] | None:
        """The host a secret names and their meetings with each one's SEQUENCE, or None."""

        def read(tx: Tx) -> tuple[str, list[Row]] | None:
            row = tx.one(self._sql.feed_host, {"secret": secret})
            if row is None:
                return None
            params = {"host": row["host_id"], "since": ts(now - EXPORT_PAST), "limit": EXPORT_LIMIT}
            return str(row["host_id"]), tx.all(self._sql.feed_meetings, params)

        found = self._db.read(read)
        if found is None:
            return None
        zone = self._db.zone
        return found[0], [(rows.to_meeting(r, zone), int(r["sequence"])) for r in found[1]]


def export_window(connection_id: str, now: datetime) -> Params:
    """What queueing a connection's exports takes: the meetings still to come or recent, at most
    EXPORT_LIMIT."""
    return {"connection": connection_id, "since": ts(now - EXPORT_PAST), "limit": EXPORT_LIMIT}


def _not_signed_in(connection_id: str, *, pending: bool) -> InvalidArgument:
    """Export asked of a Google / Outlook connection whose owner has not signed in (yet)."""
    if pending:
        return InvalidArgument(
            f"Calendar connection {connection_id} is waiting for its owner to finish signing in; once "
            "they have, meetings are written to that calendar without switching anything on.",
            next_step="Have the host open the authorization_url that connect_calendar gave and allow "
            "calendar access; if it has expired, call connect_calendar again for a new one.",
        )
    return InvalidArgument(
        f"The owner of calendar connection {connection_id} declined or did not complete signing in, so "
        "meetings cannot be written to it.",
        next_step="Call connect_calendar again and have the host open the new authorization_url and "
        "allow calendar access.",
    )


def _moment(epoch: int | None) -> datetime | None:
    return None if epoch is None else rows.dt(epoch)


# A connection the refresher may claim: not an OAuth one whose owner never signed in (no refresh
# token), nor one of a provider this process has no client for (:google, :outlook are booleans).
REFRESHABLE = """NOT EXISTS (SELECT 1 FROM oauth_accounts o WHERE o.connection_id = c.connection_id
    AND (o.refresh_token IS NULL OR (c.provider = 'google' AND NOT :google)
        OR (c.provider = 'outlook' AND NOT :outlook)))"""

# A connection meetings can be written to: a CalDAV account, or a Google / Outlook calendar whose
# owner signed in (the same text in both dialects); OAUTH: a Google / Outlook one, signed in or not.
WRITABLE = """(EXISTS (SELECT 1 FROM caldav_accounts a WHERE a.connection_id = c.connection_id)
    OR EXISTS (SELECT 1 FROM oauth_accounts o WHERE o.connection_id = c.connection_id
        AND o.refresh_token IS NOT NULL))"""
OAUTH = "EXISTS (SELECT 1 FROM oauth_accounts o WHERE o.connection_id = c.connection_id)"

# --- SQLite ---------------------------------------------------------------------------------------

SQLITE = SyncSql(
    claim=f"""UPDATE calendar_connections SET refresh_until = :until, refresh_token = :token
        WHERE connection_id IN (SELECT c.connection_id FROM calendar_connections c
            WHERE c.status NOT IN ('disconnected', 'pending') AND c.import_enabled = 1
              AND c.refresh_until < :now AND COALESCE(c.refreshed_at, c.imported_at) <= :due
              AND {REFRESHABLE}
            ORDER BY COALESCE(c.refreshed_at, c.imported_at) LIMIT :limit)
          AND refresh_until < :now""",
    claimed="SELECT connection_id, host_id, ics_url, etag, last_modified FROM calendar_connections"
    " WHERE refresh_token = :token",
    # The write lock (BEGIN IMMEDIATE) already keeps every other writer out until the commit.
    holds="SELECT 1 FROM calendar_connections WHERE connection_id = :connection AND refresh_token = :token"
    " AND status != 'disconnected'",
    busy_elsewhere="SELECT COUNT(*) AS n FROM busy WHERE host_id = :host AND connection_id != :connection",
    drop_busy="DELETE FROM busy WHERE connection_id = :connection",
    add_busy="INSERT INTO busy VALUES (:connection, :host, :start, :end)",
    refreshed="UPDATE calendar_connections SET status = 'connected', error_reason = NULL, imported_at = :now,"
    " refreshed_at = :now, etag = :etag, last_modified = :last_modified, refresh_until = 0,"
    " refresh_token = NULL WHERE connection_id = :connection",
    refresh_failed="UPDATE calendar_connections SET status = 'error', error_reason = :reason,"
    " refreshed_at = :now, refresh_until = 0, refresh_token = NULL WHERE connection_id = :connection",
    save_account="INSERT OR REPLACE INTO caldav_accounts VALUES (:connection, :url, :username, :password)",
    account="SELECT url, username, password FROM caldav_accounts WHERE connection_id = :connection",
    oldest_import="SELECT MIN(imported_at) AS oldest FROM calendar_connections WHERE host_id = :host"
    " AND status NOT IN ('disconnected', 'pending') AND import_enabled = 1",
    last_refreshes="SELECT connection_id, imported_at, refreshed_at FROM calendar_connections",
    status=f"SELECT status, export_enabled, {WRITABLE} AS writable, {OAUTH} AS oauth"
    " FROM calendar_connections c WHERE connection_id = :connection",
    set_import="UPDATE calendar_connections SET import_enabled = :enabled WHERE connection_id = :connection",
    set_export="UPDATE calendar_connections SET export_enabled = :enabled WHERE connection_id = :connection",
    enqueue_exports=exports.ENQUEUE_CONNECTION,
    requeue_refused=exports.REQUEUE_REFUSED,
    connection="SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id)"
    " AS busy_count FROM calendar_connections c WHERE connection_id = :connection",
    secret="SELECT secret FROM export_feeds WHERE host_id = :host",
    add_secret="INSERT INTO export_feeds VALUES (:host, :secret) ON CONFLICT (host_id) DO NOTHING",
    replace_secret="INSERT INTO export_feeds VALUES (:host, :secret)"
    " ON CONFLICT (host_id) DO UPDATE SET secret = excluded.secret",
    feed_host="SELECT host_id FROM export_feeds WHERE secret = :secret",
    feed_meetings="SELECT * FROM meetings WHERE host_id = :host AND status != 'cancelled' AND end_ts > :since"
    " ORDER BY start_ts LIMIT :limit",
)


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, sql: str, params: Params) -> None:
        self._conn.execute(sql, params)

    def one(self, sql: str, params: Params) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())

    def many(self, sql: str, params: Sequence[Params]) -> None:
        self._conn.executemany(sql, params)


class SqliteDatabase:
    """A SQLite file as the rules here and in oauth_store.py use it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def zone(self) -> ZoneInfo:
        return self._store._zone

    def write(self, work: Callable[[Tx], T]) -> T:
        with self._store._write() as conn:
            return work(_SqliteTx(conn))

    def read(self, work: Callable[[Tx], T]) -> T:
        with self._store._read() as conn:
            return work(_SqliteTx(conn))


def sqlite_sync(store: Store) -> CalendarSync:
    """The sync rules on a SQLite file."""
    return CalendarSync(SqliteDatabase(store), SQLITE)
