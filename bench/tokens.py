"""Context cost: what an agent pays in tokens for the tool list and for typical results.

Sizes are of the JSON as it goes on the wire (camelCase, nulls left out, compact separators),
counted in characters; tokens are estimated as characters / 4 unless `tiktoken` is importable
(bytes/4 is within ~15% of real BPE counts). Results are measured in memory on a fresh
database with a fixed clock, so the numbers repeat from run to run. The compact-text saving
compares the text twin meetings-mcp sends (compact, without nulls) with the SDK's default
rendering of the same structuredContent (`pydantic_core.to_json(..., indent=2)`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from mcp import Client
from mcp.types import CallToolResult

from bench.config import Config
from bench.report import Section
from bench.servers import in_process_settings
from wix_meetings_mcp.server.app import build_server

# Monday 30 November 2026, 08:00 UTC (09:00 in Berlin), as in the tests: a working week ahead.
MONDAY_MORNING = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# Issue 12's budgets, the same as tests/test_agent_fitness.py holds (KiB of JSON characters).
TOOLS_LIST_LIMIT = 12.0  # the whole default tools/list answer, output schemas and annotations included
MODEL_READ_LIMIT = 7.0  # what a model reads of it: names, descriptions and input schemas
FIND_SLOTS_LIMIT = 2.5  # the text of a default find_slots page (7 days, 10 slots)


def _token_counter() -> tuple[Callable[[str], int], str]:
    try:
        import tiktoken  # type: ignore[import-not-found]  # optional, not a dependency

        encoding = tiktoken.get_encoding("cl100k_base")
        return lambda text: len(encoding.encode(text)), "tiktoken cl100k_base"
    except Exception:  # not installed, or its encoding file cannot be fetched offline
        return lambda text: round(len(text) / 4), "chars/4 (tiktoken not available)"


count_tokens, ESTIMATE = _token_counter()


def wire(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def kib(text: str) -> float:
    """Characters in KiB, as the byte budgets in the tests count them."""
    return round(len(text) / 1024, 2)


async def run(cfg: Config) -> list[Section]:
    settings = in_process_settings(cfg.workdir / "tokens.db")
    async with Client(build_server(settings, clock=lambda: MONDAY_MORNING)) as client:
        listing = await client.list_tools()
        results = await typical_results(client)
    return [
        tool_list(listing.model_dump(by_alias=True, mode="json", exclude_none=True)),
        result_sizes(results),
    ]


def tool_list(payload: dict[str, Any]) -> Section:
    columns = [
        "tool",
        "entry chars",
        "~tokens",
        "description",
        "inputSchema",
        "outputSchema",
        "target",
        "check",
    ]
    table = Section("tools_list", "Context cost of tools/list (default toolsets booking, calendar)", columns)
    tools = payload["tools"]
    for tool in tools:
        entry = wire(tool)
        table.add(
            tool["name"],
            len(entry),
            count_tokens(entry),
            len(tool.get("description", "")),
            len(wire(tool.get("inputSchema", {}))),
            len(wire(tool.get("outputSchema", {}))),
            "",
            "",
        )
    whole = wire(payload)
    size = len(whole.encode())
    read = "".join(wire({k: t[k] for k in ("name", "description", "inputSchema") if k in t}) for t in tools)
    table.add(
        f"whole answer ({len(tools)} tools)", len(whole), count_tokens(whole), None, None, None,
        f"≤ {TOOLS_LIST_LIMIT:g} KiB", table.check("tools/list, default toolsets", kib(whole), TOOLS_LIST_LIMIT, "KiB"),
    )  # fmt: skip
    table.add(
        "what a model reads (names, descriptions, inputSchemas)", len(read), count_tokens(read), None, None, None,
        f"≤ {MODEL_READ_LIMIT:g} KiB", table.check("what a model reads of tools/list", kib(read), MODEL_READ_LIMIT, "KiB"),
    )  # fmt: skip
    titles, nullables = schema_overhead([[t.get("inputSchema"), t.get("outputSchema")] for t in tools])
    outputs = sum(len(wire(t.get("outputSchema", {}))) for t in tools)
    table.notes += [
        f"Whole answer: {size} bytes UTF-8, {size / len(tools) / 1024:.2f} KiB per tool (for scale: "
        "meetergo's server ~2.1 KB per tool, nspady's Google Calendar server 2.7 KB). The model-read "
        "row leaves out output schemas, annotations and titles, which clients use but models do not "
        f"read. Tokens: {ESTIMATE}.",
        f"Where it goes: outputSchemas {outputs} chars ({outputs / len(whole):.0%}); pydantic's `title` "
        f"keywords {titles} chars ({titles / len(whole):.0%}); `anyOf [T, null]` wrappers ~{nullables} "
        f"chars ({nullables / len(whole):.0%}).",
    ]
    return table


_NULLABLE_WRAPPER = len('"anyOf":[{},{"type":"null"}],')  # what `T | None` adds around T


def schema_overhead(schema: Any, *, names: bool = False) -> tuple[int, int]:
    """Characters spent on `title` keywords and on `anyOf [T, null]` wrappers in JSON schemas.

    `names`: the keys of this object are property or definition names, not keywords.
    """
    titles = nullables = 0
    children: list[tuple[Any, bool]] = []
    if isinstance(schema, list):
        children = [(item, False) for item in schema]
    elif isinstance(schema, dict):
        for key, value in schema.items():
            if not names and key == "title" and isinstance(value, str):
                titles += len(wire({key: value}))  # the braces stand in for the comma
            if not names and key == "anyOf" and isinstance(value, list) and {"type": "null"} in value:
                nullables += _NULLABLE_WRAPPER
            children.append((value, not names and key in ("properties", "$defs")))
    for child, child_names in children:
        t, n = schema_overhead(child, names=child_names)
        titles, nullables = titles + t, nullables + n
    return titles, nullables


async def typical_results(client: Client) -> dict[str, CallToolResult]:
    async def call(tool: str, **arguments: Any) -> CallToolResult:
        result = await client.call_tool(tool, arguments)
        if result.is_error or result.structured_content is None:
            raise RuntimeError(f"{tool} failed: {result.content}")
        return result

    link_id = (await call("list_scheduling_links")).structured_content["links"][0]["link_id"]
    found: dict[str, CallToolResult] = {
        "get_account": await call("get_account"),
        "list_scheduling_links": await call("list_scheduling_links"),
        "find_slots (defaults: 7 days, 10 slots)": await call("find_slots", link_id=link_id),
    }
    week = await call("find_slots", link_id=link_id, limit=100)
    slots = [s["slot_id"] for s in week.structured_content["slots"]]
    attendee = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+4930123456"}
    booked = [await call("book_meeting", slot_id=slot, attendee=attendee) for slot in slots[:20]]
    meeting_id = booked[0].structured_content["meeting"]["meeting_id"]
    found["book_meeting"] = booked[0]
    found["get_meeting"] = await call("get_meeting", meeting_id=meeting_id)
    found["list_meetings (limit 3)"] = await call("list_meetings", limit=3)
    found["list_meetings (20, default limit)"] = await call("list_meetings")
    return found


def result_sizes(results: dict[str, CallToolResult]) -> Section:
    columns = ["result", "text chars", "~tokens", "SDK indented chars", "saving", "whole result chars", "target", "check"]  # fmt: skip
    table = Section("results", "Context cost of typical results (text the model reads)", columns)
    for name, result in results.items():
        text = result.content[0].text  # type: ignore[union-attr]
        indented = pydantic_core.to_json(result.structured_content, indent=2).decode()
        whole = wire(result.model_dump(by_alias=True, mode="json", exclude_none=True))
        limit = FIND_SLOTS_LIMIT if name.startswith("find_slots") else None
        check = (
            "" if limit is None else table.check("a default find_slots page, text", kib(text), limit, "KiB")
        )
        table.add(
            name,
            len(text),
            count_tokens(text),
            len(indented),
            f"{1 - len(text) / len(indented):.0%}",
            len(whole),
            f"≤ {limit:g} KiB" if limit else "",
            check,
        )
    table.notes.append(
        "text: the compact text twin meetings-mcp sends (no nulls); SDK indented: the SDK's default "
        "text for the same structuredContent; whole result: content + structuredContent as on the wire. "
        f"Tokens: {ESTIMATE}."
    )
    return table
