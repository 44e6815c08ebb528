"""Versioned schema migrations: applied once, in order, under the lock; old files adopted; newer refused."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local import schema as engine_schema
from wix_meetings_mcp.server import schema as server_schema
from wix_meetings_mcp.server.state import ServerState

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _versions(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT component, MAX(version) FROM schema_migrations GROUP BY component"))


def _indexes(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[1] for r in db.execute(f"PRAGMA index_list({table})")}


def test_a_file_made_before_migrations_is_adopted_and_gets_the_new_index(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # what the server created before migrations existed
        for statement in server_schema.MIGRATIONS[0]:
            assert isinstance(statement, str)
            db.execute(statement)
        db.execute(
            "INSERT INTO audit (at, caller, tool, arguments, result) VALUES (1, 'stdio', 't', '{}', 'ok')"
        )

    ServerState(path).close()

    assert _versions(path) == {"server": len(server_schema.MIGRATIONS)}
    assert "audit_at" in _indexes(path, "audit")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 1  # nothing lost


def test_each_migration_runs_once_when_many_threads_open_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    runs: list[int] = []
    steps = ("CREATE TABLE t (x)", lambda conn: runs.append(1))
    errors: list[BaseException] = []

    def open_and_migrate() -> None:
        try:
            conn = sqlite.connect(path)
            sqlite.enable_wal(conn)
            sqlite.migrate(conn, "test", [steps])
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_migrate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    assert runs == [1]
    assert _versions(path) == {"test": 1}


def test_a_failed_migration_leaves_the_file_at_its_last_good_version(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    conn = sqlite.connect(path)
    sqlite.migrate(conn, "test", [("CREATE TABLE a (x)",)])

    def boom(_: sqlite3.Connection) -> None:
        raise RuntimeError("backfill failed")

    with pytest.raises(RuntimeError):
        sqlite.migrate(conn, "test", [("CREATE TABLE a (x)",), ("CREATE TABLE b (x)", boom)])

    assert sqlite.schema_version(conn, "test") == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'b'").fetchone() is None
    conn.close()


def test_a_file_from_a_newer_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    conn = sqlite.connect(path)
    sqlite.migrate(conn, "test", [("CREATE TABLE a (x)",), ("CREATE TABLE b (x)",), ("CREATE TABLE c (x)",)])

    with pytest.raises(sqlite.SchemaTooNew, match="upgrade meetings-mcp"):
        sqlite.migrate(conn, "test", [("CREATE TABLE a (x)",)])
    conn.close()


async def test_configured_name_and_zone_apply_on_a_later_start_and_unset_ones_keep_the_stored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.db"

    async def account(*, time_zone: str | None, business_name: str | None) -> tuple[str, str]:
        backend = LocalBackend(
            db_path=path,
            plan="free",
            clock=lambda: NOW,
            fresh_time_zone="UTC",
            time_zone=time_zone,
            business_name=business_name,
        )
        try:
            found = await backend.get_account()
        finally:
            backend.close()
        return found.business.name, found.business.time_zone

    assert await account(time_zone=None, business_name=None) == ("My Business", "UTC")
    assert await account(time_zone="Europe/Berlin", business_name="Ana's Studio") == (
        "Ana's Studio",
        "Europe/Berlin",
    )
    assert await account(time_zone=None, business_name=None) == ("Ana's Studio", "Europe/Berlin")
    assert _versions(path)["engine"] == len(engine_schema.MIGRATIONS)
