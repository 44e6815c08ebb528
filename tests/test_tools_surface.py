"""The agent contract: tool names, which tools write, annotations, schemas, toolsets, read-only mode."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import FakeClock
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"
READS = {
    "get_account",
    "list_scheduling_links",
    "find_slots",
    "list_meetings",
    "get_meeting",
    "list_calendar_connections",
}
WRITES = {"book_meeting", "reschedule_meeting", "cancel_meeting", "deactivate_scheduling_link",
          "activate_scheduling_link", "connect_calendar", "update_calendar_sync"}  # fmt: skip


async def tools_of(db_path: Path, clock: FakeClock, mode: str = "auto", **settings: Any) -> dict[str, Any]:
    server = build_server(Settings(db=db_path, **settings), clock=clock)
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        return {t.name: t for t in (await client.list_tools()).tools}


async def test_default_toolsets_expose_exactly_the_contract(
    db_path: Path, clock: FakeClock, mode: str
) -> None:
    tools = await tools_of(db_path, clock, mode)
    assert set(tools) == READS | WRITES
    assert {n for n, t in tools.items() if t.annotations.read_only_hint} == READS
    assert {n for n, t in tools.items() if t.annotations.destructive_hint} == {"cancel_meeting"}
    assert {n for n, t in tools.items() if t.annotations.idempotent_hint} == READS | {
        "cancel_meeting", "deactivate_scheduling_link", "activate_scheduling_link",
        "update_calendar_sync"}  # fmt: skip
    for tool in tools.values():
        assert tool.title and tool.description and tool.output_schema, tool.name


async def test_read_only_mode_registers_only_reads(db_path: Path, clock: FakeClock) -> None:
    assert set(await tools_of(db_path, clock, read_only=True)) == READS


async def test_toolsets_select_tools(db_path: Path, clock: FakeClock) -> None:
    assert set(await tools_of(db_path, clock, toolsets="calendar")) == {
        "connect_calendar",
        "list_calendar_connections",
        "update_calendar_sync",
    }


async def test_hidden_parameters_stay_out_of_the_input_schema(db_path: Path, clock: FakeClock) -> None:
    tools = await tools_of(db_path, clock)
    cancel = tools["cancel_meeting"].input_schema["properties"]
    assert set(cancel) == {"meeting_id", "reason", "notify_attendee", "override_policy", "idempotency_key",
                           "confirmation_token", "time_zone"}  # fmt: skip
    assert tools["book_meeting"].input_schema["required"] == ["slot_id", "attendee"]


async def test_tool_list_matches_the_committed_snapshot(db_path: Path, clock: FakeClock) -> None:
    """Review a change of this file as a change of the public contract (UPDATE_SNAPSHOTS=1 rewrites it)."""
    tools = await tools_of(db_path, clock, toolsets="all")
    current = {
        name: tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name, tool in sorted(tools.items())
    }
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


@pytest.mark.parametrize("value", ["booking,nonsense", "admin;booking"])
def test_unknown_toolsets_fail_at_start_up(value: str) -> None:
    with pytest.raises(ValueError, match="unknown toolsets"):
        Settings(toolsets=value)
