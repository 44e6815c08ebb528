"""The sender's side of the invitation outbox on PostgreSQL (see outbox.py for the SQLite file).

Rows are written by PgStore inside the meeting's own transaction. A claim takes due rows with
`FOR UPDATE SKIP LOCKED`, so senders on several replicas each take different rows and none waits
on another; the lease and the stable `message_key` work as on SQLite.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

from wix_meetings_mcp.bookings import postgres
from wix_meetings_mcp.bookings.local import pg_schema
from wix_meetings_mcp.bookings.local.outbox import MAX_ERROR, Claimed
from wix_meetings_mcp.bookings.notices import Notice

_CLAIM = """
    UPDATE outbox SET claimed_until = %(until)s, claim_token = %(token)s, attempts = attempts + 1
    WHERE row_id IN (
        SELECT row_id FROM outbox
        WHERE state = 'pending' AND next_attempt_at <= %(now)s AND claimed_until < %(now)s
        ORDER BY next_attempt_at, row_id LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED)
    RETURNING row_id, message_key, attempts, payload"""


class PgOutbox:
    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: ConnectionPool | None = None
        self._opening = threading.Lock()  # the sender's calls run in worker threads

    def _connections(self) -> ConnectionPool:
        with self._opening:
            if self._pool is None:
                with postgres.connect(self._url) as conn:  # the sender may start before the engine
                    postgres.migrate(conn, pg_schema.COMPONENT, pg_schema.MIGRATIONS)
                self._pool = ConnectionPool(
                    self._url, min_size=1, max_size=2, kwargs={"autocommit": True}, open=True
                )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def claim(self, now: datetime, *, lease: timedelta, limit: int = 10) -> list[Claimed]:
        at, token = now.timestamp(), uuid.uuid4().hex
        params = {"until": at + lease.total_seconds(), "token": token, "now": at, "limit": limit}
        with self._connections().connection() as conn:
            rows = conn.execute(_CLAIM, params).fetchall()
        return sorted(
            (
                Claimed(
                    row_id=int(r[0]),
                    message_key=str(r[1]),
                    attempts=int(r[2]),
                    notice=Notice.model_validate_json(str(r[3])),
                    token=token,
                )
                for r in rows
            ),
            key=lambda c: c.row_id,
        )

    def sent(self, claimed: Claimed, now: datetime) -> None:
        with self._connections().connection() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = %s, claimed_until = 0, last_error = NULL"
                " WHERE row_id = %s AND state = 'pending'",
                (now.timestamp(), claimed.row_id),
            )

    def failed(self, claimed: Claimed, *, error: str, retry_at: datetime | None) -> None:
        state, due = ("pending", retry_at.timestamp()) if retry_at is not None else ("failed", 0.0)
        with self._connections().connection() as conn:
            conn.execute(
                "UPDATE outbox SET state = %s, next_attempt_at = GREATEST(next_attempt_at, %s), claimed_until = 0,"
                " last_error = %s WHERE row_id = %s AND claim_token = %s AND state = 'pending'",
                (state, due, error[:MAX_ERROR], claimed.row_id, claimed.token),
            )

    def next_due(self) -> float | None:
        with self._connections().connection() as conn:
            row = conn.execute(
                "SELECT MIN(GREATEST(next_attempt_at, claimed_until)) FROM outbox WHERE state = 'pending'"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        with self._connections().connection() as conn:
            found = conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in found}
