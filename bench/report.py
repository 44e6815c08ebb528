"""What every benchmark returns (a `Section`: a titled table), the small statistics they share,
and the two outputs of a run: markdown tables on stdout and `results.json`.

Rows are plain dicts keyed by the section's columns, so the JSON file and the printed table
carry the same numbers. A section also records the targets it checked (`Check`); the run
gathers them into one last table, `targets`, with pass/miss.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Check:
    """One target of issue 12: a measured value against a limit (an upper one unless `at_least`)."""

    measure: str
    value: float
    limit: float
    unit: str  # "×" for ratios to a floor, "KiB" for sizes
    at_least: bool = False

    @property
    def target(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.limit:g}{_unit(self.unit)}"

    @property
    def verdict(self) -> str:
        return verdict(self.value, self.limit, at_least=self.at_least)


@dataclass
class Section:
    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # gathered into `targets`, not written here

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.name}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(dict(zip(self.columns, cells, strict=True)))

    def check(
        self, measure: str, value: float, limit: float, unit: str = "×", *, at_least: bool = False
    ) -> str:
        """Record a target and return its verdict, for the section's own `check` column."""
        found = Check(measure, round(value, 2), limit, unit, at_least)
        self.checks.append(found)
        return found.verdict


def targets(sections: list[Section], *, quick: bool) -> Section:
    """Every check of the run in one table, in the order the benchmarks ran."""
    title = "Targets (issue 12): ratios to the floor measured in this run"
    if quick:
        title += " — QUICK RUN, NOT FOR RATIOS"
    table = Section("targets", title, ["target", "measured", "limit", "check"])
    for section in sections:
        for found in section.checks:
            table.add(found.measure, f"{found.value:g}{_unit(found.unit)}", found.target, found.verdict)
    passed = sum(row["check"] == "pass" for row in table.rows)
    if table.rows:
        table.notes.append(f"{passed} of {len(table.rows)} targets met.")
    else:
        table.notes.append("The benchmarks run here have no targets.")
    if quick:
        table.notes.append(QUICK_WARNING)
    return table


QUICK_WARNING = (
    "Quick run: a smoke test of the runner with a handful of calls per measure. Its numbers are "
    "noise, not ratios: quote only a full `python -m bench` run."
)


def _unit(unit: str) -> str:
    return unit if unit == "×" else f" {unit}"


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile: with 500 samples p99 is the 5th largest, never an interpolation."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 2) if baseline > 0 else math.inf


def verdict(value: float, limit: float | None, *, at_least: bool = False) -> str:
    """`pass`/`miss` against a limit from issue 12 (an upper one unless `at_least`); blank if none."""
    if limit is None:
        return ""
    return "pass" if (value >= limit if at_least else value <= limit) else "miss"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "mcp": version("mcp"),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        # Other work on the machine shows up as noise in every ratio; the load says how much there was.
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def render(section: Section) -> str:
    """One GitHub-flavoured markdown table, notes below it."""
    head = f"### {section.title}\n\n"
    cols = section.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in section.rows:
        lines.append("| " + " | ".join(_cell(row[c]) for c in cols) + " |")
    notes = "".join(f"\n- {note}" for note in section.notes)
    return head + "\n".join(lines) + ("\n" + notes if notes else "") + "\n"


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 0.001 or value == 0 else f"{value:.2e}"
    return str(value)


def write(path: Path, meta: dict[str, Any], sections: list[Section]) -> None:
    data = {"meta": meta, "sections": {s.name: _public(s) for s in sections}}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _public(section: Section) -> dict[str, Any]:
    data = asdict(section)
    del data["checks"]  # the same facts are the rows of the `targets` section
    return data
