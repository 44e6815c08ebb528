"""Tool-call latency on the three transports, each against echo on the same transport.

- `inmemory`: `Client(server)` in this process (no framing, no process boundary): what the tools
  themselves cost over the SDK's dispatch.
- `stdio`: both servers spawned by the official client, as an agent host runs them; also reads
  both processes' memory (see bench/memory.py).
- `http`: both servers under uvicorn on 127.0.0.1; meetings-mcp behind its bearer-token gate and
  per-token rate limit (raised out of reach, see bench/servers.py), the floor without them: they
  are part of what meetings-mcp costs.
"""

from __future__ import annotations

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench import echo_server, memory, servers
from bench.config import Config
from bench.report import Section
from bench.workload import latency
from wix_meetings_mcp.server.app import build_server


async def inmemory(cfg: Config) -> list[Section]:
    settings = servers.in_process_settings(cfg.workdir / "inmemory.db")
    async with Client(echo_server.build()) as echo, Client(build_server(settings)) as meetings:
        title = "Tool-call latency in memory (Client(server), 2026-07-28)"
        section = await latency(
            "inmemory", title, echo, meetings, calls=cfg.rounds, warmup=cfg.warmup, targets=False
        )
    return [section]


async def stdio(cfg: Config) -> list[Section]:
    before = servers.children()
    async with servers.stdio_session(servers.echo_stdio(cfg.workdir), cfg.workdir / "echo-stdio.log") as echo:
        echo_pid = servers.new_child(before)
        before = servers.children()
        log = cfg.workdir / "meetings-stdio.log"
        async with servers.stdio_session(servers.meetings_stdio(cfg.workdir), log) as meetings:
            our_pid = servers.new_child(before)
            echo_start, our_start = servers.memory_kib(echo_pid), servers.memory_kib(our_pid)
            title = "Tool-call latency over stdio (spawned by the official client)"
            section = await latency(
                "stdio", title, echo, meetings, calls=cfg.rounds, warmup=cfg.warmup, targets=True
            )
            echo_end, our_end = servers.memory_kib(echo_pid), servers.memory_kib(our_pid)
    rss = memory.section(
        rounds=cfg.rounds + cfg.warmup, echo=(echo_start, echo_end), ours=(our_start, our_end)
    )
    return [section, rss]


async def http(cfg: Config) -> list[Section]:
    async with (
        servers.echo_http(cfg.workdir) as (echo_url, _),
        servers.meetings_http(cfg.workdir) as (url, token, _),
        httpx2.AsyncClient() as echo_http,
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as our_http,
        Client(streamable_http_client(echo_url, http_client=echo_http)) as echo,
        Client(streamable_http_client(url, http_client=our_http)) as meetings,
    ):
        title = "Tool-call latency over streamable HTTP (127.0.0.1, uvicorn)"
        section = await latency(
            "http", title, echo, meetings, calls=cfg.rounds, warmup=cfg.warmup, targets=True, label="HTTP"
        )
    return [section]
