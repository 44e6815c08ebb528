"""What a caller keeps of a write, committed in the write's own transaction.

A booking on the local engine is one durable commit: the meeting, its invitations, the result kept
under the caller's idempotency key and the audit row commit together or not at all. The caller (a
tool) hands the store a `Receipt`; the store checks the key first, inside its transaction, so a
duplicate that waited for the write lock finds the first call's result instead of booking again.

The `idempotency` and `audit` tables belong to the server's schema (server/schema.py and
server/pg_state.py) and live in the same database; their rows are written here, one function per
dialect, and by the server's own state for writes that carry no receipt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from wix_meetings_mcp.bookings.errors import IdempotencyConflict, RateLimited

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.model import Meeting

KEY_LIFETIME = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=2)  # far beyond any write's own timeouts (SQLite 15 s, HTTP 15 s)
PENDING = ""  # result_json while a claiming call runs (the column predates claims and is NOT NULL)


class AuditRow(NamedTuple):
    at: float
    caller: str  # a short hash of the bearer token, or "stdio": never the token
    tool: str
    arguments: str  # JSON, secrets removed
    result: str
    status: str | None


@dataclass(frozen=True)
class KeyClaim:
    scope: str
    key: str
    args_hash: str
    at: float  # when the call was made (seconds since the epoch)


class Repeated(Exception):
    """The key already produced a result for the same arguments: that result, as JSON."""

    def __init__(self, result_json: str) -> None:
        super().__init__("repeated idempotency key")
        self.result_json = result_json


@dataclass(frozen=True)
class Receipt:
    key: KeyClaim | None
    # The result to keep under the key and the audit row (None: not audited), from the meeting as
    # written; called inside the transaction, so it must not touch the database itself.
    keep: Callable[[Meeting], tuple[str, AuditRow | None]]


def held(key: KeyClaim, row: Any) -> None:
    """What an existing idempotency record (args_hash, result_json, created_at) means for `key`:
    nothing (absent, expired or abandoned), the first call's result, or a refusal."""
    if row is None or row[2] < key.at - KEY_LIFETIME.total_seconds():
        return
    if row[1] == PENDING and row[2] < key.at - CLAIM_LEASE.total_seconds():
        return  # its owner died mid-call
    if row[0] != key.args_hash:
        raise IdempotencyConflict(
            f"idempotency_key {key.key!r} was already used for a different {key.scope} call",
            next_step="Use a new idempotency_key for a different request.",
        )
    if row[1] == PENDING:
        raise RateLimited(
            f"a {key.scope} call with idempotency_key {key.key!r} is still running",
            next_step="Wait a few seconds, then retry with the same idempotency_key.",
        )
    raise Repeated(row[1])


# --- SQLite -----------------------------------------------------------------------------------

_SELECT_KEY = "SELECT args_hash, result_json, created_at FROM idempotency WHERE scope = ? AND key = ?"
INSERT_AUDIT = "INSERT INTO audit (at, caller, tool, arguments, result, status) VALUES (?, ?, ?, ?, ?, ?)"


def check_sqlite(conn: sqlite3.Connection, receipt: Receipt | None) -> None:
    if receipt is not None and receipt.key is not None:
        key = receipt.key
        held(key, conn.execute(_SELECT_KEY, (key.scope, key.key)).fetchone())


def keep_sqlite(conn: sqlite3.Connection, receipt: Receipt | None, meeting: Meeting) -> None:
    _keep(conn, receipt, meeting, key_sql=_KEEP_KEY, audit_sql=INSERT_AUDIT)


_KEEP_KEY = "INSERT OR REPLACE INTO idempotency VALUES (:scope, :key, :hash, :result, :at)"


def _keep(
    conn: Any, receipt: Receipt | None, meeting: Meeting, *, key_sql: str | bytes, audit_sql: str | bytes
) -> None:
    """The result under the key (named parameters scope, key, hash, result, at) and the audit row."""
    if receipt is None:
        return
    result_json, audit = receipt.keep(meeting)
    if receipt.key is not None:
        key = receipt.key
        params = {
            "scope": key.scope,
            "key": key.key,
            "hash": key.args_hash,
            "result": result_json,
            "at": key.at,
        }
        conn.execute(key_sql, params)
    if audit is not None:
        conn.execute(audit_sql, audit)


# --- PostgreSQL --------------------------------------------------------------------------------

# One statement decides a claim: insert, or take over an expired record or an abandoned claim;
# RETURNING tells the winner. A racing replica's insert waits on the unique key until the winner's
# transaction ends, then loses and reads the record that holds the key.
CLAIM_PG = """
    INSERT INTO idempotency AS i (scope, key, args_hash, result_json, created_at)
    VALUES (%(scope)s, %(key)s, %(hash)s, '', %(at)s)
    ON CONFLICT (scope, key) DO UPDATE SET args_hash = EXCLUDED.args_hash, result_json = '',
        created_at = EXCLUDED.created_at
    WHERE i.created_at < %(expired)s OR (i.result_json = '' AND i.created_at < %(abandoned)s)
    RETURNING 1"""


def claim_params(key: KeyClaim) -> dict[str, object]:
    return {
        "scope": key.scope,
        "key": key.key,
        "hash": key.args_hash,
        "at": key.at,
        "expired": key.at - KEY_LIFETIME.total_seconds(),
        "abandoned": key.at - CLAIM_LEASE.total_seconds(),
    }


INSERT_AUDIT_PG = INSERT_AUDIT.replace("?", "%s").encode()


def check_pg(conn: Any, receipt: Receipt | None) -> None:
    """The key claimed inside the write's transaction: a rollback gives it back."""
    if receipt is None or receipt.key is None:
        return
    key = receipt.key
    if conn.execute(CLAIM_PG.encode(), claim_params(key)).fetchone() is not None:
        return
    row = conn.execute(_SELECT_KEY.replace("?", "%s").encode(), (key.scope, key.key)).fetchone()
    held(key, None if row is None else (row["args_hash"], row["result_json"], row["created_at"]))


def keep_pg(conn: Any, receipt: Receipt | None, meeting: Meeting) -> None:
    """The key was claimed by `check_pg`: its record takes the result."""
    _keep(conn, receipt, meeting, key_sql=_KEEP_KEY_PG, audit_sql=INSERT_AUDIT_PG)


_KEEP_KEY_PG = b"UPDATE idempotency SET result_json = %(result)s WHERE scope = %(scope)s AND key = %(key)s"
