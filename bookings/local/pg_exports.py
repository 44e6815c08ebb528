"""The calendar export queue on PostgreSQL (see exports.py for the design and the SQLite file).

Rows are written by PgStore inside the meeting's own transaction (`enqueue`). A claim takes due rows
with `FOR UPDATE SKIP LOCKED`, so workers on several replicas each take different jobs and none
waits on another; versions, leases and outcomes work as on SQLite.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings import postgres
from wix_meetings_mcp.bookings.local import pg_schema
from wix_meetings_mcp.bookings.local.exports import (
    AGAIN,
    AUTH_FAILED,
    DONE,
    EXPORTING,
    FAILED,
    REARM,
    ClaimedExport,
    failed_params,
    job,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    Conn = psycopg.Connection[dict[str, Any]]

_ENQUEUE = f"""
    INSERT INTO calendar_exports (connection_id, meeting_id)
    SELECT c.connection_id, m.meeting_id FROM meetings m JOIN calendar_connections c ON c.host_id = m.host_id
    WHERE m.meeting_id = %s AND c.export_enabled AND c.status != 'disconnected'
    {AGAIN}"""
# Jobs of the providers this queue serves (null: all), as in exports.py.
SERVED = "(%(providers)s::text[] IS NULL OR c.provider = ANY(%(providers)s::text[]))"
_CLAIM = f"""
    UPDATE calendar_exports e SET claimed_until = %(until)s, claim_token = %(token)s,
        claimed_version = e.version, attempts = e.attempts + 1
    FROM calendar_connections owner
    WHERE owner.connection_id = e.connection_id AND (e.connection_id, e.meeting_id) IN (
        SELECT x.connection_id, x.meeting_id FROM calendar_exports x
        JOIN calendar_connections c ON c.connection_id = x.connection_id
        WHERE x.state = 'pending' AND x.next_attempt_at <= %(now)s AND x.claimed_until < %(now)s
          AND {EXPORTING} AND NOT (x.connection_id = ANY(%(skip)s::text[])) AND {SERVED}
        ORDER BY x.next_attempt_at LIMIT %(limit)s
        FOR UPDATE OF x SKIP LOCKED)
    RETURNING e.connection_id, owner.provider, e.meeting_id, e.attempts"""
_NEXT_DUE = f"""
    SELECT MIN(GREATEST(e.next_attempt_at, e.claimed_until)) AS due FROM calendar_exports e
    JOIN calendar_connections c ON c.connection_id = e.connection_id
    WHERE e.state = 'pending' AND {EXPORTING} AND {SERVED}"""


def enqueue(conn: Conn, meeting_id: str) -> int:
    """As exports.enqueue, in PgStore's open transaction."""
    return conn.execute(_ENQUEUE.encode(), (meeting_id,)).rowcount


class PgExportQueue:
    def __init__(self, url: str, *, providers: Collection[str] | None = None) -> None:
        self._url = url
        self._providers = None if providers is None else sorted(providers)
        self._pool: ConnectionPool[Conn] | None = None
        self._opening = threading.Lock()  # the worker's calls run in worker threads

    def _connections(self) -> ConnectionPool[Conn]:
        with self._opening:
            if self._pool is None:
                from psycopg.rows import dict_row
                from psycopg_pool import ConnectionPool

                with postgres.connect(self._url) as conn:  # the worker may start before the engine
                    postgres.migrate(conn, pg_schema.COMPONENT, pg_schema.MIGRATIONS)
                self._pool = ConnectionPool(
                    self._url,
                    min_size=1,
                    max_size=2,
                    kwargs={"autocommit": True, "row_factory": dict_row},
                    open=True,
                )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def claim(
        self, now: datetime, *, lease: timedelta, limit: int = 10, skip: Collection[str] = ()
    ) -> list[ClaimedExport]:
        at, token = now.timestamp(), uuid.uuid4().hex
        params = {
            "until": at + lease.total_seconds(), "token": token, "now": at, "limit": limit,
            "skip": sorted(skip), "providers": self._providers,
        }  # fmt: skip
        with self._connections().connection() as conn, conn.transaction():
            claimed = conn.execute(_CLAIM.encode(), params).fetchall()
            if not claimed:
                return []
            business = conn.execute(b"SELECT time_zone FROM business").fetchone()
            zone = ZoneInfo(str(business["time_zone"]) if business else "UTC")
            ids = [r["meeting_id"] for r in claimed]
            found = conn.execute(b"SELECT * FROM meetings WHERE meeting_id = ANY(%s)", (ids,)).fetchall()
        meetings = {r["meeting_id"]: r for r in found}
        return [job(r, meetings.get(r["meeting_id"]), token=token, zone=zone, now=now) for r in claimed]

    def done(self, claimed: ClaimedExport, now: datetime) -> None:
        self._report(
            claimed,
            DONE.format(p="%s"),
            (now.timestamp(), claimed.connection_id, claimed.meeting_id, claimed.token),
        )

    def failed(self, claimed: ClaimedExport, *, error: str, retry_at: datetime | None, now: datetime) -> None:
        self._report(claimed, FAILED.format(p="%s"), failed_params(claimed, error, retry_at, now))

    def auth_failed(self, claimed: ClaimedExport, *, error: str, now: datetime) -> None:
        with self._connections().connection() as conn, conn.transaction():
            conn.execute(FAILED.format(p="%s").encode(), failed_params(claimed, error, None, now))
            conn.execute(AUTH_FAILED.format(p="%s").encode(), (claimed.connection_id,))

    def next_due(self) -> float | None:
        with self._connections().connection() as conn:
            row = conn.execute(_NEXT_DUE.encode(), {"providers": self._providers}).fetchone()
        return None if row is None or row["due"] is None else float(row["due"])

    def counts(self) -> dict[str, int]:
        with self._connections().connection() as conn:
            found = conn.execute(
                b"SELECT state, COUNT(*) AS n FROM calendar_exports GROUP BY state"
            ).fetchall()
        return {str(r["state"]): int(r["n"]) for r in found}

    def export_target(self, connection_id: str) -> str | None:
        with self._connections().connection() as conn:
            row = conn.execute(
                b"SELECT target FROM calendar_export_targets WHERE connection_id = %s", (connection_id,)
            ).fetchone()
        return None if row is None else str(row["target"])

    def save_export_target(self, connection_id: str, target: str | None) -> None:
        if target is None:
            self._execute("DELETE FROM calendar_export_targets WHERE connection_id = %s", (connection_id,))
            return
        self._execute(
            "INSERT INTO calendar_export_targets VALUES (%s, %s)"
            " ON CONFLICT (connection_id) DO UPDATE SET target = excluded.target",
            (connection_id, target),
        )

    def caldav_account(self, connection_id: str) -> tuple[str, str, str] | None:
        with self._connections().connection() as conn:
            row = conn.execute(
                b"SELECT url, username, password FROM caldav_accounts WHERE connection_id = %s",
                (connection_id,),
            ).fetchone()
        return None if row is None else (str(row["url"]), str(row["username"]), str(row["password"]))

    def _report(self, claimed: ClaimedExport, sql: str, params: tuple[object, ...]) -> None:
        """As ExportQueue._report: a lost claim arms the row again."""
        with self._connections().connection() as conn, conn.transaction():
            if conn.execute(sql.encode(), params).rowcount == 0:
                conn.execute(REARM.format(p="%s").encode(), (claimed.connection_id, claimed.meeting_id))

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        with self._connections().connection() as conn:
            conn.execute(sql.encode(), params)
