"""The server's own state in SQLite (beside the local engine's tables): signing secret, idempotency.

Shared by every process on one database file, so slot ids and confirmation tokens signed by
one process verify in another, and an idempotency key is honoured across them.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import anyio

from tools.idempotency import KEY_LIFETIME, StoredResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS server_secret (id INTEGER PRIMARY KEY CHECK (id = 1), secret BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL, key TEXT NOT NULL, args_hash TEXT NOT NULL, result_json TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (scope, key)
);
"""


class ServerState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def secret(self) -> bytes:
        """The signing secret, created once per database (first process wins the insert)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO server_secret (id, secret) VALUES (1, ?)", (secrets.token_bytes(32),)
            )
            row = self._db.execute("SELECT secret FROM server_secret WHERE id = 1").fetchone()
        return bytes(row[0])

    async def get(self, scope: str, key: str, *, not_before: datetime) -> StoredResult | None:
        def read() -> StoredResult | None:
            with self._lock:
                row = self._db.execute(
                    "SELECT args_hash, result_json FROM idempotency WHERE scope = ? AND key = ? AND created_at >= ?",
                    (scope, key, not_before.timestamp()),
                ).fetchone()
            return None if row is None else StoredResult(row[0], row[1])

        return await anyio.to_thread.run_sync(read)

    async def put(self, scope: str, key: str, record: StoredResult, *, at: datetime) -> None:
        def write() -> None:
            with self._lock:
                self._db.execute(
                    "DELETE FROM idempotency WHERE created_at < ?", ((at - KEY_LIFETIME).timestamp(),)
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)",
                    (scope, key, record.args_hash, record.result_json, at.timestamp()),
                )

        await anyio.to_thread.run_sync(write)

    def close(self) -> None:
        self._db.close()
