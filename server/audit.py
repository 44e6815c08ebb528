"""The audit trail: who called which write tool, with what, when, and the result, kept in SQLite.

Who is the HTTP token's subject (a short hash, never the token) or "stdio". Arguments are kept
with secrets removed (passwords, confirmation tokens, anything named like a key or token; a
calendar's secret iCal address keeps only its scheme and host) and long text cut short, so the
trail never holds a credential and a hostile caller cannot bloat it; arguments refused as invalid
keep only their shape. `meetings-mcp audit` reads it.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import anyio

from wix_meetings_mcp.bookings.receipts import INSERT_AUDIT, AuditRow
from wix_meetings_mcp.server.http_auth import current_caller
from wix_meetings_mcp.server.schema import open_database
from wix_meetings_mcp.server.settings import Settings

if TYPE_CHECKING:
    from wix_meetings_mcp.server.pg_state import PgAuditTrail

SECRET_NAMES = ("password", "confirmation_token", "token", "secret", "api_key", "apikey", "authorization")
_URLS_WITH_SECRETS = ("ics_url",)  # a calendar's "secret address in iCal format"
REDACTED = "[redacted]"
RETENTION = timedelta(days=90)
_MAX_TEXT = 200
_MAX_ITEMS = 30
_MAX_DEPTH = 4


class AuditEntry(NamedTuple):
    at: datetime
    caller: str
    tool: str
    arguments: str
    result: str
    status: str | None


def redact(arguments: Mapping[str, Any], *, refused_as_invalid: bool = False) -> dict[str, Any]:
    """The arguments fit to keep: secrets replaced, text cut to 200 characters, nesting bounded.

    Arguments of a refused call keep only their shape: they wrote nothing, and what failed
    validation may be anything, a password typed into the email field included.
    """
    items = list(arguments.items())[:_MAX_ITEMS]
    if refused_as_invalid:
        return {_text(k): _shape(v) for k, v in items}
    return {_text(k): _clean(str(k), v, 0) for k, v in items}


def _shape(value: Any) -> str:
    return f"<{len(value)} characters>" if isinstance(value, str) else f"<{type(value).__name__}>"


def _text(value: object) -> str:
    """At most 200 characters of storable text (a lone surrogate cannot be UTF-8: it becomes "?")."""
    text = str(value)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + f"…(+{len(text) - _MAX_TEXT})"
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean(name: str, value: Any, depth: int) -> Any:
    lowered = name.lower()
    if value is not None and any(secret in lowered for secret in SECRET_NAMES):
        return REDACTED
    if isinstance(value, str) and lowered in _URLS_WITH_SECRETS:
        try:
            parts = urlsplit(value)
            return _text(f"{parts.scheme}://{parts.hostname or ''}/{REDACTED}") if parts.scheme else REDACTED
        except ValueError:  # not even a URL
            return REDACTED
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= _MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {_text(k): _clean(str(k), v, depth + 1) for k, v in list(value.items())[:_MAX_ITEMS]}
    if isinstance(value, list | tuple):
        return [_clean(name, v, depth + 1) for v in value[:_MAX_ITEMS]]
    return _clean(name, repr(value), depth)


MAX_ARGUMENTS = 4096  # characters of one row's arguments: a hostile caller cannot bloat the trail
# Outcomes after which the write may have happened: their arguments are worth keeping in full.
_MAY_HAVE_WRITTEN = {
    "ok",
    "input_required",
    "cancelled",
    "protocol_error",
    "upstream_unavailable",
    "internal_error",
}


def stored_arguments(arguments: Mapping[str, Any], result: str) -> str:
    """The arguments as stored: redacted, only their shape when the call was refused, at most 4 KiB."""
    refused = result not in _MAY_HAVE_WRITTEN
    text = _dump(redact(arguments, refused_as_invalid=refused))
    if len(text) > MAX_ARGUMENTS:
        text = _dump(redact(arguments, refused_as_invalid=True))
    if len(text) > MAX_ARGUMENTS:
        text = _dump({"_omitted": f"{len(arguments)} arguments too large to keep"})
    return text


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def audit_row(
    at: datetime, tool: str, arguments: Mapping[str, Any], result: str, status: str | None
) -> AuditRow:
    """One row as both stores keep it: when, who (never a token), what, and the outcome."""
    return AuditRow(
        at.timestamp(), current_caller(), tool, stored_arguments(arguments, result), result, status
    )


class AuditTrail:
    """The `tools.journal.AuditLog` the server uses; the connection opens on first use."""

    def __init__(
        self, path: Path, clock: Callable[[], datetime], *, retention: timedelta = RETENTION
    ) -> None:
        self._path = path
        self._clock = clock
        self._retention = retention
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_database(self._path)
            # Pruned when the trail opens (once per process): cheap, and enough for a daily restart or
            # a long-running server alike, since rows only accumulate at the rate of write calls.
            cutoff = (self._clock() - self._retention).timestamp()
            self._db.execute("DELETE FROM audit WHERE at < ?", (cutoff,))
        return self._db

    def row(self, tool: str, arguments: Mapping[str, Any], result: str, status: str | None) -> AuditRow:
        return audit_row(self._clock(), tool, arguments, result, status)

    async def record(self, tool: str, arguments: Mapping[str, Any], result: str, status: str | None) -> None:
        row = self.row(tool, arguments, result, status)

        def write() -> None:
            with self._lock:
                self._conn().execute(INSERT_AUDIT, row)

        await anyio.to_thread.run_sync(write)

    def entries(self, limit: int) -> list[AuditEntry]:
        """The newest `limit` entries, newest first."""
        with self._lock:
            found = (
                self._conn()
                .execute(
                    "SELECT at, caller, tool, arguments, result, status FROM audit ORDER BY id DESC LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        return [AuditEntry(datetime.fromtimestamp(r[0], UTC), *r[1:]) for r in found]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def as_json(entry: AuditEntry) -> str:
    """One JSON object per entry, arguments as an object (they are stored as JSON)."""
    return json.dumps(
        {
            "at": entry.at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "caller": entry.caller,
            "tool": entry.tool,
            "result": entry.result,
            "status": entry.status,
            "arguments": json.loads(entry.arguments),
        },
        ensure_ascii=False,
    )


def print_audit(settings: Settings, limit: int, *, as_json_lines: bool = False) -> None:
    """`meetings-mcp audit`: the newest entries first, as text or JSON lines."""
    retention = timedelta(days=settings.audit_retention_days)
    trail: AuditTrail | PgAuditTrail
    if settings.db_url is not None:
        from wix_meetings_mcp.server.pg_state import PgAuditTrail

        trail = PgAuditTrail(settings.db_url, lambda: datetime.now(UTC), retention=retention)
    elif not settings.db_path.exists():
        print(f"meetings-mcp: no database at {settings.db_path} yet, so no audit entries", file=sys.stderr)
        return
    else:
        trail = AuditTrail(settings.db_path, lambda: datetime.now(UTC), retention=retention)
    try:
        for entry in trail.entries(limit):
            print(as_json(entry) if as_json_lines else render(entry))
    finally:
        trail.close()


def render(entry: AuditEntry) -> str:
    """One line per entry: when, who, tool, result[/status], arguments."""
    when = entry.at.isoformat(timespec="seconds").replace("+00:00", "Z")
    outcome = entry.result + (f"/{entry.status}" if entry.status else "")
    return f"{when}  {entry.caller}  {entry.tool}  {outcome}  {entry.arguments}"
