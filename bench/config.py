"""How big a run is: the default run, `--quick` (a smoke run, not for ratios) and `--calls N`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    workdir: Path  # a temporary directory: databases, feeds, the servers' cwd
    quick: bool = False
    calls: int | None = None  # overrides the timed rounds of the latency benchmarks

    @property
    def rounds(self) -> int:
        """Timed rounds of tool calls per latency benchmark (issue 6 asks for 500)."""
        return self.calls or (30 if self.quick else 500)

    @property
    def warmup(self) -> int:
        return 3 if self.quick else 20

    @property
    def spawns(self) -> int:
        """Timed start-ups per server."""
        return 2 if self.quick else 5

    @property
    def repeats(self) -> int:
        """Timed calls per scale case (each size of history, each calendar of the slot engine)."""
        return 5 if self.quick else 30
