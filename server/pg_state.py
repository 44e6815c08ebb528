"""The server's own state on PostgreSQL, for replicas sharing one database: the signing secret,
idempotency keys (confirmation tokens spent), adapters' shared records and the audit trail.

The same operations as server/state.py and server/audit.py, in PostgreSQL's dialect. An
idempotency key is claimed with INSERT ... ON CONFLICT in one statement, so two replicas racing
for one key cannot both win; the schema is migrated under the advisory lock (bookings/postgres.py).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from psycopg_pool import ConnectionPool

from wix_meetings_mcp.bookings import postgres
from wix_meetings_mcp.bookings.receipts import (
    CLAIM_PG,
    INSERT_AUDIT_PG,
    PENDING,
    AuditRow,
    KeyClaim,
    claim_params,
)
from wix_meetings_mcp.server.audit import RETENTION, AuditEntry, audit_row
from wix_meetings_mcp.tools.idempotency import Claimed, StoredResult

COMPONENT = "server"
MIGRATIONS: tuple[postgres.Migration, ...] = (
    (
        "CREATE TABLE server_secret (id INTEGER PRIMARY KEY CHECK (id = 1), secret BYTEA NOT NULL)",
        """CREATE TABLE idempotency (
            scope TEXT NOT NULL, key TEXT NOT NULL, args_hash TEXT NOT NULL, result_json TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (scope, key))""",
        "CREATE INDEX idempotency_created_at ON idempotency (created_at)",
        """CREATE TABLE audit (
            id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, caller TEXT NOT NULL, tool TEXT NOT NULL,
            arguments TEXT NOT NULL, result TEXT NOT NULL, status TEXT)""",
        "CREATE INDEX audit_at ON audit (at)",
        """CREATE TABLE records (
            namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (namespace, key))""",
    ),
    # Per-token rate-limit buckets shared by every replica (one row per bearer token's subject).
    (
        """CREATE TABLE rate_buckets (
            caller TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL,
            admitted BOOLEAN NOT NULL)""",
    ),
)


def open_pool(url: str) -> ConnectionPool:
    """A small pool per process; the server's schema migrated on the first connection."""
    with postgres.connect(url) as conn:
        postgres.migrate(conn, COMPONENT, MIGRATIONS)
    return ConnectionPool(url, min_size=1, max_size=4, kwargs={"autocommit": True}, open=True)


class PgServerState:
    def __init__(self, url: str) -> None:
        self._pool = open_pool(url)

    def secret(self) -> bytes:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO server_secret VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
                (secrets.token_bytes(32),),
            )
            row = conn.execute("SELECT secret FROM server_secret WHERE id = 1").fetchone()
        assert row is not None
        return bytes(row[0])

    async def claim(self, scope: str, key: str, args_hash: str, *, now: datetime) -> Claimed | StoredResult:
        params = claim_params(KeyClaim(scope, key, args_hash, now.timestamp()))

        def claim() -> Claimed | StoredResult:
            with self._pool.connection() as conn:
                if conn.execute(CLAIM_PG, params).fetchone() is not None:
                    return "claimed"
                row = conn.execute(
                    "SELECT args_hash, result_json FROM idempotency WHERE scope = %s AND key = %s",
                    (scope, key),
                ).fetchone()
            assert row is not None  # the conflicting record holds it
            return StoredResult(str(row[0]), None if row[1] == PENDING else str(row[1]))

        return await anyio.to_thread.run_sync(claim)

    async def complete(self, scope: str, key: str, result_json: str) -> None:
        await self._execute(
            "UPDATE idempotency SET result_json = %s WHERE scope = %s AND key = %s", (result_json, scope, key)
        )

    async def release(self, scope: str, key: str) -> None:
        await self._execute(
            "DELETE FROM idempotency WHERE scope = %s AND key = %s AND result_json = ''", (scope, key)
        )

    async def lookup(self, scope: str, key: str) -> tuple[str, str, float] | None:
        def lookup() -> tuple[str, str, float] | None:
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT args_hash, result_json, created_at FROM idempotency WHERE scope = %s AND key = %s",
                    (scope, key),
                ).fetchone()
            return None if row is None else (str(row[0]), str(row[1]), float(row[2]))

        return await anyio.to_thread.run_sync(lookup)

    async def save(self, namespace: str, key: str, value: str) -> None:
        await self._execute(
            """INSERT INTO records VALUES (%s, %s, %s, %s) ON CONFLICT (namespace, key)
               DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at""",
            (namespace, key, value, time.time()),
        )

    async def load(self, namespace: str, key: str) -> str | None:
        def load() -> str | None:
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT value FROM records WHERE namespace = %s AND key = %s", (namespace, key)
                ).fetchone()
            return None if row is None else str(row[0])

        return await anyio.to_thread.run_sync(load)

    async def ping(self) -> None:
        await self._execute("SELECT 1", ())

    async def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        def run() -> None:
            with self._pool.connection() as conn:
                conn.execute(sql.encode(), params)  # bytes: psycopg types a str query as a literal only

        await anyio.to_thread.run_sync(run)

    def close(self) -> None:
        self._pool.close()


# One statement refills a caller's bucket and takes a token if one is there, under the row's lock:
# replicas admitting at the same moment cannot both take the last token.
_TAKE = """
    INSERT INTO rate_buckets AS b (caller, tokens, updated, admitted)
    VALUES (%(caller)s, %(capacity)s - 1, %(now)s, TRUE)
    ON CONFLICT (caller) DO UPDATE SET
        tokens = LEAST(%(capacity)s, b.tokens + (%(now)s - b.updated) * %(rate)s)
            - CASE WHEN LEAST(%(capacity)s, b.tokens + (%(now)s - b.updated) * %(rate)s) >= 1 THEN 1 ELSE 0 END,
        admitted = LEAST(%(capacity)s, b.tokens + (%(now)s - b.updated) * %(rate)s) >= 1,
        updated = %(now)s
    RETURNING tokens, admitted"""


class PgRateLimiter:
    """`per_minute` requests per caller across all replicas, in bursts of as many (a token bucket)."""

    def __init__(self, url: str, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._url, self._capacity, self._rate, self._clock = url, float(per_minute), per_minute / 60, clock
        self._pool: ConnectionPool | None = None
        self._opening = threading.Lock()

    def _connections(self) -> ConnectionPool:
        with self._opening:
            if self._pool is None:
                self._pool = open_pool(self._url)
        return self._pool

    async def admit(self, caller: str) -> float:
        params = {"caller": caller, "capacity": self._capacity, "rate": self._rate, "now": self._clock()}

        def take() -> float:
            with self._connections().connection() as conn:
                row = conn.execute(_TAKE, params).fetchone()
            assert row is not None
            tokens, admitted = float(row[0]), bool(row[1])
            return 0.0 if admitted else (1 - tokens) / self._rate

        return await anyio.to_thread.run_sync(take)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class PgAuditTrail:
    """The audit trail (tools.journal.AuditLog) on PostgreSQL; pruned when it opens."""

    def __init__(self, url: str, clock: Callable[[], datetime], *, retention: timedelta = RETENTION) -> None:
        self._url, self._clock, self._retention = url, clock, retention
        self._pool: ConnectionPool | None = None
        self._opening = threading.Lock()  # write calls run in several worker threads at once

    def _connection_pool(self) -> ConnectionPool:
        with self._opening:
            if self._pool is None:
                pool = open_pool(self._url)
                with pool.connection() as conn:
                    conn.execute(
                        "DELETE FROM audit WHERE at < %s", ((self._clock() - self._retention).timestamp(),)
                    )
                self._pool = pool
        return self._pool

    def row(self, tool: str, arguments: Mapping[str, Any], result: str, status: str | None) -> AuditRow:
        return audit_row(self._clock(), tool, arguments, result, status)

    async def record(self, tool: str, arguments: Mapping[str, Any], result: str, status: str | None) -> None:
        row = self.row(tool, arguments, result, status)

        def write() -> None:
            with self._connection_pool().connection() as conn:
                conn.execute(INSERT_AUDIT_PG, row)

        await anyio.to_thread.run_sync(write)

    def entries(self, limit: int) -> list[AuditEntry]:
        with self._connection_pool().connection() as conn:
            found = conn.execute(
                "SELECT at, caller, tool, arguments, result, status FROM audit ORDER BY id DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return [AuditEntry(datetime.fromtimestamp(r[0], UTC), r[1], r[2], r[3], r[4], r[5]) for r in found]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
