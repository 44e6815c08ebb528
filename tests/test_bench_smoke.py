"""The benchmark runner works end to end: a tiny quick run writes results.json in its documented shape.

Only the shape is checked, never a timing: speed is for `python -m bench`, not for tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main


def test_a_quick_in_memory_run_writes_every_tool_row_in_the_documented_shape(tmp_path: Path) -> None:
    out = tmp_path / "results.json"

    main(["--quick", "--only", "inmemory", "--calls", "3", "--out", str(out)])

    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"meta", "sections"}
    machine = {"date", "python", "mcp", "platform", "cpus", "load_average"}
    assert machine | {"quick", "rounds", "benchmarks", "seconds", "token_estimate"} <= set(data["meta"])
    assert data["meta"]["quick"] is True and data["meta"]["benchmarks"] == ["inmemory"]
    section = data["sections"]["inmemory"]
    assert set(section) == {"name", "title", "columns", "rows", "notes"}
    assert [row["tool"] for row in section["rows"]] == [
        "echo", "get_account", "find_slots", "book_meeting", "list_meetings",
    ]  # fmt: skip
    for row in section["rows"]:
        assert list(row) == section["columns"]
        assert row["calls"] == 3
        assert 0 < row["p50 ms"] <= row["p99 ms"]
        assert row["p50 ×echo"] > 0
    assert section["rows"][0]["p50 ×echo"] == 1


def test_a_run_ends_with_its_targets_marked_pass_or_miss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"

    main(["--quick", "--only", "tokens", "--out", str(out)])

    targets = json.loads(out.read_text(encoding="utf-8"))["sections"]["targets"]
    assert targets["columns"] == ["target", "measured", "limit", "check"]
    assert {row["target"] for row in targets["rows"]} == {
        "tools/list, default toolsets", "what a model reads of tools/list", "a default find_slots page, text",
    }  # fmt: skip
    assert all(row["check"] in ("pass", "miss") for row in targets["rows"])
    printed = capsys.readouterr().out
    assert "not for ratios" in printed.lower() and printed.rstrip().endswith(targets["notes"][-1])
