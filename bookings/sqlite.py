"""The shared SQLite file: opening it (WAL, busy timeout) and versioned, forward-only migrations.

The local engine and the server's own state (signing secret, idempotency keys, audit trail) live in
one file, each as a *component* with its own ordered list of migrations. A migration is applied
once, in order, under the database's write lock (`BEGIN IMMEDIATE`), so processes starting together
on one file apply it once; `schema_migrations` records what was applied. A released migration is
never edited: a change to the schema is a new migration at the end of its component's list.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from wix_meetings_mcp.bookings.errors import BackendUnavailable

BUSY_TIMEOUT = 15.0  # seconds

S = TypeVar("S")

# One step of a migration: a SQL statement, or a function for work SQL cannot say (a backfill).
Step = str | Callable[[sqlite3.Connection], None]
Migration = Sequence[Step]

_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, applied_at REAL NOT NULL,
    PRIMARY KEY (component, version))"""


class SchemaTooNew(Exception):
    """The file was migrated by a newer version of the server than this one."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the busy timeout set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False only so that a connection can be closed from another thread.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    return conn


def enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (a persistent setting of the file), so readers never wait for the writer.

    The switch needs an exclusive lock and SQLite refuses it at once, without the busy handler,
    while another connection holds a shared lock (as when several servers start together on a new
    file); so it is retried until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def schema_version(conn: sqlite3.Connection, component: str) -> int:
    """The last migration of `component` applied to this file (0: none)."""
    try:
        row = conn.execute(
            "SELECT MAX(version) FROM schema_migrations WHERE component = ?", (component,)
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    return int(row[0] or 0)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`conn` in `BEGIN IMMEDIATE` ... COMMIT, under the write lock from the start (rolled back on
    any exception)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, component: str, migrations: Sequence[Migration]) -> int:
    """Apply the migrations of `component` this file lacks; returns how many were applied.

    An up-to-date file costs one read and no lock, so start-up stays cheap.
    """
    if schema_version(conn, component) == len(migrations):
        return 0
    with immediate(conn):
        conn.execute(_LEDGER)
        return apply_pending(
            component,
            migrations,
            schema_version(conn, component),  # again, under the lock: another process may have won
            run=lambda step: conn.execute(step) if isinstance(step, str) else step(conn),
            record=lambda version: conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)", (component, version, time.time())
            ),
        )


def apply_pending(
    component: str,
    migrations: Sequence[Sequence[S]],
    current: int,
    *,
    run: Callable[[S], object],
    record: Callable[[int], object],
) -> int:
    """The dialect-free part of migrating, for both stores: refuse a newer schema, then run each
    missing migration's steps in order and record its version. The caller holds the lock."""
    if current > len(migrations):
        raise SchemaTooNew(
            f"the database was migrated by a newer version ({component} schema {current}, "
            f"this version knows {len(migrations)}); upgrade meetings-mcp"
        )
    for version, migration in enumerate(migrations[current:], start=current + 1):
        for step in migration:
            run(step)
        record(version)
    return len(migrations) - current


def is_busy(exc: sqlite3.Error) -> bool:
    """The file stayed locked by another writer past the busy timeout: a retry later will do."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def busy_error() -> BackendUnavailable:
    return BackendUnavailable(
        "the store is busy (another process held the database longer than 15 seconds)",
        next_step="Retry shortly.",
    )
