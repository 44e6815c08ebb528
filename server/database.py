"""The database file as a whole: bring it up to date at start-up, and explain why it cannot be used.

The server's own tables and, on the `local` backend, the engine's are migrated here before the
server serves (each component also migrates on first use, for tests and embedders). A file that
cannot be used becomes one sentence that names the path and the fix.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.bookings.local import schema as engine_schema
from wix_meetings_mcp.server import schema as server_schema
from wix_meetings_mcp.server.settings import Settings


class DatabaseUnusable(Exception):
    """The configured database cannot be used; the message says why and what to do."""


def database_files(path: Path) -> list[Path]:
    """The file and SQLite's WAL companions."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def label(settings: Settings) -> str:
    """The database as it may be shown: the file, or the URL without its password."""
    if settings.db_url is None:
        return str(settings.db_path)
    parts = urlsplit(settings.db_url)
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def migrate_database(settings: Settings) -> list[str]:
    """Apply pending migrations; one line per component saying where its schema stands."""
    if settings.db_url is not None:
        return _migrate_postgres(settings, settings.db_url)
    path = settings.db_path
    components = [(server_schema.COMPONENT, server_schema.MIGRATIONS)]
    if settings.backend == "local":
        components.append((engine_schema.COMPONENT, engine_schema.MIGRATIONS))
    try:
        conn = _open(path)
        try:
            sqlite.enable_wal(conn)
            lines = []
            for component, migrations in components:
                applied = sqlite.migrate(conn, component, migrations)
                lines.append(
                    f"{path}: {component} schema at version {len(migrations)} ({applied} applied now)"
                )
        finally:
            conn.close()
    except sqlite.SchemaTooNew as exc:
        raise DatabaseUnusable(f"cannot use the database {path}: {exc}") from None
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseUnusable(explain(path, exc)) from None
    return lines


def _migrate_postgres(settings: Settings, url: str) -> list[str]:
    from wix_meetings_mcp.bookings import postgres
    from wix_meetings_mcp.bookings.local import pg_schema
    from wix_meetings_mcp.server import pg_state

    components = [(pg_state.COMPONENT, pg_state.MIGRATIONS)]
    if settings.backend == "local":
        components.append((pg_schema.COMPONENT, pg_schema.MIGRATIONS))
    shown = label(settings)
    try:
        with postgres.connect(url) as conn:
            lines = []
            for component, migrations in components:
                applied = postgres.migrate(conn, component, migrations)
                lines.append(
                    f"{shown}: {component} schema at version {len(migrations)} ({applied} applied now)"
                )
    except sqlite.SchemaTooNew as exc:
        raise DatabaseUnusable(f"cannot use the database {shown}: {exc}") from None
    except Exception as exc:  # psycopg's errors: unreachable, refused, no such database
        raise DatabaseUnusable(
            f"MEETINGS_DB {shown} cannot be used ({exc.__class__.__name__}); check that PostgreSQL runs there "
            "and the database exists"
        ) from None
    return lines


def _open(path: Path) -> sqlite3.Connection:
    if path.is_dir():
        raise IsADirectoryError(path)
    return sqlite.connect(path)


def explain(path: Path, exc: BaseException) -> str:
    """One sentence for a database that cannot be used: the path, the reason, the fix."""
    if path.is_dir():
        return f"MEETINGS_DB {path} is a directory; give a file path such as {path / 'meetings.db'}"
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text:
        return f"MEETINGS_DB {path} is not a meetings-mcp database (not SQLite, or damaged); point MEETINGS_DB at another file"
    parent = path.parent
    if (
        (path.exists() and not os.access(path, os.W_OK))
        or (parent.exists() and not os.access(parent, os.W_OK))
        or "readonly" in text
        or isinstance(exc, PermissionError)
    ):
        return f"MEETINGS_DB {path} cannot be written (permission denied); choose a writable path"
    if "locked" in text or "busy" in text:
        return f"MEETINGS_DB {path} is locked by another process; try again, or stop the process holding it"
    return f"MEETINGS_DB {path} cannot be opened ({exc.__class__.__name__}); choose another path"


def reset_postgres(url: str) -> None:
    """Drop every table this server made (and only those), so the next start provisions afresh."""
    import re

    from wix_meetings_mcp.bookings import postgres
    from wix_meetings_mcp.bookings.local import pg_schema
    from wix_meetings_mcp.server import pg_state

    made = " ".join(
        str(step) for migration in (*pg_schema.MIGRATIONS, *pg_state.MIGRATIONS) for step in migration
    )
    tables = sorted(set(re.findall(r"CREATE TABLE (\w+)", made)))
    functions = sorted(set(re.findall(r"CREATE FUNCTION (\w+)", made)))
    with postgres.connect(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.MIGRATION_LOCK,))
        for table in [*tables, "schema_migrations"]:
            conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE'.encode())
        for function in functions:
            conn.execute(f'DROP FUNCTION IF EXISTS "{function}" CASCADE'.encode())
