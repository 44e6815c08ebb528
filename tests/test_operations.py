"""Running it as a service: a log line per tool call, JSON logs, audit retention and `audit --json`,
and errors that name the ways out of the first-run traps."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from tests.conftest import Connect, FakeClock
from tests.test_tools_booking import ANN, first_link
from wix_meetings_mcp.server.audit import AuditTrail
from wix_meetings_mcp.server.logs import JsonFormatter


async def test_each_tool_call_logs_one_line_with_code_and_duration_and_no_personal_data(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wix_meetings_mcp.calls")
    async with connect() as call:
        slot = (await call("find_slots", link_id=await first_link(call)))["slots"][0]["slot_id"]
        await call("book_meeting", slot_id=slot, attendee=ANN)
        await call.error("get_meeting", meeting_id="nope")
    lines = [r for r in caplog.records if r.name == "wix_meetings_mcp.calls"]
    assert [(r.tool, r.code) for r in lines] == [  # type: ignore[attr-defined]
        ("list_scheduling_links", "ok"),
        ("find_slots", "ok"),
        ("book_meeting", "ok"),
        ("get_meeting", "not_found"),
    ]
    assert all(isinstance(r.duration_ms, float) for r in lines)  # type: ignore[attr-defined]
    text = " ".join(JsonFormatter().format(r) for r in lines)
    assert ANN["email"] not in text and ANN["name"] not in text
    assert json.loads(JsonFormatter().format(lines[2]))["status"] == "confirmed"


def test_audit_rows_older_than_the_retention_are_dropped(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "audit.db"
    trail = AuditTrail(db, clock, retention=timedelta(days=90))
    anyio.run(trail.record, "cancel_meeting", {"meeting_id": "old"}, "ok", "cancelled")
    trail.close()
    clock.advance(days=91)
    anyio.run(AuditTrail(db, clock, retention=timedelta(days=90)).record, "book_meeting", {}, "ok", None)
    kept = AuditTrail(db, clock, retention=timedelta(days=90))
    assert [e.tool for e in kept.entries(10)] == ["book_meeting"]
    kept.close()


def test_audit_json_prints_one_object_per_line(tmp_path: Path, clock: FakeClock) -> None:
    import anyio

    db = tmp_path / "audit.db"
    trail = AuditTrail(db, clock)
    anyio.run(
        trail.record,
        "cancel_meeting",
        {"meeting_id": "m1", "confirmation_token": "s3cret"},
        "ok",
        "cancelled",
    )
    trail.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")} | {
        "MEETINGS_DB": str(db),
        "MEETINGS_AUDIT_RETENTION_DAYS": "36500",  # the fake clock's rows are in the past
    }
    out = subprocess.run(
        [sys.executable, "-m", "wix_meetings_mcp", "audit", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path,
    ).stdout.splitlines()  # fmt: skip
    entry = json.loads(out[0])
    assert entry["tool"] == "cancel_meeting" and entry["status"] == "cancelled"
    assert entry["arguments"] == {"meeting_id": "m1", "confirmation_token": "[redacted]"}


async def test_the_free_plan_error_on_local_names_the_setting_and_reset(connect: Connect) -> None:
    async with connect() as call:
        link = await first_link(call)
        slots = (await call("find_slots", link_id=link, limit=4))["slots"]
        for slot in slots[:3]:
            await call(
                "book_meeting",
                slot_id=slot["slot_id"],
                attendee=ANN | {"email": f"{slot['start'][11:13]}@x.org"},
            )
        refused = await call.error("book_meeting", slot_id=slots[3]["slot_id"], attendee=ANN)
    assert refused.startswith("plan_limit_reached:")
    assert "MEETINGS_PLAN=premium" in refused and "meetings-mcp reset --yes" in refused


async def test_the_policy_error_names_override_policy(connect: Connect, clock: FakeClock) -> None:
    async with connect() as call:
        slot = (await call("find_slots", link_id=await first_link(call)))["slots"][0]
        meeting = (await call("book_meeting", slot_id=slot["slot_id"], attendee=ANN))["meeting"]
        refused = await call.error("cancel_meeting", meeting_id=meeting["meeting_id"])
    assert refused.startswith("policy_violation:") and "override_policy=true" in refused
