"""The two servers under test: their settings, starting them as real processes, their memory.

meetings-mcp runs as `python -m wix_meetings_mcp` on a temporary database (premium plan, so the free
plan's three-meeting limit never stops a benchmark); the floor runs as `bench/echo_server.py`.
HTTP servers bind 127.0.0.1 only. Memory comes from /proc (Linux); elsewhere it is reported
as unknown rather than guessed.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from wix_meetings_mcp.server.settings import Settings

ECHO_SCRIPT = Path(__file__).with_name("echo_server.py")
TIME_ZONE = "Europe/Berlin"
LOOPBACK = "127.0.0.1"


def in_process_settings(db: Path | str) -> Settings:
    """What `meetings_env` says, for servers built in this process; no .env file is read."""
    return Settings(
        _env_file=None,
        backend="local",
        db=db,
        time_zone=TIME_ZONE,
        plan="premium",
        toolsets="booking,calendar",
        read_only=False,
    )


def meetings_env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")}
    return env | {"MEETINGS_DB": str(db), "MEETINGS_TIME_ZONE": TIME_ZONE, "MEETINGS_PLAN": "premium"} | extra


def meetings_stdio(workdir: Path, db_name: str = "stdio.db") -> StdioServerParameters:
    # cwd is the work dir so that no .env file of the checkout leaks into the settings.
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "wix_meetings_mcp"],
        env=meetings_env(workdir / db_name),
        cwd=workdir,
    )


def echo_stdio(workdir: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[str(ECHO_SCRIPT)], cwd=workdir)


@asynccontextmanager
async def stdio_session(params: StdioServerParameters, log: Path) -> AsyncIterator[Client]:
    """A client of a spawned stdio server whose stderr goes to `log`, not into the bench's output.

    Both servers log at their default level (one line per call for meetings-mcp, the SDK's request
    lines for echo): that is part of what they cost, but the lines are not for the reader.
    """
    with log.open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def http_server(command: list[str], env: dict[str, str], cwd: Path, port: int) -> AsyncIterator[int]:
    """Start an HTTP server on 127.0.0.1:`port`, wait (at most 60 s) until it accepts, yield its pid."""
    log = cwd / f"server-{port}.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection((LOOPBACK, port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{command[1:]} did not listen on {port}:\n{tail}") from None
                await anyio.sleep(0.05)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@asynccontextmanager
async def meetings_http(
    workdir: Path, db_name: str = "http.db", *, db_url: str | None = None, token: str | None = None
) -> AsyncIterator[tuple[str, str, int]]:
    """(url, bearer token, pid) of `meetings-mcp --transport http` on a fresh database file, or on
    `db_url` (PostgreSQL: replicas share it, and a `token`)."""
    port, token = free_port(), token or secrets.token_urlsafe(24)
    # The per-token rate limit stays in the request path but is raised out of reach: one benchmark
    # client makes thousands of calls a minute, far beyond the default brake of 600.
    env = meetings_env(workdir / db_name, MEETINGS_HTTP_TOKEN=token, MEETINGS_HTTP_RATE_LIMIT=str(10**9))
    if db_url is not None:
        env["MEETINGS_DB"] = db_url
    command = [
        sys.executable,
        "-m",
        "wix_meetings_mcp",
        "--transport",
        "http",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    async with http_server(command, env, workdir, port) as pid:
        yield f"http://{LOOPBACK}:{port}/mcp", token, pid


@asynccontextmanager
async def echo_http(workdir: Path) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    command = [sys.executable, str(ECHO_SCRIPT), "--transport", "http", "--port", str(port)]
    async with http_server(command, dict(os.environ), workdir, port) as pid:
        yield f"http://{LOOPBACK}:{port}/mcp", pid


def new_child(before: set[int]) -> int | None:
    """The one child process started since `before` was taken, if it can be told."""
    started = children() - before
    return started.pop() if len(started) == 1 else None


def children() -> set[int]:
    """Pids of this process's direct children (the stdio client spawns servers as children)."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces or parentheses; the fields after the last ")" do not.
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            found.add(int(entry.parent.name))
    return found


def memory_kib(pid: int | None) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a live process in KiB; empty where /proc is not there."""
    if pid is None:
        return {}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far; None where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # Fields 14 and 15 of stat (utime, stime), counted after the command name's closing ")".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
