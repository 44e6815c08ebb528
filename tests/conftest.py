"""Shared fixtures: a movable clock, settings on a temp database, and an in-memory MCP client."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from mcp import Client
from mcp.types import CallToolResult

from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

# Fixtures shared by the OAuth calendar tests (a module's own fixture of the same name wins).
pytest_plugins = ("tests.oauth_env",)

# Monday 30 November 2026, 08:00 UTC (09:00 in Berlin): a working week lies ahead.
MONDAY_MORNING = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = MONDAY_MORNING

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "meetings.db"


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 2026-07-28 (auto) and the 2025-11-25 handshake (legacy)."""
    return str(request.param)


Connect = Callable[..., Any]


@pytest.fixture
def connect(db_path: Path, clock: FakeClock, mode: str) -> Connect:
    """`async with connect(plan="premium", confirm="token") as call:` gives `call(tool, **args)`."""

    @asynccontextmanager
    async def _connect(elicitation_callback: Any = None, **overrides: Any) -> AsyncIterator[Caller]:
        settings = Settings(db=db_path, time_zone="Europe/Berlin", **overrides)
        server = build_server(settings, clock=clock)
        async with Client(server, mode=mode, elicitation_callback=elicitation_callback) as client:  # type: ignore[arg-type]
            yield Caller(client)

    return _connect


class Caller:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def raw(self, tool: str, **args: Any) -> CallToolResult:
        return await self.client.call_tool(tool, args)

    async def __call__(self, tool: str, **args: Any) -> dict[str, Any]:
        """The structured result of a successful call (fails the test on an error result)."""
        result = await self.raw(tool, **args)
        assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
        assert result.structured_content is not None
        text = result.content[0].text  # type: ignore[union-attr]
        assert json.loads(text) == _without_nulls(result.structured_content)
        return result.structured_content

    async def error(self, tool: str, **args: Any) -> str:
        """The text of a failed call: `code: message. Next step`."""
        result = await self.raw(tool, **args)
        assert result.is_error, result.structured_content
        return result.content[0].text  # type: ignore[union-attr,no-any-return]


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """TEST_POSTGRES_URL, the server tests create their databases on (CI sets it; elsewhere: skip)."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TEST_POSTGRES_URL is not set (CI sets it to the PostgreSQL on 127.0.0.1:5432)")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards: nothing a run left behind can hide a bug."""
    import psycopg

    name = f"meetings_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        # A postgresql:// URL, as MEETINGS_DB takes it (make_conninfo would give key=value form).
        yield urlunsplit(urlsplit(postgres_server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture(params=["sqlite", "postgres"])
def engine_db(request: pytest.FixtureRequest, db_path: Path) -> str:
    """Where the engine keeps its data, once per store: the SQLite file, or a fresh PostgreSQL
    database (that run skips without TEST_POSTGRES_URL)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(db_path)


def stored(db: str, sql: str) -> list[tuple[Any, ...]]:
    """What a query finds in the engine's database `db` (an `engine_db`), read beside the engine."""
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            return [tuple(r) for r in conn.execute(sql.encode()).fetchall()]
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db)) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
