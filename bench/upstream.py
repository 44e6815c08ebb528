"""Upstream cost: remote API calls each tool makes on the Wix and meetergo backends.

Runs the agent loop through MCP against the fakes in tests/fakes (the same ones the tests use)
and counts the requests each tool call sends, cold (first call) and warm (repeated). The floor is
one call: a tool cannot answer from the remote system with fewer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client

from bench.config import Config
from bench.report import Section
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

Count = Callable[[], int]
ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}


@asynccontextmanager
async def _wix(cfg: Config) -> AsyncIterator[tuple[Client, Count]]:
    from tests.fakes.wix_setup import wix_world

    async with wix_world() as world:
        server = build_server(
            Settings(db=cfg.workdir / "wix.db", confirm="off"), backend=world.backend, clock=world.clock
        )
        async with Client(server) as client:
            yield client, lambda: len(world.fake.calls)


@asynccontextmanager
async def _meetergo(cfg: Config) -> AsyncIterator[tuple[Client, Count]]:
    from tests._meetergo import open_world
    from tests.conftest import FakeClock

    clock = FakeClock()
    async with open_world(clock) as world:
        server = build_server(
            Settings(db=cfg.workdir / "meetergo.db", confirm="off"), backend=world.backend, clock=clock
        )
        async with Client(server) as client:
            yield client, lambda: sum(world.fake.calls.values())


async def _measure(section: Section, backend: str, client: Client, count: Count) -> None:
    async def call(tool: str, **args: Any) -> tuple[dict[str, Any], int]:
        before = count()
        result = await client.call_tool(tool, args)
        if result.is_error:
            raise RuntimeError(f"{backend} {tool}: {result.content[0].text}")  # type: ignore[union-attr]
        return result.structured_content or {}, count() - before

    async def twice(tool: str, **args: Any) -> dict[str, Any]:
        first, cold = await call(tool, **args)
        _, warm = await call(tool, **args)
        section.add(backend, tool, cold, warm, _verdict(section, backend, tool, warm, "repeated"))
        return first

    await twice("get_account")
    link = (await twice("list_scheduling_links"))["links"][0]["link_id"]
    slots = (await twice("find_slots", link_id=link, from_date="2026-12-02"))["slots"]  # past the 24 h window
    _, booked = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ADA)
    meeting = (await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ADA))[0]["meeting"]
    section.add(
        backend, "book_meeting", booked, None, _verdict(section, backend, "book_meeting", booked, "first")
    )
    await twice("get_meeting", meeting_id=meeting["meeting_id"])
    await twice("list_meetings")
    _, moved = await call("reschedule_meeting", meeting_id=meeting["meeting_id"], slot_id=slots[2]["slot_id"])
    section.add(backend, "reschedule_meeting", moved, None, "")
    await twice("cancel_meeting", meeting_id=meeting["meeting_id"])
    await twice("list_calendar_connections")


def _verdict(section: Section, backend: str, tool: str, calls: int, when: str) -> str:
    limit = {"find_slots": 1, "book_meeting": 3}.get(tool)
    if limit is None:
        return ""
    return section.check(f"remote calls, {backend} {tool} ({when})", calls, limit, "calls")


async def run(cfg: Config) -> list[Section]:
    section = Section(
        name="upstream",
        title="Upstream cost: remote API calls per tool call (fakes of Wix and meetergo)",
        columns=["backend", "tool", "calls, first", "calls, repeated", "check"],
        notes=[
            "find_slots warm: target 1 call; book_meeting (a free meeting, premium site): at most 3. "
            "book_meeting repeated is the natural dedupe of the same booking; cancel repeated is a no-op.",
        ],
    )
    for backend, opened in (("wix", _wix), ("meetergo", _meetergo)):
        async with opened(cfg) as (client, count):
            await _measure(section, backend, client, count)
    return [section]
