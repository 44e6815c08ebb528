"""Benchmarks of meetings-mcp: speed, memory and context cost as ratios to a floor measured in
the same run (an `echo` tool on a bare MCPServer over the same transport, or the empty case).

Run `python -m bench` from the repository root (`--quick` for a smoke run, `--only NAME`).
One module per family: `latency` (in memory, stdio, HTTP; the calls are in `workload`),
`memory` (peak RSS of the stdio server), `startup`, `tokens` (tools/list and result sizes),
`scale` (the slot engine), `throughput` (64 concurrent HTTP clients). These are measurements,
not tests: nothing here fails on a slow machine.
"""
