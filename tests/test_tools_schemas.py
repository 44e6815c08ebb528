"""Compacted schemas accept and refuse exactly what pydantic's long form does."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

from wix_meetings_mcp.tools.schemas import compact


class Inner(BaseModel):
    title: str = Field(description="a property literally named title survives")
    size: int | None = Field(default=None, ge=1)


class Outer(BaseModel):
    name: str
    inner: Inner | None = None
    tags: list[str] = []
    note: str | None = None


@pytest.mark.parametrize(
    "instance",
    [
        {"name": "a"},
        {"name": "a", "note": None, "inner": None},
        {"name": "a", "inner": {"title": "t", "size": 3}},
        {"name": "a", "inner": {"title": "t", "size": 0}},
        {"name": "a", "note": 5},
        {"inner": {"title": "t"}},
        {"name": "a", "inner": {"size": None}},
    ],
)
def test_compact_schema_validates_like_the_original(instance: dict[str, Any]) -> None:
    long_form = Outer.model_json_schema()
    short = compact(long_form)

    def ok(schema: dict[str, Any]) -> bool:
        return jsonschema.Draft202012Validator(schema).is_valid(instance)

    assert ok(short) == ok(long_form)
    assert len(str(short)) < len(str(long_form))


def test_titles_go_but_a_property_named_title_stays() -> None:
    short = compact(Outer.model_json_schema())
    assert "title" not in short and "title" not in short["$defs"]["Inner"]
    assert "title" in short["$defs"]["Inner"]["properties"]
    assert short["properties"]["note"] == {"type": ["string", "null"]}
