"""Start-up failures a person can cause: one line on stderr, a non-zero exit code, no traceback.

Each case runs the real command in a subprocess, as a new user would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from wix_meetings_mcp import __version__

TOKEN = "t" * 40


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")}
    return subprocess.run(
        [sys.executable, "-m", "wix_meetings_mcp", *args],
        env=base | {"MEETINGS_DB": str(tmp_path / "m.db")} | env,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_database_path_that_is_a_directory_is_named_with_the_fix(tmp_path: Path) -> None:
    result = run(tmp_path, MEETINGS_DB=str(tmp_path))
    assert one_line_error(result) == (
        f"meetings-mcp: MEETINGS_DB {tmp_path} is a directory; give a file path such as {tmp_path / 'meetings.db'}"
    )


def test_a_file_that_is_not_a_database_is_refused_by_path(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("shopping list\n" * 200)
    result = run(tmp_path, MEETINGS_DB=str(tmp_path / "notes.txt"))
    assert one_line_error(result) == (
        f"meetings-mcp: MEETINGS_DB {tmp_path / 'notes.txt'} is not a meetings-mcp database "
        "(not SQLite, or damaged); point MEETINGS_DB at another file"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere, so a read-only folder cannot be shown")
def test_an_unwritable_database_folder_is_refused_by_path(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run(tmp_path, MEETINGS_DB=str(locked / "m.db"))
    assert one_line_error(result) == (
        f"meetings-mcp: MEETINGS_DB {locked / 'm.db'} cannot be written (permission denied); choose a writable path"
    )


def test_an_unwritable_database_file_is_refused_by_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    # A path under a regular file cannot be created by anyone, root included.
    result = run(tmp_path, MEETINGS_DB=str(blocker / "m.db"))
    assert one_line_error(result).startswith(f"meetings-mcp: MEETINGS_DB {blocker / 'm.db'} ")


def test_a_typo_in_dotenv_stops_the_server_instead_of_starting_on_the_free_plan(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MEETINGS_PLANS=premium\n")
    result = run(tmp_path)
    assert one_line_error(result) == (
        "meetings-mcp: unknown settings MEETINGS_PLANS in .env (see the README's configuration table)"
    )


def test_a_typo_in_the_environment_stops_the_server(tmp_path: Path) -> None:
    result = run(tmp_path, MEETINGS_TIMEZONE="Europe/Berlin")
    assert one_line_error(result) == (
        "meetings-mcp: unknown settings MEETINGS_TIMEZONE in the environment (see the README's configuration table)"
    )


def test_a_port_out_of_range_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path, "--transport", "http", "--port", "99999", MEETINGS_HTTP_TOKEN=TOKEN)
    assert one_line_error(result) == "meetings-mcp: error: argument --port: 99999 is not a port (1 to 65535)"


def test_a_port_without_http_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path, "--port", "8123")
    assert (
        one_line_error(result)
        == "meetings-mcp: --host and --port need --transport http (stdio has no address)"
    )


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, "--transport", "http", "--port", str(port), MEETINGS_HTTP_TOKEN=TOKEN)
    assert one_line_error(result) == (
        f"meetings-mcp: port {port} on 127.0.0.1 is already in use; stop the other server or choose another --port"
    )


@pytest.mark.parametrize("token", ["", "short-token"])
def test_an_empty_or_short_http_token_is_refused(tmp_path: Path, token: str) -> None:
    result = run(tmp_path, "--transport", "http", MEETINGS_HTTP_TOKEN=token)
    line = one_line_error(result)
    if token:
        assert line.startswith("meetings-mcp: MEETINGS_HTTP_TOKEN is too short (11 characters; at least 32)")
    else:
        assert line.startswith("meetings-mcp: MEETINGS_HTTP_TOKEN must be set to serve HTTP")


def test_version_and_doctor_on_a_fresh_default_set_up(tmp_path: Path) -> None:
    assert run(tmp_path, "--version").stdout.strip() == f"meetings-mcp {__version__}"
    doctor = run(tmp_path, "doctor", MEETINGS_DB=str(tmp_path / "new" / "m.db"))
    assert doctor.returncode == 0, doctor.stdout
    assert all(line.startswith("ok ") for line in doctor.stdout.splitlines()[1:])
    assert (
        "database:" in doctor.stdout and "time zone:" in doctor.stdout and "backend: local" in doctor.stdout
    )
    assert not (tmp_path / "new" / "m.db").exists()  # the doctor looks, it does not create


def test_doctor_names_the_fix_and_fails_on_a_bad_database(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_text("not sqlite" * 100)
    doctor = run(tmp_path, "doctor", MEETINGS_DB=str(tmp_path / "bad.db"))
    assert doctor.returncode == 1
    assert "FIX  database: MEETINGS_DB" in doctor.stdout and "not a meetings-mcp database" in doctor.stdout


def test_reset_needs_yes_then_starts_the_database_over(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    assert (tmp_path / "m.db").exists()
    refused = run(tmp_path, "reset")
    assert "run `meetings-mcp reset --yes`" in one_line_error(refused)
    assert (tmp_path / "m.db").exists()
    done = run(tmp_path, "reset", "--yes")
    assert done.returncode == 0 and not (tmp_path / "m.db").exists()


def test_migrate_reports_each_schema(tmp_path: Path) -> None:
    first = run(tmp_path, "migrate")
    again = run(tmp_path, "migrate")
    assert (
        first.returncode == 0
        and "server schema at version" in first.stdout
        and "engine schema" in first.stdout
    )
    assert "(0 applied now)" in again.stdout and "(0 applied now)" not in first.stdout


def test_http_probes_bearer_in_any_case_start_line_and_quiet_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wix_meetings_mcp"],
        env=base
        | {
            "MEETINGS_DB": str(tmp_path / "m.db"),
            "MEETINGS_HTTP_TOKEN": TOKEN,
            "MEETINGS_TRANSPORT": "http",
            "MEETINGS_HTTP_PORT": str(port),
        },
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        headers = {"accept": "application/json, text/event-stream"}
        for scheme in ("Bearer", "bearer", "BEARER"):
            answer = httpx.post(
                f"http://127.0.0.1:{port}/mcp",
                json=init,
                headers=headers | {"authorization": f"{scheme} {TOKEN}"},
            )
            assert answer.status_code == 200, scheme
        assert httpx.post(f"http://127.0.0.1:{port}/mcp", json=init, headers=headers).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    assert "Traceback" not in stderr
    start = next(line for line in stderr.splitlines() if "serving" in line)
    assert (
        f"serving http://127.0.0.1:{port}/mcp · backend local · plan free · database {tmp_path / 'm.db'}"
        in start
    )
    assert TOKEN not in stderr


def test_ctrl_c_on_stdio_stops_at_once_without_a_traceback(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wix_meetings_mcp"],
        env=base | {"MEETINGS_DB": str(tmp_path / "m.db")},
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert "serving stdio" in proc.stderr.readline()  # up and waiting for a client
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode in (0, 130)  # 130 when the signal lands before the SDK takes over stdio
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


def test_the_http_listener_is_a_tcp_socket_so_answers_are_not_held_back_by_nagle() -> None:
    # asyncio turns on TCP_NODELAY only for accepted sockets whose protocol says TCP; with protocol 0
    # every HTTP answer waited about 40 ms for a delayed ACK.
    from wix_meetings_mcp.server.cli import _listen

    listener = _listen("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP
    finally:
        listener.close()
