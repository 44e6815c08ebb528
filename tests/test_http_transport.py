"""Streamable HTTP: a bearer token is required, loopback is the default, and the tools work."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import Caller

TOKEN = "test-token-" + "x" * 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")}
    return env | {"MEETINGS_DB": str(tmp_path / "http.db"), "MEETINGS_TIME_ZONE": "Europe/Berlin"} | extra


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wix_meetings_mcp", "--transport", "http", "--port", str(port)],
        env=server_env(tmp_path, MEETINGS_HTTP_TOKEN=TOKEN),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_http_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wix_meetings_mcp", "--transport", "http", "--port", str(free_port())],
        env=server_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "MEETINGS_HTTP_TOKEN" in done.stderr


def test_requests_without_the_right_token_get_401_with_a_challenge(http_server: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = httpx.post(
            http_server, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer ")
        assert TOKEN not in response.text


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_agent_with_the_token_books_over_http(http_server: str, mode: str, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with anyio.fail_after(30):
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(http_server, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
        ):
            call = Caller(client)
            link = (await call("list_scheduling_links"))["links"][0]["link_id"]
            slot = (await call("find_slots", link_id=link))["slots"][0]["slot_id"]
            booked = await call(
                "book_meeting", slot_id=slot, attendee={"name": "Web", "email": "web@example.com"}
            )
            assert booked["status"] == "confirmed"
            feed = tmp_path / "cal.ics"
            feed.write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
            refused = await call.error("connect_calendar", provider="google", ics_url=feed.as_uri())
            assert refused.startswith("invalid_argument: ") and "stdio" in refused


async def test_the_scheduling_pages_need_no_token_and_local_links_point_at_them(http_server: str) -> None:
    base = http_server.removesuffix("/mcp")
    page = httpx.get(f"{base}/book/30-minute-meeting")
    assert page.status_code == 200 and "30 Minute Meeting" in page.text
    assert httpx.post(http_server, json={}).status_code == 401  # /mcp keeps its token
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with anyio.fail_after(30):
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(http_server, http_client=http)) as client,
        ):
            links = (await Caller(client)("list_scheduling_links"))["links"]
    assert links[0]["booking_url"] == f"{base}/book/30-minute-meeting"
