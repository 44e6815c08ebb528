"""The local engine's transactional outbox: invitations kept in the meeting's own database.

`enqueue` runs inside the write transaction of a booking, reschedule or cancellation, so a message
exists exactly when its change committed. A sender `claim`s due rows with an UPDATE that only
takes rows whose claim has expired, under the write lock (`BEGIN IMMEDIATE`): two senders, in one
process or several, never hold the same row at once. A claim is a lease: a sender that dies
mid-send leaves the row to be claimed again when the lease ends, and the retry keeps the row's
`message_key`, so the duplicate carries the same Message-ID (delivery is at least once).
Blocking calls only; the sender runs them in worker threads.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from wix_meetings_mcp.bookings.local.queue_file import QueueFile
from wix_meetings_mcp.bookings.notices import Notice

MAX_ERROR = 300  # characters of the last error kept on a row


@dataclass(frozen=True)
class Claimed:
    row_id: int
    message_key: str  # stable across retries: the Message-ID is made from it
    attempts: int  # including this one
    notice: Notice
    token: str  # this claim's; a stale sender's report cannot touch a newer claim


def enqueue(conn: sqlite3.Connection, notices: Sequence[Notice], now: datetime) -> int:
    """Add `notices` inside the caller's open transaction; returns how many."""
    at = now.timestamp()
    conn.executemany(
        "INSERT INTO outbox (message_key, meeting_id, payload, created_at, next_attempt_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(uuid.uuid4().hex, n.meeting.meeting_id, n.model_dump_json(), at, at) for n in notices],
    )
    return len(notices)


class Outbox(QueueFile):
    """The sender's side of the outbox on one SQLite file, with its own connection."""

    def claim(self, now: datetime, *, lease: timedelta, limit: int = 10) -> list[Claimed]:
        """Take up to `limit` due rows whose claim has expired, for `lease`."""
        at, token = now.timestamp(), uuid.uuid4().hex
        with self._immediate() as conn:
            conn.execute(
                "UPDATE outbox SET claimed_until = :until, claim_token = :token, attempts = attempts + 1"
                " WHERE row_id IN (SELECT row_id FROM outbox WHERE state = 'pending'"
                "   AND next_attempt_at <= :now AND claimed_until < :now"
                "   ORDER BY next_attempt_at, row_id LIMIT :limit)"
                " AND state = 'pending' AND claimed_until < :now",
                {"until": at + lease.total_seconds(), "token": token, "now": at, "limit": limit},
            )
            rows = conn.execute(
                "SELECT row_id, message_key, attempts, payload FROM outbox WHERE claim_token = ?"
                " ORDER BY row_id",
                (token,),
            ).fetchall()
        return [
            Claimed(
                row_id=r[0],
                message_key=r[1],
                attempts=r[2],
                notice=Notice.model_validate_json(r[3]),
                token=token,
            )
            for r in rows
        ]

    def sent(self, claimed: Claimed, now: datetime) -> None:
        """Delivered: whoever holds the row now, it is done."""
        self._execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, claimed_until = 0, last_error = NULL"
            " WHERE row_id = ? AND state = 'pending'",
            (now.timestamp(), claimed.row_id),
        )

    def failed(self, claimed: Claimed, *, error: str, retry_at: datetime | None) -> None:
        """Not delivered: try again at `retry_at`, or never (None). `error` must hold no secret."""
        state, due = ("pending", retry_at.timestamp()) if retry_at is not None else ("failed", 0.0)
        self._execute(
            "UPDATE outbox SET state = ?, next_attempt_at = MAX(next_attempt_at, ?), claimed_until = 0,"
            " last_error = ? WHERE row_id = ? AND claim_token = ? AND state = 'pending'",
            (state, due, error[:MAX_ERROR], claimed.row_id, claimed.token),
        )

    def next_due(self) -> float | None:
        """Epoch seconds when the next pending row may be claimed (None: nothing pending)."""
        with self._lock:
            row = (
                self._open()
                .execute(
                    "SELECT MIN(MAX(next_attempt_at, claimed_until)) FROM outbox WHERE state = 'pending'"
                )
                .fetchone()
            )
        return None if row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        """Rows per state: for the doctor and for tests."""
        with self._lock:
            found = self._open().execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in found}

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            self._open().execute(sql, params)
