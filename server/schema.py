"""The server's own tables (signing secret, idempotency keys, audit trail) as versioned migrations.

They live in the same file as the local engine, as their own component (see bookings/sqlite.py).
Version 1 is the schema from before migrations existed; its `IF NOT EXISTS` adopts such a file.
A released migration is never edited: add a new one at the end.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.bookings.sqlite import Migration

COMPONENT = "server"

# idempotency.result_json is '' while the claiming call runs (the column predates claims and is NOT NULL).
_V1_INITIAL: Migration = (
    "CREATE TABLE IF NOT EXISTS server_secret (id INTEGER PRIMARY KEY CHECK (id = 1), secret BLOB NOT NULL)",
    """CREATE TABLE IF NOT EXISTS idempotency (
        scope TEXT NOT NULL, key TEXT NOT NULL, args_hash TEXT NOT NULL, result_json TEXT NOT NULL,
        created_at REAL NOT NULL, PRIMARY KEY (scope, key))""",
    "CREATE INDEX IF NOT EXISTS idempotency_created_at ON idempotency (created_at)",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, caller TEXT NOT NULL, tool TEXT NOT NULL,
        arguments TEXT NOT NULL, result TEXT NOT NULL, status TEXT)""",
)
_V2_AUDIT_BY_TIME: Migration = ("CREATE INDEX audit_at ON audit (at)",)  # retention deletes by age

_V3_RECORDS: Migration = (
    # Adapters' shared records (meetergo's provisional bookings): any process can answer for them.
    """CREATE TABLE records (
        namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at REAL NOT NULL,
        PRIMARY KEY (namespace, key))""",
)

MIGRATIONS: tuple[Migration, ...] = (_V1_INITIAL, _V2_AUDIT_BY_TIME, _V3_RECORDS)


def open_database(path: Path) -> sqlite3.Connection:
    """A connection to the shared file in WAL mode with the server's tables migrated."""
    db = sqlite.connect(path)
    try:
        sqlite.enable_wal(db)
        sqlite.migrate(db, COMPONENT, MIGRATIONS)
    except BaseException:
        db.close()
        raise
    return db
