"""The tool calls every latency benchmark times, identical on each transport.

One round is `echo` on the bare server, then `get_account`, `find_slots` (the default 7-day
window and page), `book_meeting` (a distinct slot and a fresh `idempotency_key` every time, as an
agent that retries safely calls it) and `list_meetings` (defaults) on meetings-mcp. Rounds interleave the tools, so drift during the run (GC, CPU frequency, another
process) lands on the baseline and the tools alike. The first call to each server in a round is
made twice and timed the second time: a process that sat idle while the other server worked
pays ~0.3 ms to wake up, and that would inflate whichever call comes first (echo, the floor).
Slots to book are collected before the clock starts and lie beyond the first week, so bookings
never shrink the window find_slots searches.
"""

from __future__ import annotations

from datetime import date, timedelta
from time import perf_counter
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from bench.report import Section, median, ms, percentile, ratio

TOOLS = ("get_account", "find_slots", "book_meeting", "list_meetings")
# Issue 12: p50 as a multiple of echo's p50, over stdio and streamable HTTP (book with a key).
TARGETS = {"find_slots": 1.5, "book_meeting": 2.0}
COLUMNS = [
    "tool", "calls", "p50 ms", "p99 ms", "p50 ×echo", "p99 ×echo", "target p50", "result", "client validation ms",
]  # fmt: skip


async def structured(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A successful call's structuredContent; an error result stops the benchmark."""
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        raise RuntimeError(f"{tool} failed: {result.content}")
    content: dict[str, Any] = result.structured_content
    return content


async def bookable_slots(client: Client, link_id: str, count: int) -> list[str]:
    """`count` distinct free slot ids from day 8 on, a quarter (find_slots' widest range) at a time."""
    now = (await structured(client, "get_account", {}))["now"]
    first = date.fromisoformat(now[:10]) + timedelta(days=7)
    found: list[str] = []
    cursor: str | None = None
    for _ in range(10_000):  # bounded: ~80 slots a week, so a few dozen pages at most
        if len(found) >= count:
            return found[:count]
        arguments: dict[str, Any] = {
            "link_id": link_id,
            "from_date": first.isoformat(),
            "to_date": (first + timedelta(days=91)).isoformat(),
            "limit": 100,
        }
        if cursor is not None:
            arguments["cursor"] = cursor
        page = await structured(client, "find_slots", arguments)
        found += [slot["slot_id"] for slot in page["slots"]]
        cursor = page.get("next_cursor")
        if cursor is None:
            first += timedelta(days=92)
    raise RuntimeError(f"found only {len(found)} of {count} free slots")


def booking(slot_id: str, n: int, prefix: str = "bench") -> dict[str, Any]:
    """book_meeting's arguments for the `n`-th booking of a run: its own attendee and idempotency key."""
    return {
        "slot_id": slot_id,
        "attendee": {"name": "Bench Attendee", "email": f"{prefix}{n}@example.com"},
        "idempotency_key": f"{prefix}-key-{n:06d}",
    }


async def latency(
    name: str,
    title: str,
    echo: Client,
    meetings: Client,
    *,
    calls: int,
    warmup: int,
    targets: bool,
    label: str = "",
) -> Section:
    """p50/p99 of `calls` timed rounds after `warmup` untimed ones, as multiples of echo."""
    link_id = (await structured(meetings, "list_scheduling_links", {}))["links"][0]["link_id"]
    slots = iter(await bookable_slots(meetings, link_id, calls + warmup))
    samples: dict[str, list[float]] = {tool: [] for tool in ("echo", *TOOLS)}
    last: dict[str, tuple[Client, CallToolResult]] = {}
    for round_ in range(warmup + calls):
        plan: list[tuple[str, Client, dict[str, Any], bool]] = [
            ("echo", echo, {"text": "hello"}, True),
            ("get_account", meetings, {}, True),
            ("find_slots", meetings, {"link_id": link_id}, False),
            ("book_meeting", meetings, booking(next(slots), round_), False),
            ("list_meetings", meetings, {}, False),
        ]
        for tool, client, arguments, wake_first in plan:
            if wake_first:
                await client.call_tool(tool, arguments)
            started = perf_counter()
            result = await client.call_tool(tool, arguments)
            elapsed = perf_counter() - started
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")
            if round_ >= warmup:
                samples[tool].append(elapsed)
            last[tool] = client, result

    validation = {tool: await client_validation(tool, *last[tool], repeats=min(calls, 50)) for tool in last}
    section = Section(name, title, COLUMNS)
    floor50, floor99 = percentile(samples["echo"], 50), percentile(samples["echo"], 99)
    for tool, times in samples.items():
        p50, p99 = percentile(times, 50), percentile(times, 99)
        limit = TARGETS.get(tool) if targets else None
        check = "" if limit is None else section.check(f"{tool} p50, {label or name}", p50 / floor50, limit)
        section.add(
            tool,
            len(times),
            ms(p50),
            ms(p99),
            ratio(p50, floor50),
            ratio(p99, floor99),
            f"≤ {limit}×" if limit else "",
            check,
            ms(validation[tool]),
        )
    section.notes.append(
        f"{calls} timed rounds after {warmup} warm-up rounds; each round calls echo (bare MCPServer) "
        "and the four tools once, in that order, each right after another call to the same server "
        "(echo and get_account are called twice, the second call timed). find_slots: defaults "
        "(7 days, 10 slots); book_meeting: a distinct slot and a fresh idempotency_key each call "
        "(premium plan); list_meetings: defaults (upcoming, limit 20)."
    )
    section.notes.append(
        "client validation: median time the official client spends re-validating one such result "
        "against the tool's outputSchema (jsonschema) — part of every call above, spent in the client."
    )
    return section


async def client_validation(tool: str, client: Client, result: CallToolResult, *, repeats: int) -> float:
    """Median seconds of the client-side outputSchema check the SDK runs on every successful call."""
    times = []
    for _ in range(repeats):
        started = perf_counter()
        await client.session.validate_tool_result(tool, result)
        times.append(perf_counter() - started)
    return median(times)
