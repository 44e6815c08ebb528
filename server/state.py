"""The server's own state in SQLite (beside the local engine's tables): signing secret, idempotency.

Shared by every process on one database file, so slot ids and confirmation tokens signed by
one process verify in another, and an idempotency key is honoured across them: a key is claimed
in a `BEGIN IMMEDIATE` transaction, which serializes the claim across threads and processes.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import anyio

from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.bookings.receipts import CLAIM_LEASE, KEY_LIFETIME, PENDING
from wix_meetings_mcp.server.schema import open_database
from wix_meetings_mcp.tools.idempotency import Claimed, StoredResult

T = TypeVar("T")
logger = logging.getLogger(__name__)


async def _run(fn: Callable[[], T]) -> T:
    try:
        return await anyio.to_thread.run_sync(fn)
    except sqlite3.OperationalError as exc:
        if not sqlite.is_busy(exc):
            raise
        logger.warning("the database stayed locked past the busy timeout")
        raise sqlite.busy_error() from None


class ServerState:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db = open_database(path)
        self._lock = threading.Lock()
        self._readers = threading.local()
        self._opened: list[sqlite3.Connection] = []

    def secret(self) -> bytes:
        """The signing secret, created once per database (first process wins the insert)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO server_secret (id, secret) VALUES (1, ?)", (secrets.token_bytes(32),)
            )
            row = self._db.execute("SELECT secret FROM server_secret WHERE id = 1").fetchone()
        return bytes(row[0])

    async def claim(self, scope: str, key: str, args_hash: str, *, now: datetime) -> Claimed | StoredResult:
        def claim() -> Claimed | StoredResult:
            at = now.timestamp()
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute(
                        "DELETE FROM idempotency WHERE created_at < ?", (at - KEY_LIFETIME.total_seconds(),)
                    )
                    row = self._db.execute(
                        "SELECT args_hash, result_json, created_at FROM idempotency WHERE scope = ? AND key = ?",
                        (scope, key),
                    ).fetchone()
                    abandoned = (
                        row is not None and row[1] == PENDING and row[2] < at - CLAIM_LEASE.total_seconds()
                    )
                    if row is None or abandoned:
                        self._db.execute(
                            "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)",
                            (scope, key, args_hash, PENDING, at),
                        )
                        held: Claimed | StoredResult = "claimed"
                    else:
                        held = StoredResult(row[0], None if row[1] == PENDING else row[1])
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            return held

        return await _run(claim)

    async def complete(self, scope: str, key: str, result_json: str) -> None:
        def complete() -> None:
            with self._lock:
                self._db.execute(
                    "UPDATE idempotency SET result_json = ? WHERE scope = ? AND key = ?",
                    (result_json, scope, key),
                )

        await _run(complete)

    async def release(self, scope: str, key: str) -> None:
        def release() -> None:
            with self._lock:
                self._db.execute(
                    "DELETE FROM idempotency WHERE scope = ? AND key = ? AND result_json = ?",
                    (scope, key, PENDING),
                )

        await _run(release)

    async def lookup(self, scope: str, key: str) -> tuple[str, str, float] | None:
        """Read on the calling thread (the event loop): in WAL mode a reader never waits for the
        writer, so this costs no worker-thread hop. Each thread reads on a connection of its own."""
        reader: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if reader is None:
            reader = self._readers.conn = sqlite.connect(self._path)
            self._opened.append(reader)
        row = reader.execute(
            "SELECT args_hash, result_json, created_at FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), float(row[2]))

    async def save(self, namespace: str, key: str, value: str) -> None:
        """`bookings.records.Records` on the shared database."""

        def save() -> None:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)", (namespace, key, value, time.time())
                )

        await _run(save)

    async def load(self, namespace: str, key: str) -> str | None:
        def load() -> str | None:
            with self._lock:
                row = self._db.execute(
                    "SELECT value FROM records WHERE namespace = ? AND key = ?", (namespace, key)
                ).fetchone()
            return None if row is None else str(row[0])

        return await _run(load)

    async def ping(self) -> None:
        def ping() -> None:
            with self._lock:
                self._db.execute("SELECT 1 FROM server_secret").fetchall()

        await _run(ping)

    def close(self) -> None:
        self._db.close()
        for reader in self._opened:
            reader.close()
        self._opened.clear()
        self._readers = threading.local()
