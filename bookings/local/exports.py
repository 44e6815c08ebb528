"""The queue of meetings to export into hosts' own calendars, on the engine's SQLite file.

A durable queue written in the meeting's own transaction: `enqueue` runs inside the write of a
booking, reschedule or cancellation and adds (or re-arms) one row per export-enabled connection of
the meeting's host, so a change is queued exactly when it commits, and a crash loses none. The row
names the connection and the meeting, not a snapshot: a job exports the meeting *as it is when the
job runs* (PUT, or DELETE once cancelled), so jobs that run late, twice or out of order still leave
the calendar right. One row per (connection, meeting) also means one claim per event at a time:
each change raises the row's `version`, and a job that finishes an older version leaves the row
pending for the newer one.

Claims work as the invitation outbox's (outbox.py): an UPDATE under the write lock takes due rows
whose lease has expired, so several processes never send the same job at once, and a process that
dies mid-job leaves it to be claimed again. The worker claims one job at a time, so the lease covers
the one job it guards and the meeting is read just before it is written. A worker whose lease ran
out anyway (a process paused past it) may write after another worker wrote a newer version; its
report then finds the claim gone and arms the row again, so a later job writes the meeting as it
is and the calendar never stays on the older copy. Only connections still exporting are claimed: a
disconnect or export switched off stops them, and a connection whose credentials were refused waits
until it is connected again. Blocking calls only; the worker runs them in worker threads.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.calendar_event import meeting_uid
from wix_meetings_mcp.bookings.local import rows
from wix_meetings_mcp.bookings.local.exporters import ExportEvent
from wix_meetings_mcp.bookings.local.queue_file import QueueFile

MAX_ERROR = 300  # characters of the last error kept on a row

# A connection whose jobs run; the same text in both dialects (BOOLEAN or 0/1 alike). One whose
# credentials were refused (an export's `auth_failed`, an OAuth refresh's `revoked` or
# `authorization_failed`) waits until it is connected again or its next import succeeds.
REFUSED = "('auth_failed', 'revoked', 'authorization_failed')"
EXPORTING = (
    f"c.export_enabled AND c.status != 'disconnected' AND COALESCE(c.error_reason, '') NOT IN {REFUSED}"
)
# A row already there (exported before, or still pending) is armed again for the newer version.
AGAIN = """ON CONFLICT (connection_id, meeting_id) DO UPDATE SET
    version = calendar_exports.version + 1, state = 'pending', next_attempt_at = 0, attempts = 0"""
_ENQUEUE = f"""
    INSERT INTO calendar_exports (connection_id, meeting_id)
    SELECT c.connection_id, m.meeting_id FROM meetings m JOIN calendar_connections c ON c.host_id = m.host_id
    WHERE m.meeting_id = ? AND c.export_enabled AND c.status != 'disconnected'
    {AGAIN}"""
# Queue the host's live meetings ending after :since (at most :limit) for a connection whose export
# was just switched on or connected (run by calendar_sync.py; named parameters in SQLite's style).
ENQUEUE_CONNECTION = f"""
    INSERT INTO calendar_exports (connection_id, meeting_id)
    SELECT c.connection_id, m.meeting_id FROM calendar_connections c JOIN meetings m ON m.host_id = c.host_id
    WHERE c.connection_id = :connection AND m.status != 'cancelled' AND m.end_ts > :since
    ORDER BY m.start_ts LIMIT :limit
    {AGAIN}"""
# The same, run by an import that succeeds on an exporting connection whose credentials were refused
# (in its transaction, before the connection turns connected again): the job the refusal gave up
# is tried again with the rest, as when the calendar is connected anew.
REQUEUE_REFUSED = f"""
    INSERT INTO calendar_exports (connection_id, meeting_id)
    SELECT c.connection_id, m.meeting_id FROM calendar_connections c JOIN meetings m ON m.host_id = c.host_id
    WHERE c.connection_id = :connection AND c.export_enabled AND c.status = 'error'
      AND c.error_reason IN {REFUSED} AND m.status != 'cancelled' AND m.end_ts > :since
    ORDER BY m.start_ts LIMIT :limit
    {AGAIN}"""
# Jobs of the providers this queue serves (:providers, a JSON list; null: all).
SERVED = "(:providers IS NULL OR c.provider IN (SELECT value FROM json_each(:providers)))"
_CLAIM = f"""
    UPDATE calendar_exports SET claimed_until = :until, claim_token = :token, claimed_version = version,
        attempts = attempts + 1
    WHERE rowid IN (
        SELECT e.rowid FROM calendar_exports e JOIN calendar_connections c ON c.connection_id = e.connection_id
        WHERE e.state = 'pending' AND e.next_attempt_at <= :now AND e.claimed_until < :now AND {EXPORTING}
          AND e.connection_id NOT IN (SELECT value FROM json_each(:skip)) AND {SERVED}
        ORDER BY e.next_attempt_at LIMIT :limit)
    AND state = 'pending' AND claimed_until < :now"""
_CLAIMED = """
    SELECT e.connection_id, c.provider, e.meeting_id, e.attempts FROM calendar_exports e
    JOIN calendar_connections c ON c.connection_id = e.connection_id WHERE e.claim_token = ?"""
# A job that finished an older version than the row's leaves it pending, due at once.
DONE = """UPDATE calendar_exports SET
    state = CASE WHEN version = claimed_version THEN 'done' ELSE 'pending' END,
    attempts = CASE WHEN version = claimed_version THEN attempts ELSE 0 END,
    done_at = {p}, claimed_until = 0, claim_token = NULL, last_error = NULL, last_error_at = NULL
    WHERE connection_id = {p} AND meeting_id = {p} AND claim_token = {p}"""
FAILED = """UPDATE calendar_exports SET
    state = CASE WHEN {p} AND version = claimed_version THEN 'failed' ELSE 'pending' END,
    attempts = CASE WHEN version = claimed_version THEN attempts ELSE 0 END,
    next_attempt_at = CASE WHEN version = claimed_version THEN {p} ELSE 0 END,
    claimed_until = 0, claim_token = NULL, last_error = {p}, last_error_at = {p}
    WHERE connection_id = {p} AND meeting_id = {p} AND claim_token = {p}"""
# A report that found its claim gone (the lease ran out and another worker took the row): what this
# worker wrote may be older than what the other one did, so the row is armed again for a newer version.
REARM = """UPDATE calendar_exports SET
    version = version + 1, state = 'pending', next_attempt_at = 0, attempts = 0
    WHERE connection_id = {p} AND meeting_id = {p}"""
AUTH_FAILED = """UPDATE calendar_connections SET status = 'error', error_reason = 'auth_failed'
    WHERE connection_id = {p} AND status != 'disconnected'"""
_NEXT_DUE = f"""
    SELECT MIN(MAX(e.next_attempt_at, e.claimed_until)) FROM calendar_exports e
    JOIN calendar_connections c ON c.connection_id = e.connection_id
    WHERE e.state = 'pending' AND {EXPORTING} AND {SERVED}"""


@dataclass(frozen=True)
class ClaimedExport:
    connection_id: str
    provider: str
    meeting_id: str
    uid: str
    event: ExportEvent | None  # None: the meeting is cancelled (or gone), so its event is deleted
    attempts: int  # including this one
    token: str  # this claim's; a stale worker's report cannot touch a newer claim


def enqueue(conn: sqlite3.Connection, meeting_id: str) -> int:
    """Queue the meeting's export to each exporting connection of its host, in the open transaction;
    returns how many."""
    return conn.execute(_ENQUEUE, (meeting_id,)).rowcount


def job(
    claimed: rows.Row, meeting: rows.Row | None, *, token: str, zone: ZoneInfo, now: datetime
) -> ClaimedExport:
    """A claimed row (connection_id, provider, meeting_id, attempts) with its meeting as it is now
    (`meeting` its row, None when it no longer exists)."""
    uid = meeting_uid(claimed["meeting_id"])
    event = None
    if meeting is not None and meeting["status"] != "cancelled":
        event = ExportEvent(uid, int(meeting["sequence"]), rows.to_meeting(meeting, zone), now)
    return ClaimedExport(
        connection_id=claimed["connection_id"],
        provider=claimed["provider"],
        meeting_id=claimed["meeting_id"],
        uid=uid,
        event=event,
        attempts=int(claimed["attempts"]),
        token=token,
    )


class ExportQueue(QueueFile):
    """The export worker's side of the queue on one SQLite file, with its own connection; also where
    exporters keep each connection's target calendar and read CalDAV credentials. With `providers`,
    only their jobs are claimed (and waited for): those this process has an exporter for."""

    def __init__(self, path: Path, *, providers: Collection[str] | None = None) -> None:
        super().__init__(path)
        self._providers = None if providers is None else json.dumps(sorted(providers))

    def claim(
        self, now: datetime, *, lease: timedelta, limit: int = 10, skip: Collection[str] = ()
    ) -> list[ClaimedExport]:
        """Take up to `limit` due jobs of exporting connections whose lease has expired, for `lease`;
        none of the connections in `skip`."""
        at, token = now.timestamp(), uuid.uuid4().hex
        params = {
            "until": at + lease.total_seconds(), "token": token, "now": at, "limit": limit,
            "skip": json.dumps(sorted(skip)), "providers": self._providers,
        }  # fmt: skip
        with self._immediate() as conn:
            conn.execute(_CLAIM, params)
            claimed = conn.execute(_CLAIMED, (token,)).fetchall()
            if not claimed:
                return []
            zone = ZoneInfo(str(conn.execute("SELECT time_zone FROM business").fetchone()[0]))
            found = [
                (
                    r,
                    conn.execute(
                        "SELECT * FROM meetings WHERE meeting_id = ?", (r["meeting_id"],)
                    ).fetchone(),
                )
                for r in claimed
            ]
        return [job(r, meeting, token=token, zone=zone, now=now) for r, meeting in found]

    def done(self, claimed: ClaimedExport, now: datetime) -> None:
        self._report(
            claimed,
            DONE.format(p="?"),
            (now.timestamp(), claimed.connection_id, claimed.meeting_id, claimed.token),
        )

    def failed(self, claimed: ClaimedExport, *, error: str, retry_at: datetime | None, now: datetime) -> None:
        """Not exported: try again at `retry_at`, or never (None). `error` must hold no secret."""
        # A write that failed may still have reached the calendar (a timeout): reported like a done one.
        self._report(claimed, FAILED.format(p="?"), failed_params(claimed, error, retry_at, now))

    def auth_failed(self, claimed: ClaimedExport, *, error: str, now: datetime) -> None:
        """The credentials were refused: this job is given up and the connection turns `error`."""
        with self._immediate() as conn:
            conn.execute(FAILED.format(p="?"), failed_params(claimed, error, None, now))
            conn.execute(AUTH_FAILED.format(p="?"), (claimed.connection_id,))

    def next_due(self) -> float | None:
        """Epoch seconds when the next job may be claimed (None: nothing pending)."""
        with self._lock:
            row = self._open().execute(_NEXT_DUE, {"providers": self._providers}).fetchone()
        return None if row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        """Rows per state: for tests."""
        with self._lock:
            found = self._open().execute("SELECT state, COUNT(*) FROM calendar_exports GROUP BY state")
            return {str(state): int(n) for state, n in found.fetchall()}

    # --- what exporters keep per connection -------------------------------------------------------

    def export_target(self, connection_id: str) -> str | None:
        with self._lock:
            row = (
                self._open()
                .execute(
                    "SELECT target FROM calendar_export_targets WHERE connection_id = ?", (connection_id,)
                )
                .fetchone()
            )
        return None if row is None else str(row[0])

    def save_export_target(self, connection_id: str, target: str | None) -> None:
        """Remember where the connection's events go; None forgets it (the calendar is gone)."""
        if target is None:
            self._execute("DELETE FROM calendar_export_targets WHERE connection_id = ?", (connection_id,))
            return
        self._execute(
            "INSERT INTO calendar_export_targets VALUES (?, ?)"
            " ON CONFLICT (connection_id) DO UPDATE SET target = excluded.target",
            (connection_id, target),
        )

    def caldav_account(self, connection_id: str) -> tuple[str, str, str] | None:
        """(server URL, username, password) of a CalDAV connection."""
        with self._lock:
            row = (
                self._open()
                .execute(
                    "SELECT url, username, password FROM caldav_accounts WHERE connection_id = ?",
                    (connection_id,),
                )
                .fetchone()
            )
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

    def _report(self, claimed: ClaimedExport, sql: str, params: tuple[object, ...]) -> None:
        """A job's outcome, written while its claim is held; else the row is armed again (REARM)."""
        with self._immediate() as conn:
            if conn.execute(sql, params).rowcount == 0:
                conn.execute(REARM.format(p="?"), (claimed.connection_id, claimed.meeting_id))

    def _execute(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            self._open().execute(sql, params)


def failed_params(
    claimed: ClaimedExport, error: str, retry_at: datetime | None, now: datetime
) -> tuple[object, ...]:
    due = now if retry_at is None else retry_at
    return (
        retry_at is None, due.timestamp(), error[:MAX_ERROR], now.timestamp(),
        claimed.connection_id, claimed.meeting_id, claimed.token,
    )  # fmt: skip
