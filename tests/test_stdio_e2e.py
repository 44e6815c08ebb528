"""End to end over real stdio: the official client spawns the installed `meetings-mcp` command."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import Caller


def server_command() -> tuple[str, list[str]]:
    script = shutil.which("meetings-mcp", path=str(Path(sys.executable).parent))
    return (script, []) if script else (sys.executable, ["-m", "wix_meetings_mcp"])


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_agent_books_over_stdio(tmp_path: Path, mode: str) -> None:
    command, args = server_command()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")}
    env.update({"MEETINGS_DB": str(tmp_path / "e2e.db"), "MEETINGS_TIME_ZONE": "America/New_York"})
    params = StdioServerParameters(command=command, args=args, env=env, cwd=tmp_path)
    with anyio.fail_after(60):
        async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
            call = Caller(client)
            assert (await call("get_account"))["business"]["time_zone"] == "America/New_York"
            link = (await call("list_scheduling_links"))["links"][0]["link_id"]
            slots = (await call("find_slots", link_id=link))["slots"]
            booked = await call(
                "book_meeting", slot_id=slots[0]["slot_id"], attendee={"name": "Eve", "phone": "+12125550100"}
            )
            assert booked["status"] == "confirmed"
            assert booked["meeting"]["when"].endswith(", New York time")
            assert (await call.error("find_slots", link_id=link, time_zone="Bogus/Zone")).startswith(
                "invalid_argument:"
            )
