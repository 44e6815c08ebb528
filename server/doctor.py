"""`meetings-mcp doctor`: one line per thing that must be right, each `ok` or the fix.

It changes nothing: the database is opened read-only (a missing one is only checked for being
creatable), and a remote backend gets one harmless read. Exit 0 when nothing is wrong.
"""

from __future__ import annotations

import sqlite3
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from wix_meetings_mcp import __version__
from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.bookings.errors import AuthFailed, BookingError
from wix_meetings_mcp.bookings.local import schema as engine_schema
from wix_meetings_mcp.server import schema as server_schema
from wix_meetings_mcp.server.app import HttpClient, open_backend, system_clock
from wix_meetings_mcp.server.database import explain, label
from wix_meetings_mcp.server.settings import MIN_HTTP_TOKEN, Settings, machine_zone

Check = tuple[bool, str]


def run_doctor(
    settings: Settings, *, emit: Callable[[str], None] = print, mail_tls: ssl.SSLContext | None = None
) -> int:
    emit(f"meetings-mcp {__version__}")
    checks = [
        _configuration(settings),
        _database(settings),
        _time_zone(settings),
        anyio.run(_backend, settings),
        anyio.run(_mail, settings, mail_tls),
        _public_url(settings),
    ]
    if settings.transport == "http":
        checks.append(_http_token(settings))
    if settings.backend == "local":
        checks.extend(_calendars(settings))
    for good, line in checks:
        emit(f"{'ok ' if good else 'FIX'}  {line}")
    return 0 if all(good for good, _ in checks) else 1


def _configuration(settings: Settings) -> Check:
    mode = ", read-only" if settings.read_only else ""
    plan = f", plan {settings.plan}" if settings.backend == "local" else ""
    return True, f"configuration: backend {settings.backend}{plan}, toolsets {settings.toolsets}{mode}"


def _database(settings: Settings) -> Check:
    if settings.db_url is not None:
        return _postgres(settings, settings.db_url)
    path = settings.db_path
    if not path.exists():
        creatable = _first_existing(path.parent)
        if (path.parent.exists() and path.parent.is_dir()) or creatable.is_dir():
            return True, f"database: {path} (created on the first start)"
        return False, f"database: {explain(path, FileNotFoundError(path))}"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            pending = sqlite_pending(db, settings)
    except (sqlite3.Error, OSError) as exc:
        return False, f"database: {explain(path, exc)}"
    if pending < 0:
        return False, f"database: {path} was written by a newer meetings-mcp; upgrade this one"
    note = (
        f"; {pending} migrations pending (applied at the next start, or run `meetings-mcp migrate`)"
        if pending
        else ""
    )
    return True, f"database: {path}{note}"


def sqlite_pending(db: sqlite3.Connection, settings: Settings) -> int:
    """Migrations this file lacks (negative: it is ahead of this version)."""
    db.execute("SELECT 1 FROM sqlite_master").fetchall()  # raises on a file that is not SQLite
    components = [(server_schema.COMPONENT, server_schema.MIGRATIONS)]
    if settings.backend == "local":
        components.append((engine_schema.COMPONENT, engine_schema.MIGRATIONS))
    behind = [len(m) - sqlite.schema_version(db, c) for c, m in components]
    return min(behind) if min(behind) < 0 else sum(behind)


def _postgres(settings: Settings, url: str) -> Check:
    from wix_meetings_mcp.bookings import postgres
    from wix_meetings_mcp.bookings.local import pg_schema
    from wix_meetings_mcp.server import pg_state

    shown = label(settings)
    try:
        with postgres.connect(url) as conn:
            behind = [len(pg_state.MIGRATIONS) - postgres.schema_version(conn, pg_state.COMPONENT)]
            if settings.backend == "local":
                behind.append(len(pg_schema.MIGRATIONS) - postgres.schema_version(conn, pg_schema.COMPONENT))
    except Exception as exc:  # psycopg's errors: unreachable, refused, no such database
        return (
            False,
            f"database: {shown} cannot be reached ({exc.__class__.__name__}); check that PostgreSQL runs there",
        )
    if min(behind) < 0:
        return False, f"database: {shown} was written by a newer meetings-mcp; upgrade this one"
    pending = sum(behind)
    note = (
        f"; {pending} migrations pending (applied at the next start, or run `meetings-mcp migrate`)"
        if pending
        else ""
    )
    return True, f"database: {shown} (PostgreSQL){note}"


def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _time_zone(settings: Settings) -> Check:
    if settings.time_zone:
        return True, f"time zone: {settings.time_zone} (MEETINGS_TIME_ZONE)"
    if settings.backend != "local":
        return (
            True,
            f"time zone: the backend's business zone (MEETINGS_TIME_ZONE unset; fallback {machine_zone()})",
        )
    stored = None if settings.db_url is not None else _stored_zone(settings.db_path)
    if stored:
        return True, f"time zone: {stored} (stored in the database; MEETINGS_TIME_ZONE changes it)"
    return True, f"time zone: {machine_zone()} (the machine's; set MEETINGS_TIME_ZONE to choose another)"


def _stored_zone(path: Path) -> str | None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT time_zone FROM business").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


async def _backend(settings: Settings) -> Check:
    if settings.backend == "local":
        return True, "backend: local (the embedded engine, no account needed)"
    http = HttpClient()
    names = {"wix": "WIX_API_KEY and WIX_SITE_ID", "meetergo": "MEETERGO_API_KEY and MEETERGO_USER_ID"}
    try:
        with anyio.fail_after(20):
            backend = await open_backend(settings, system_clock, http)
            account = await backend.get_account()
    except AuthFailed:
        return False, f"backend: {settings.backend} refused the credentials; check {names[settings.backend]}"
    except (BookingError, TimeoutError, OSError) as exc:
        return (
            False,
            f"backend: {settings.backend} did not answer ({exc.__class__.__name__}); check the network and {settings.backend.upper()}_API_BASE_URL",
        )
    finally:
        await http.aclose()
    return True, f"backend: {settings.backend} answers (business {account.business.name!r})"


def _public_url(settings: Settings) -> Check:
    """Where people reach the scheduling pages; absent is fine (booking_url is then absent too)."""
    if settings.backend != "local":
        return True, f"scheduling pages: the {settings.backend} backend's own booking pages"
    if settings.public_url:
        return True, f"scheduling pages: {settings.public_url}/book/<slug> (MEETINGS_PUBLIC_URL)"
    if settings.transport == "http" and settings.http_host not in ("0.0.0.0", "::", ""):
        return (
            True,
            f"scheduling pages: http://{settings.http_host}:{settings.http_port}/book/<slug> (the HTTP address)",
        )
    return True, (
        "scheduling pages: no public address, so links carry no booking_url; set MEETINGS_PUBLIC_URL "
        "or serve them with `meetings-mcp pages --port 8080`"
    )


async def _mail(settings: Settings, tls: ssl.SSLContext | None) -> Check:
    """One harmless exchange with the mail server (EHLO, STARTTLS, NOOP, QUIT): no mail, no password."""
    if settings.smtp_url is None:
        note = "" if settings.backend == "local" else f" ({settings.backend} sends its own)"
        return True, f"mail server: not configured; no invitations are sent{note} (MEETINGS_SMTP_URL)"
    from wix_meetings_mcp.server.smtp import MailError, probe, smtp_target

    target = smtp_target(settings.smtp_url.get_secret_value())
    try:
        with anyio.fail_after(20):
            protection = await probe(target, tls_context=tls)
    except MailError as exc:
        return False, f"mail server: {exc}; check MEETINGS_SMTP_URL"
    except TimeoutError:
        return False, f"mail server: {target.shown} did not answer in time; check MEETINGS_SMTP_URL"
    return (
        True,
        f"mail server: {target.shown} answers ({protection}); invitations from {settings.mail_sender}",
    )


_CONNECTIONS = (
    "SELECT connection_id, provider, host_id, status, error_reason, imported_at, refreshed_at,"
    " import_enabled, export_enabled FROM calendar_connections ORDER BY {order}"
)
# The latest export error of each connection (newest last, so it wins in a dict).
_EXPORT_ERRORS = (
    "SELECT connection_id, last_error, last_error_at, state FROM calendar_exports"
    " WHERE last_error IS NOT NULL ORDER BY last_error_at"
)
Rows = Sequence[Sequence[Any]]


def _connection_rows(settings: Settings) -> tuple[Rows, Rows]:
    """The engine's calendar connections and their export errors, read only; none where the tables
    are not there yet."""
    if settings.db_url is not None:
        from wix_meetings_mcp.bookings import postgres

        try:
            with postgres.connect(settings.db_url) as conn:
                found = conn.execute(_CONNECTIONS.format(order="seq").encode()).fetchall()
                return found, conn.execute(_EXPORT_ERRORS.encode()).fetchall()
        except Exception:  # unreachable (the database line says so) or not migrated yet
            return [], []
    path = settings.db_path
    if not path.exists():
        return [], []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            found = db.execute(_CONNECTIONS.format(order="rowid")).fetchall()
            return found, db.execute(_EXPORT_ERRORS).fetchall()
    except sqlite3.Error:  # an older schema, or no engine tables yet: nothing to report
        return [], []


def _calendars(settings: Settings) -> list[Check]:
    """One line per calendar connection: its state, last refresh and, when it failed, why; and the
    last error of exporting meetings into it, if any."""
    found, failures = _connection_rows(settings)
    export_errors = {
        connection_id: f"; last export error {_moment(int(at))}: {error} "
        f"({'given up' if state == 'failed' else 'retrying'})"
        for connection_id, error, at, state in failures
    }
    checks: list[Check] = []
    for connection_id, provider, host_id, status, reason, imported, refreshed, importing, exporting in found:
        name = f"calendar {provider} {connection_id} (host {host_id})"
        if status == "disconnected":
            checks.append((True, f"{name}: disconnected"))
            continue
        tried = f"last refresh {_moment(refreshed or imported)}"
        export = export_errors.get(connection_id, "")
        if status == "error" and reason == "auth_failed" and provider == "apple":
            checks.append(
                (
                    False,
                    f"{name}: error (auth_failed: its password was refused), {tried}{export}. "
                    "Connect it again with a new app-specific password",
                )
            )
        elif status == "error" and reason == "auth_failed":
            checks.append(
                (
                    False,
                    f"{name}: error (auth_failed: its access was refused), {tried}{export}. "
                    f"{_FIXES['revoked']}",
                )
            )
        elif status == "error":
            checks.append(
                (
                    False,
                    f"{name}: error ({reason}), {tried}; the busy times imported {_moment(imported)} "
                    f"still count{export}. {_FIXES.get(reason, _FIXES[None])}",
                )
            )
        else:
            off = "" if importing else ", import switched off"
            on = ", export on" if exporting else ""
            checks.append((True, f"{name}: {status}, {tried}{off}{on}{export}"))
    return checks


_FIXES = {
    None: "Check the calendar's iCal address (or CalDAV password) and connect it again",
    "revoked": "Access was withdrawn at the provider: connect the calendar again (the owner signs in anew)",
    "access_denied": "The owner declined access: connect the calendar again if they want it connected",
    "authorization_failed": "The sign-in did not complete: connect the calendar again",
}


def _moment(epoch: int | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _http_token(settings: Settings) -> Check:
    token = settings.http_token.get_secret_value() if settings.http_token else ""
    if len(token) >= MIN_HTTP_TOKEN:
        return True, "HTTP token: set"
    return False, f"HTTP token: MEETINGS_HTTP_TOKEN must have at least {MIN_HTTP_TOKEN} characters"
