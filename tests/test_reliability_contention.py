"""Four HTTP server processes on one database, hundreds of agents racing for the same slots.

Every slot is booked at most once, every loser hears slot_unavailable (or already_booked when the
same person asked twice), and the store holds no overlapping meetings. The helpers here start
and stop real `python -m server --transport http` processes; the crash test uses them too.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Queue
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

pytestmark = pytest.mark.slow

TOKEN = "contention-test-token-" + "k" * 24
PROCESSES = 4
SLOTS = 50
CONTENDERS = 10  # per slot: 9 different people, and the first of them asking a second time
CLIENTS_PER_SERVER = 2


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def server_env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEETINGS_", "WIX_", "MEETERGO_"))}
    return (
        env
        | {
            "MEETINGS_DB": str(db),
            "MEETINGS_TIME_ZONE": "UTC",
            "MEETINGS_PLAN": "premium",
            "MEETINGS_HTTP_TOKEN": TOKEN,
            "MEETINGS_HTTP_RATE_LIMIT": "0",  # a load test, not a rate-limit test
        }
        | extra
    )


def start_server(db: Path, port: int, log: Path, **extra: str) -> Served:
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wix_meetings_mcp", "--transport", "http", "--port", str(port)],
            env=server_env(db, **extra),
            cwd=db.parent,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return Served(proc, port, log)


def wait_until_listening(servers: list[Served], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for served in servers:
        while True:
            assert served.proc.poll() is None, served.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", served.port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"server on port {served.port} did not start"
                time.sleep(0.05)


def stop(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGTERM)
        try:
            served.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            served.proc.kill()
            served.proc.wait()


@contextmanager
def servers(tmp_path: Path, db: Path, n: int, **extra: str) -> Iterator[list[Served]]:
    started = [
        start_server(db, port, tmp_path / f"server-{i}.log", **extra) for i, port in enumerate(free_ports(n))
    ]
    try:
        wait_until_listening(started)
        yield started
    finally:
        for served in started:
            stop(served)


@asynccontextmanager
async def mcp_client(url: str, token: str = TOKEN) -> AsyncIterator[Client]:
    limits = httpx2.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def text_of(result: CallToolResult) -> str:
    return result.content[0].text  # type: ignore[union-attr,no-any-return]


async def bookable_slots(client: Client, count: int) -> list[dict[str, Any]]:
    """`count` slots from tomorrow on (UTC), so none passes into the past during the test."""
    links = await client.call_tool("list_scheduling_links", {})
    link = links.structured_content["links"][0]["link_id"]  # type: ignore[index]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    args = {"link_id": link, "from_date": tomorrow.isoformat(),
            "to_date": (tomorrow + timedelta(days=40)).isoformat(), "limit": 100}  # fmt: skip
    slots: list[dict[str, Any]] = []
    while len(slots) < count:
        page = (await client.call_tool("find_slots", args)).structured_content
        assert page is not None and page["slots"], "no more free slots"
        slots += page["slots"]
        args["cursor"] = page.get("next_cursor")
    return slots[:count]


def overlapping_meetings(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            """SELECT COUNT(*) FROM meetings a JOIN meetings b
               ON a.host_id = b.host_id AND a.meeting_id < b.meeting_id
               WHERE a.status != 'cancelled' AND b.status != 'cancelled'
                 AND a.start_ts < b.end_ts AND b.start_ts < a.end_ts"""
        ).fetchone()
    return int(row[0])


def live_meetings(db: Path) -> dict[str, tuple[int, str]]:
    """meeting_id -> (start_ts, attendee_email) of every meeting that is not cancelled."""
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "SELECT meeting_id, start_ts, attendee_email FROM meetings WHERE status != 'cancelled'"
        ).fetchall()
    return {m: (s, e) for m, s, e in found}


async def test_four_processes_and_five_hundred_concurrent_bookings_never_double_book(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    started = time.monotonic()
    with servers(tmp_path, db, PROCESSES) as running:
        # Slot ids come from one process; the signing secret lives in the shared database, so
        # every other process accepts them.
        async with mcp_client(running[0].url) as first:
            slots = await bookable_slots(first, SLOTS)
        calls = [
            (s, slot["slot_id"], f"p{j % (CONTENDERS - 1)}-slot{s}@example.com")
            for s, slot in enumerate(slots)
            for j in range(CONTENDERS)
        ]
        outcomes: list[tuple[int, str, CallToolResult]] = []

        async def book(client: Client, s: int, slot_id: str, email: str) -> None:
            args = {"slot_id": slot_id, "attendee": {"name": email.split("@")[0], "email": email}}
            outcomes.append((s, email, await client.call_tool("book_meeting", args)))

        with anyio.fail_after(90):
            async with AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(mcp_client(served.url))
                    for _ in range(CLIENTS_PER_SERVER)
                    for served in running
                ]
                async with anyio.create_task_group() as tg:
                    for i, (s, slot_id, email) in enumerate(calls):
                        tg.start_soon(book, clients[i % len(clients)], s, slot_id, email)
        for served in running:
            assert served.proc.poll() is None, served.log.read_text()
            assert "Traceback" not in served.log.read_text()
    elapsed = time.monotonic() - started

    assert len(outcomes) == SLOTS * CONTENDERS >= 500
    winners: dict[int, list[str]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    for s, email, result in outcomes:
        if result.is_error:
            assert text_of(result).startswith("slot_unavailable: "), text_of(result)
            kinds["slot_unavailable"] += 1
        elif result.structured_content["already_booked"]:  # type: ignore[index]
            kinds["already_booked"] += 1
        else:
            assert result.structured_content["status"] == "confirmed"  # type: ignore[index]
            winners[s].append(email)
            kinds["booked"] += 1
    assert {s: len(w) for s, w in winners.items()} == {s: 1 for s in range(SLOTS)}
    for s, email, result in outcomes:
        if not result.is_error and result.structured_content["already_booked"]:  # type: ignore[index]
            assert email == winners[s][0]  # only the same person is told they already hold it
            assert result.structured_content["meeting"]["attendee"]["email"] == email  # type: ignore[index]
    stored = live_meetings(db)
    assert len(stored) == SLOTS
    assert sorted(e for _, e in stored.values()) == sorted(w[0] for w in winners.values())
    assert overlapping_meetings(db) == 0
    assert elapsed < 60, f"took {elapsed:.1f} s"
    print(
        f"\ncontention: {len(outcomes)} calls on {SLOTS} slots through {PROCESSES} processes in "
        f"{elapsed:.1f} s: {dict(kinds)}, overlaps 0"
    )


FRESH_FILES = 80


def open_fresh_files(folder: str, barrier: Barrier, failures: Queue[str]) -> None:
    """Runs in a spawned process: opens the server state of each fresh file with the others."""
    from wix_meetings_mcp.server.audit import AuditTrail
    from wix_meetings_mcp.server.state import ServerState

    for i in range(FRESH_FILES):
        barrier.wait(30)
        try:
            state = ServerState(Path(folder) / f"{i}.db")
            state.secret()
            state.close()
            trail = AuditTrail(Path(folder) / f"{i}.db", lambda: datetime.now(UTC))
            trail.entries(1)
            trail.close()
        except Exception as exc:  # reported to the parent, which fails the test
            failures.put(f"file {i}: {exc!r}")


def test_servers_starting_together_on_a_fresh_file_all_open_it(tmp_path: Path) -> None:
    """Switching a new file to WAL is refused at once while another process reads it: retried."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(8)
    failures: Queue[str] = context.Queue()  # type: ignore[assignment]
    processes = [
        context.Process(target=open_fresh_files, args=(str(tmp_path), barrier, failures)) for _ in range(8)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    found = []
    while not failures.empty():
        found.append(failures.get())
    assert found == []
    assert all(process.exitcode == 0 for process in processes)
