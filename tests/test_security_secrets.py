"""No secret leaks: a full run with known secret values, then every output is scanned for them.

Real server processes on each backend (local; Wix and meetergo with their fakes served on
loopback and the API keys given as settings) run whole agent sessions, including wrong
credentials and refused calls. Every tool result, error text, 401 answer, the servers' logs,
`meetings-mcp audit` and the bytes of each SQLite file are then searched for the HTTP token, the
Apple app-specific passwords and the API keys. A calendar's secret iCal address is a credential
too: the local engine must keep it to refresh busy times, so it may sit in its calendar table and
nowhere else.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.fakes.meetergo import FakeMeetergo
from tests.fakes.wix import FakeWix
from tests.fakes.wix_calendars import WRONG_PASSWORD
from tests.test_reliability_contention import Served, bookable_slots, server_env, servers

pytestmark = pytest.mark.slow

HTTP_TOKEN = "secret-http-token-Tq8LmZ2vRk4pXw9s"
APPLE_PASSWORD = "abcd-efgh-ijkl-SECRETapple"
WIX_KEY = "IST.secret-wix-key-Hc3Nq7Vb1Ld5"
WIX_WRONG_KEY = "IST.secret-wrong-wix-key-Pz6Yt0"
MEETERGO_KEY = "rgo-secret-meetergo-key-Jf2Ks8Dw4Gm"
ICS_SECRET = "private-7a1c9e5b3d2f4a6c"  # the path part that makes an iCal address secret
SECRETS = [HTTP_TOKEN, APPLE_PASSWORD, WRONG_PASSWORD, WIX_KEY, WIX_WRONG_KEY, MEETERGO_KEY]
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n"
Handler = Callable[[httpx.Request], httpx.Response]


@contextmanager
def serve_on_loopback(handler: Handler) -> Iterator[str]:
    """A handler (an httpx MockTransport fake) served over real HTTP on 127.0.0.1."""
    lock = threading.Lock()

    class Bridge(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = httpx.Request(
                self.command, f"http://127.0.0.1{self.path}", headers=dict(self.headers), content=body
            )
            with lock:
                response = handler(request)
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bridge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def ics_feed(request: httpx.Request) -> httpx.Response:
    if request.url.path == f"/{ICS_SECRET}/basic.ics":
        return httpx.Response(200, text=ICS, headers={"content-type": "text/calendar"})
    return httpx.Response(404)


class Transcript:
    """Everything the agent and the operator got to see."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, result: CallToolResult) -> CallToolResult:
        self.texts += [getattr(c, "text", "") for c in result.content]
        self.texts.append(json.dumps(result.structured_content))
        return result


async def agent_session(url: str, seen: Transcript, calendar_calls: list[dict[str, Any]]) -> None:
    """A whole conversation: book, read, reschedule, cancel (confirmed), links, calendars."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN}"}, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):

        async def call(tool: str, **args: Any) -> CallToolResult:
            return seen.add(await client.call_tool(tool, args))

        await call("get_account")
        link = (await call("list_scheduling_links")).structured_content["links"][0]["link_id"]  # type: ignore[index]
        slots = await bookable_slots(client, 3)
        booked = await call(
            "book_meeting", slot_id=slots[0]["slot_id"], attendee={"name": "Ada", "email": "ada@example.com"},
            notes={"utm_source": "voice"}, idempotency_key="secrets-run-1",
        )  # fmt: skip
        assert not booked.is_error, booked.content
        meeting_id = booked.structured_content["meeting"]["meeting_id"]  # type: ignore[index]
        await call("get_meeting", meeting_id=meeting_id)
        await call("list_meetings", status="all")
        await call(
            "reschedule_meeting", meeting_id=meeting_id, slot_id=slots[1]["slot_id"], override_policy=True
        )
        asked = await call("cancel_meeting", meeting_id=meeting_id, override_policy=True)
        token = (asked.structured_content or {}).get("confirmation_token")
        await call("cancel_meeting", meeting_id=meeting_id, override_policy=True, confirmation_token=token)
        asked = await call("deactivate_scheduling_link", link_id=link)
        token = (asked.structured_content or {}).get("confirmation_token")
        await call("deactivate_scheduling_link", link_id=link, confirmation_token=token)
        await call("activate_scheduling_link", link_id=link)
        for args in calendar_calls:
            await call("connect_calendar", **args)
        # Credentials in the wrong places are refused without being repeated.
        refused = await call(
            "connect_calendar", provider="apple", email=APPLE_PASSWORD, password=APPLE_PASSWORD * 20
        )
        assert refused.is_error and refused.content[0].text.startswith("invalid_argument: ")  # type: ignore[union-attr]
        await call("list_calendar_connections")


def audit_output(db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "wix_meetings_mcp", "audit", "--limit", "500"],
        env=server_env(db), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout + done.stderr


def database_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def tables_except(db: Path, kept: str) -> str:
    """Every row of every table but `kept`, as text."""
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(conn.execute(f"SELECT * FROM {n}").fetchall()) for n in names if n != kept)


def unauthorized_answers(served: Served) -> list[str]:
    answers = []
    for given in (HTTP_TOKEN[:-1], HTTP_TOKEN + "x", HTTP_TOKEN.upper(), f"Basic {HTTP_TOKEN}"):
        header = given if given.startswith("Basic") else f"Bearer {given}"
        response = httpx.post(
            served.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Authorization": header}
        )
        assert response.status_code == 401
        answers.append(response.text + json.dumps(dict(response.headers)))
    return answers


def leaks(haystacks: dict[str, str | bytes], secrets: list[str]) -> list[str]:
    found = []
    for where, text in haystacks.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
        found += [f"{secret!r} in {where}" for secret in secrets if secret.encode() in data]
    return found


async def test_no_secret_reaches_results_errors_logs_audit_or_the_database(tmp_path: Path) -> None:
    now = lambda: datetime.now(UTC)  # noqa: E731  the fakes' clock, like the servers'
    wix = FakeWix(clock=now, api_key=WIX_KEY)
    wix.add_service(wix.add_host())
    meetergo = FakeMeetergo(now=now, api_key=MEETERGO_KEY)
    meetergo.add_meeting_type(
        "Intro call", user_id=meetergo.add_user("Hanna Host", "hanna@example.com", owner=True)
    )
    seen = Transcript()
    outputs: dict[str, str | bytes] = {}
    apple = {"provider": "apple", "email": "host@icloud.example", "password": APPLE_PASSWORD}

    with (
        serve_on_loopback(ics_feed) as feeds,
        serve_on_loopback(wix) as wix_url,
        serve_on_loopback(meetergo) as mg_url,
    ):
        runs = {
            # The loopback feed stands in for a public calendar, so its address is allowed.
            "local": ({"MEETINGS_ALLOWED_PRIVATE_HOSTS": "127.0.0.1"},
                      [apple, {**apple, "ics_url": f"{feeds}/{ICS_SECRET}/basic.ics"},
                       {"provider": "google", "ics_url": f"{feeds}/{ICS_SECRET}/missing.ics"}]),
            "wix": ({"MEETINGS_BACKEND": "wix", "WIX_API_KEY": WIX_KEY, "WIX_SITE_ID": wix.site_id,
                     "WIX_API_BASE_URL": wix_url},
                    [apple, {**apple, "password": WRONG_PASSWORD},
                     {"provider": "google", "redirect_url": "https://example.com/done"}]),
            "meetergo": ({"MEETINGS_BACKEND": "meetergo", "MEETERGO_API_KEY": MEETERGO_KEY,
                          "MEETERGO_API_BASE_URL": mg_url}, [apple]),
        }  # fmt: skip
        for name, (env, calendar_calls) in runs.items():
            where = tmp_path / name
            where.mkdir()
            db = where / "state.db"
            with servers(where, db, 1, MEETINGS_HTTP_TOKEN=HTTP_TOKEN, **env) as (served,):
                await agent_session(served.url, seen, calendar_calls)
                outputs[f"{name}: 401 answers"] = "\n".join(unauthorized_answers(served))
            outputs[f"{name}: server log"] = served.log.read_text()
            outputs[f"{name}: audit"] = audit_output(db)
            outputs[f"{name}: database"] = database_bytes(db)
        # Wrong credentials: the backend refuses them, and still nothing repeats the key.
        where = tmp_path / "wrong-key"
        where.mkdir()
        env = {
            "MEETINGS_BACKEND": "wix",
            "WIX_API_KEY": WIX_WRONG_KEY,
            "WIX_SITE_ID": wix.site_id,
            "WIX_API_BASE_URL": wix_url,
        }
        with servers(where, where / "state.db", 1, MEETINGS_HTTP_TOKEN=HTTP_TOKEN, **env) as (served,):
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN}"}) as http,
                Client(streamable_http_client(served.url, http_client=http)) as client,
            ):
                refused = seen.add(await client.call_tool("get_account", {}))
        assert refused.content[0].text.startswith("auth_failed: ")  # type: ignore[union-attr]
        outputs["wrong key: server log"] = served.log.read_text()

    outputs["tool results"] = "\n".join(seen.texts)
    found = leaks(outputs, SECRETS)
    assert found == [], "\n".join(found)
    # The secret iCal address: kept by the local engine to refresh busy times, shown to nobody.
    assert leaks({k: v for k, v in outputs.items() if not k.endswith("database")}, [ICS_SECRET]) == []
    assert ICS_SECRET not in tables_except(tmp_path / "local" / "state.db", kept="calendar_connections")
    # The run did reach the places a leak would show.
    transcript = outputs["tool results"]
    assert '"status":"connected"' in transcript and "auth_failed: " in transcript
    assert "not_supported: " in transcript and "authorization_required" in transcript
    assert '"password":"[redacted]"' in str(outputs["local: audit"]) and "token:" in str(
        outputs["local: audit"]
    )
    assert os.environ.get("MEETINGS_HTTP_TOKEN") != HTTP_TOKEN
