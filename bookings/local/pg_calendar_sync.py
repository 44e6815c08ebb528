"""The calendar sync rules (calendar_sync.py) on PostgreSQL: its SQL, and PgStore's transactions.

Writes run at READ COMMITTED, so the locks do what SQLite's write lock does there:
- a claim takes due rows `FOR UPDATE SKIP LOCKED` and sets them only while no live claim holds
  them, so refreshers on several replicas each take different feeds and none waits on another;
- a refresh's outcome first locks the host's row (as a booking and `save_connection` do, so the
  host's busy-time cap and a booking's conflict check see whole imports) and the connection's row,
  and only while its token is still the claim's: a stale holder whose lease was retaken writes
  nothing;
- a sync switch locks the connection's row before it looks at its status.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.local import exports
from wix_meetings_mcp.bookings.local.calendar_sync import (
    OAUTH,
    REFRESHABLE,
    WRITABLE,
    CalendarSync,
    Params,
    SyncSql,
    Tx,
)
from wix_meetings_mcp.bookings.local.rows import Row

if TYPE_CHECKING:
    import psycopg

    from wix_meetings_mcp.bookings.local.pg_store import PgStore

    Conn = psycopg.Connection[dict[str, Any]]

T = TypeVar("T")

_REFRESHABLE = re.sub(r":(\w+)", r"%(\1)s", REFRESHABLE)

POSTGRES = SyncSql(
    claim=f"""UPDATE calendar_connections SET refresh_until = %(until)s, refresh_token = %(token)s
        WHERE connection_id IN (SELECT c.connection_id FROM calendar_connections c
            WHERE c.status NOT IN ('disconnected', 'pending') AND c.import_enabled
              AND c.refresh_until < %(now)s AND COALESCE(c.refreshed_at, c.imported_at) <= %(due)s
              AND {_REFRESHABLE}
            ORDER BY COALESCE(c.refreshed_at, c.imported_at) LIMIT %(limit)s
            FOR UPDATE OF c SKIP LOCKED)
          AND refresh_until < %(now)s""",
    claimed="SELECT connection_id, host_id, ics_url, etag, last_modified FROM calendar_connections"
    " WHERE refresh_token = %(token)s",
    # The host's row and the connection's, hosts named first as PgStore locks them first; a deadlock
    # that happens anyway (a disconnect racing the refresh) is retried by PgStore._write.
    holds="SELECT 1 FROM hosts h JOIN calendar_connections c ON c.host_id = h.host_id"
    " WHERE c.connection_id = %(connection)s AND c.refresh_token = %(token)s AND c.status != 'disconnected'"
    " FOR NO KEY UPDATE",
    busy_elsewhere="SELECT COUNT(*) AS n FROM busy WHERE host_id = %(host)s AND connection_id != %(connection)s",
    drop_busy="DELETE FROM busy WHERE connection_id = %(connection)s",
    add_busy="INSERT INTO busy VALUES (%(connection)s, %(host)s, %(start)s, %(end)s)",
    refreshed="UPDATE calendar_connections SET status = 'connected', error_reason = NULL,"
    " imported_at = %(now)s, refreshed_at = %(now)s, etag = %(etag)s, last_modified = %(last_modified)s,"
    " refresh_until = 0, refresh_token = NULL WHERE connection_id = %(connection)s",
    refresh_failed="UPDATE calendar_connections SET status = 'error', error_reason = %(reason)s,"
    " refreshed_at = %(now)s, refresh_until = 0, refresh_token = NULL WHERE connection_id = %(connection)s",
    save_account="INSERT INTO caldav_accounts VALUES (%(connection)s, %(url)s, %(username)s, %(password)s)"
    " ON CONFLICT (connection_id) DO UPDATE SET url = EXCLUDED.url, username = EXCLUDED.username,"
    " password = EXCLUDED.password",
    account="SELECT url, username, password FROM caldav_accounts WHERE connection_id = %(connection)s",
    oldest_import="SELECT MIN(imported_at) AS oldest FROM calendar_connections WHERE host_id = %(host)s"
    " AND status NOT IN ('disconnected', 'pending') AND import_enabled",
    last_refreshes="SELECT connection_id, imported_at, refreshed_at FROM calendar_connections",
    status=f"SELECT status, export_enabled, {WRITABLE} AS writable, {OAUTH} AS oauth"
    " FROM calendar_connections c WHERE connection_id = %(connection)s FOR NO KEY UPDATE OF c",
    set_import="UPDATE calendar_connections SET import_enabled = %(enabled)s"
    " WHERE connection_id = %(connection)s",
    set_export="UPDATE calendar_connections SET export_enabled = %(enabled)s"
    " WHERE connection_id = %(connection)s",
    enqueue_exports=re.sub(r":(\w+)", r"%(\1)s", exports.ENQUEUE_CONNECTION),
    requeue_refused=re.sub(r":(\w+)", r"%(\1)s", exports.REQUEUE_REFUSED),
    connection="SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id)"
    " AS busy_count FROM calendar_connections c WHERE connection_id = %(connection)s",
    secret="SELECT secret FROM export_feeds WHERE host_id = %(host)s",
    add_secret="INSERT INTO export_feeds VALUES (%(host)s, %(secret)s) ON CONFLICT (host_id) DO NOTHING",
    replace_secret="INSERT INTO export_feeds VALUES (%(host)s, %(secret)s)"
    " ON CONFLICT (host_id) DO UPDATE SET secret = EXCLUDED.secret",
    feed_host="SELECT host_id FROM export_feeds WHERE secret = %(secret)s",
    feed_meetings="SELECT * FROM meetings WHERE host_id = %(host)s AND status != 'cancelled'"
    " AND end_ts > %(since)s ORDER BY start_ts LIMIT %(limit)s",
)


class _PgTx:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def run(self, sql: str, params: Params) -> None:
        self._conn.execute(sql.encode(), params)

    def one(self, sql: str, params: Params) -> Row | None:
        return self._conn.execute(sql.encode(), params).fetchone()

    def all(self, sql: str, params: Params) -> list[Row]:
        return list(self._conn.execute(sql.encode(), params).fetchall())

    def many(self, sql: str, params: Sequence[Params]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql.encode(), params)


class PgDatabase:
    """A PostgreSQL database as the rules of calendar_sync.py and oauth_store.py use it."""

    def __init__(self, store: PgStore) -> None:
        self._store = store

    @property
    def zone(self) -> ZoneInfo:
        return self._store._zone

    def write(self, work: Callable[[Tx], T]) -> T:
        return self._store._write(lambda conn: work(_PgTx(conn)))

    def read(self, work: Callable[[Tx], T]) -> T:
        return self._store._read(lambda conn: work(_PgTx(conn)))


def pg_sync(store: PgStore) -> CalendarSync:
    """The sync rules on a PostgreSQL database."""
    return CalendarSync(PgDatabase(store), POSTGRES)
