"""One SQLite connection of a background queue (the invitation outbox, the calendar export queue),
opened on first use and shared by whichever worker thread runs, one at a time."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.bookings.local import schema


class QueueFile:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite.connect(self._path)
            conn.row_factory = sqlite3.Row
            sqlite.enable_wal(conn)
            # The worker may start before the engine's first call: make sure the tables are there.
            sqlite.migrate(conn, schema.COMPONENT, schema.MIGRATIONS)
            self._conn = conn
        return self._conn

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """The connection in `BEGIN IMMEDIATE` ... COMMIT (rolled back on any exception)."""
        with self._lock, sqlite.immediate(self._open()) as conn:
            yield conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
