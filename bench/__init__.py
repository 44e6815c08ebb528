"""Benchmarks of meetings-mcp: speed, memory and context cost as ratios to a floor measured in
the same run (an `echo` tool on a bare MCPServer over the same transport, 10 past meetings, or the
empty case).

Run `python -m bench` from the repository root (`--quick` for a smoke run that is not for ratios,
`--only NAME`). One module per family: `latency` (in memory, stdio, HTTP; the calls are in
`workload`), `memory` (peak RSS of the stdio server), `startup`, `tokens` (tools/list and result
sizes), `scale` (the tools as history grows, in `history`, and the slot engine as the calendar
fills), `throughput` (64 concurrent HTTP clients in several processes, `load_client`). The run
ends with the targets of issue 12 marked pass or miss. These are measurements, not tests:
nothing here fails on a slow machine.
"""
