"""Memory of the stdio server process against the bare echo server, read from /proc.

The stdio latency run provides the load (its rounds of calls); this module only turns the
readings taken after start-up and after the last call into a table. VmHWM is the peak resident
set size of the whole process over its life.
"""

from __future__ import annotations

from bench.report import Section, ratio

COLUMNS = ["server", "RSS after start-up MiB", "peak RSS after calls MiB", "peak ×echo"]


def section(
    *, rounds: int, echo: tuple[dict[str, int], dict[str, int]], ours: tuple[dict[str, int], dict[str, int]]
) -> Section:
    table = Section("memory", "Memory of the stdio server process (peak RSS)", COLUMNS)
    if not (echo[0] and echo[1] and ours[0] and ours[1]):
        table.notes.append("Not measured: /proc/<pid>/status is not available on this system.")
        return table
    floor = echo[1]["VmHWM"]
    for name, (started, finished) in (("echo (bare MCPServer)", echo), ("meetings-mcp", ours)):
        table.add(name, _mib(started["VmRSS"]), _mib(finished["VmHWM"]), ratio(finished["VmHWM"], floor))
    table.notes.append(
        f"Readings of /proc/<pid>/status (VmRSS after connecting, VmHWM after {rounds} rounds of the "
        "stdio latency benchmark: echo calls on the bare server; get_account, find_slots, book_meeting, "
        "list_meetings on meetings-mcp)."
    )
    return table


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)
