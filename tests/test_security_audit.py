"""The audit trail: every write records who, what (secrets removed), when and the result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ToolAnnotations

from tests.conftest import Connect, FakeClock
from tests.test_reliability_contention import TOKEN, bookable_slots, server_env, servers
from tests.test_tools_booking import ANN, first_link
from tests.test_tools_confirm import Answer
from wix_meetings_mcp.server.audit import AuditEntry, AuditTrail, redact
from wix_meetings_mcp.server.http_auth import token_subject
from wix_meetings_mcp.tools.registry import CodedServer


def trail(db_path: Path) -> list[AuditEntry]:
    audit = AuditTrail(db_path, FakeClock())
    try:
        return list(reversed(audit.entries(1000)))  # oldest first
    finally:
        audit.close()


async def test_every_write_is_recorded_with_who_what_when_and_result(
    connect: Connect, db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    feed = tmp_path / "cal.ics"
    feed.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n")
    async with connect(plan="premium", confirm="token") as call:
        link = await first_link(call)
        slots = (await call("find_slots", link_id=link, from_date="2026-12-02"))["slots"]
        booked = await call(
            "book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN, idempotency_key="audit-key-1"
        )
        meeting_id = booked["meeting"]["meeting_id"]
        clock.advance(minutes=5)
        await call("reschedule_meeting", meeting_id=meeting_id, slot_id=slots[1]["slot_id"])
        token = (await call("cancel_meeting", meeting_id=meeting_id))["confirmation_token"]
        await call("cancel_meeting", meeting_id=meeting_id, confirmation_token=token)
        await call("activate_scheduling_link", link_id=link)
        await call("connect_calendar", provider="apple", email="me@icloud.example", password="pw-hunter2-secret",
                   ics_url=feed.as_uri())  # fmt: skip
        refused = await call.error(
            "book_meeting", slot_id="forged", attendee={"name": "Mallory", "email": "bad"}
        )
        assert refused.startswith("invalid_argument: ")
        assert (await call.error("book_meeting", slot_id="forged", attendee=ANN)).startswith("invalid_slot: ")
        for read in ("get_account", "list_meetings", "list_calendar_connections"):
            await call(read)

    entries = trail(db_path)
    assert [(e.tool, e.result, e.status) for e in entries] == [
        ("book_meeting", "ok", "confirmed"),
        ("reschedule_meeting", "ok", None),
        ("cancel_meeting", "ok", "confirmation_required"),
        ("cancel_meeting", "ok", "cancelled"),
        ("activate_scheduling_link", "ok", None),
        ("connect_calendar", "ok", "connected"),
        ("book_meeting", "invalid_argument", None),
        ("book_meeting", "invalid_slot", None),
    ]  # reads are not audited
    assert {e.caller for e in entries} == {"stdio"}
    assert entries[0].at.isoformat() == "2026-11-30T08:00:00+00:00"
    assert entries[1].at.isoformat() == "2026-11-30T08:05:00+00:00"
    what = [json.loads(e.arguments) for e in entries]
    assert what[0] == {"slot_id": slots[0]["slot_id"], "attendee": ANN, "idempotency_key": "audit-key-1"}
    assert what[3] == {"meeting_id": meeting_id, "confirmation_token": "[redacted]"}
    assert what[5]["password"] == "[redacted]" and what[5]["email"] == "me@icloud.example"
    assert what[5]["ics_url"] == "file:///[redacted]"  # a secret iCal address keeps its scheme and host only
    assert what[6] == {"slot_id": "<6 characters>", "attendee": "<dict>"}  # refused as invalid: shape only
    assert "pw-hunter2-secret" not in json.dumps([e.arguments for e in entries])


async def test_a_confirmation_asked_by_elicitation_is_recorded_as_asked_then_done(
    connect: Connect, db_path: Path, mode: str
) -> None:
    async with connect(elicitation_callback=Answer(confirm=True)) as call:
        slot = (await call("find_slots", link_id=await first_link(call), from_date="2026-12-03"))["slots"][0]
        meeting_id = (await call("book_meeting", slot_id=slot["slot_id"], attendee=ANN))["meeting"][
            "meeting_id"
        ]
        await call("cancel_meeting", meeting_id=meeting_id)
    cancels = [(e.result, e.status) for e in trail(db_path) if e.tool == "cancel_meeting"]
    # At 2026-07-28 the question is a result of its own (input_required) and the answer a second call.
    expected = [("ok", "cancelled")] if mode == "legacy" else [("input_required", None), ("ok", "cancelled")]
    assert cancels == expected


async def test_http_calls_are_recorded_under_the_tokens_subject_and_the_cli_prints_them(
    tmp_path: Path,
) -> None:
    db = tmp_path / "audited.db"
    with servers(tmp_path, db, 1) as (served,):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(served.url, http_client=http)) as client,
        ):
            slots = await bookable_slots(client, 2)
            for slot in slots:
                await client.call_tool("book_meeting", {"slot_id": slot["slot_id"], "attendee": ANN})
    printed = subprocess.run(
        [sys.executable, "-m", "wix_meetings_mcp", "audit", "--limit", "1"],
        env=server_env(db), capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert len(printed) == 1
    when, who, tool, outcome, arguments = printed[0].split("  ", 4)
    assert who == token_subject(TOKEN) and TOKEN not in printed[0]
    assert (tool, outcome) == ("book_meeting", "ok/confirmed")
    assert json.loads(arguments)["slot_id"] == slots[1]["slot_id"]  # newest first
    assert when.endswith("Z")
    assert [e.caller for e in trail(db)] == [token_subject(TOKEN)] * 2


def test_the_audit_command_says_so_when_there_is_no_database_and_refuses_a_bad_limit(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "none.db"
    done = subprocess.run(
        [sys.executable, "-m", "wix_meetings_mcp", "audit"],
        env=server_env(missing),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == "" and "no database" in done.stderr
    assert not missing.exists()
    bad = subprocess.run(
        [sys.executable, "-m", "wix_meetings_mcp", "audit", "--limit", "0"],
        env=server_env(missing), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "at least 1" in bad.stderr


def test_redaction_drops_secrets_at_any_depth_and_bounds_hostile_input() -> None:
    kept = redact({
        "password": "p", "confirmation_token": "t", "notes": {"api_key": "k", "Client-Secret": "s", "ok": "fine"},
        "guest_emails": ["a@b.co"] * 100, "name": "x" * 10_000, "odd": "\ud800", "ics_url": "http://[::1",
    })  # fmt: skip
    assert kept["password"] == kept["confirmation_token"] == "[redacted]"
    assert kept["notes"] == {"api_key": "[redacted]", "Client-Secret": "[redacted]", "ok": "fine"}
    assert len(kept["guest_emails"]) == 30 and len(kept["name"]) < 300
    assert kept["odd"] == "?" and kept["ics_url"] == "[redacted]"
    json.dumps(kept).encode()


async def test_a_failing_audit_store_never_fails_the_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        async def record(self, tool: str, arguments: Any, result: str, status: str | None) -> None:
            raise OSError("disk full")

    server = CodedServer("t", audit=Broken())

    async def write_something(value: str) -> str:
        return value.upper()

    server.add_tool(write_something, annotations=ToolAnnotations(read_only_hint=False))
    async with Client(server) as client:
        result = await client.call_tool("write_something", {"value": "kept"})
    assert not result.is_error and "KEPT" in result.content[0].text  # type: ignore[union-attr]
    assert "could not record the write_something call" in caplog.text
