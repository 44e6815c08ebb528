"""PostgreSQL for several replicas: connecting, and versioned migrations under an advisory lock.

The same components and forward-only migrations as the SQLite file (bookings/sqlite.py), each in
PostgreSQL's dialect. Replicas starting together take one transaction-scoped advisory lock, so
a migration runs once and the others find it applied. psycopg is optional (the `postgres` extra):
importing this module without it names the fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from wix_meetings_mcp.bookings.sqlite import apply_pending

if TYPE_CHECKING:
    import psycopg

# One arbitrary 64-bit key for "schema migrations of this server" among the database's advisory locks.
MIGRATION_LOCK = 0x6D656574696E6773  # "meetings"

Step = str | Callable[["psycopg.Connection[tuple[object, ...]]"], None]
Migration = Sequence[Step]

_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, applied_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (component, version))"""


def is_postgres_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the extra is part of the dev install
        raise RuntimeError(
            "MEETINGS_DB is a PostgreSQL URL but psycopg is not installed: pip install 'wix-meetings-mcp[postgres]'"
        ) from None
    return psycopg.connect(url, autocommit=True)


def schema_version(conn: psycopg.Connection[tuple[object, ...]], component: str) -> int:
    found = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute(
        "SELECT MAX(version) FROM schema_migrations WHERE component = %s", (component,)
    ).fetchone()
    return int(row[0] or 0) if row else 0  # type: ignore[call-overload]  # an INTEGER column


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], component: str, migrations: Sequence[Migration]
) -> int:
    """Apply the migrations of `component` the database lacks; returns how many were applied."""
    if schema_version(conn, component) == len(migrations):
        return 0
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(_LEDGER)
        return apply_pending(
            component,
            migrations,
            schema_version(conn, component),  # again, under the lock: another replica may have won
            # bytes: psycopg types a str query as a literal only
            run=lambda step: conn.execute(step.encode()) if isinstance(step, str) else step(conn),
            record=lambda version: conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, %s, %s)", (component, version, time.time())
            ),
        )
