"""Compacted schemas: an input schema never refuses what pydantic accepts (the server checks the
limits it leaves out and answers invalid_argument), and an output shape accepts every result."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

from tests.conftest import Connect
from wix_meetings_mcp.tools.schemas import compact, output_shape


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

    assert ok(short) or not ok(long_form)  # looser, never stricter
    assert len(str(short)) < len(str(long_form))


def test_titles_go_but_a_property_named_title_stays() -> None:
    short = compact(Outer.model_json_schema())
    assert "title" not in short and "title" not in short["$defs"]["Inner"]
    assert "title" in short["$defs"]["Inner"]["properties"]
    assert short["properties"]["note"] == {"type": "string"}  # optional means it may be left out
    assert short["$defs"]["Inner"]["properties"]["size"] == {"type": "integer"}  # ge=1 is the server's check


def test_an_output_shape_types_the_top_level_and_accepts_results_without_their_empty_fields() -> None:
    shape = output_shape(Outer.model_json_schema())
    assert shape["properties"]["inner"] == {"type": "object"} and shape["required"] == ["name"]
    validator = jsonschema.Draft202012Validator(shape)
    assert validator.is_valid({"name": "a"}) and validator.is_valid({"name": "a", "inner": {"x": 1}})
    assert not validator.is_valid({"name": 5}) and not validator.is_valid({})


async def test_an_explicit_null_for_an_optional_argument_is_still_accepted(connect: Connect) -> None:
    # The short input schema leaves `null` unspelled; models that send it anyway are served.
    async with connect() as call:
        found = await call("find_slots", link_id=None, time_zone=None, part_of_day=None, cursor=None)
    assert found["slots"]
