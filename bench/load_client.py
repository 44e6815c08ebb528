"""One load-generating process of the throughput benchmark: several MCP sessions over HTTP.

Run as `python -m bench.load_client` by bench/throughput.py, which speaks to it in JSON lines:
it reads its job (`url`, or `urls` dealt round-robin to the sessions, `headers`, `warm`: one call
per session, `plan`: each session's calls)
from stdin, opens and warms every session, writes `ready`, waits for `go`, makes the calls (each
session one after another, all sessions at once) and writes `{"calls": N}`. The token travels
on stdin, never in the command line.
"""

from __future__ import annotations

import json
import sys
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.workload import structured

Calls = list[tuple[str, dict[str, Any]]]


async def main() -> None:
    job = json.loads(await anyio.to_thread.run_sync(sys.stdin.readline))
    plan: list[Calls] = [[(tool, args) for tool, args in calls] for calls in job["plan"]]
    limits = httpx2.Limits(max_connections=len(plan) + 8, max_keepalive_connections=len(plan) + 8)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx2.AsyncClient(headers=job["headers"], limits=limits))
        urls = job.get("urls") or [job["url"]]
        sessions = [
            await stack.enter_async_context(
                Client(streamable_http_client(urls[i % len(urls)], http_client=http))
            )
            for i in range(len(plan))
        ]
        for session in sessions:
            await structured(session, *job["warm"])  # connects and fetches the tool list for validation
        print("ready", flush=True)
        if (await anyio.to_thread.run_sync(sys.stdin.readline)).strip() != "go":
            return

        async def work(session: Client, calls: Calls) -> None:
            for tool, arguments in calls:
                await structured(session, tool, arguments)

        async with anyio.create_task_group() as group:
            for session, calls in zip(sessions, plan, strict=True):
                group.start_soon(work, session, calls)
        print(json.dumps({"calls": sum(map(len, plan))}), flush=True)


if __name__ == "__main__":
    anyio.run(main)
