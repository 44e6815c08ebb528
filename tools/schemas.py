"""Compact JSON Schemas for tools/list: the same constraints in fewer tokens.

pydantic writes a `title` for every field and model and spells an optional field as
`anyOf: [T, {"type": "null"}]` with `default: null`; an agent pays for every one of those
characters in each conversation. Rewritten here to the equivalent shorter forms.
"""

from __future__ import annotations

from typing import Any


def compact(schema: Any, *, output: bool = False) -> Any:
    """`output=True` also drops defaults: a result always carries every field, so they tell nothing."""
    if isinstance(schema, list):
        return [compact(item, output=output) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue  # a label, not a constraint
        if key == "default" and (value is None or output):
            continue  # absent already means null for an optional field
        if key in ("properties", "$defs", "patternProperties"):
            # property names stay; the titles inside them go
            out[key] = {name: compact(sub, output=output) for name, sub in value.items()}
        else:
            out[key] = compact(value, output=output)
    return _nullable_as_type_list(out)


def _nullable_as_type_list(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [{type: T, ...}, {type: null}]` → `{type: [T, null], ...}` (same instances accepted)."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    other = options[0] if options[1] == {"type": "null"} else options[1]
    if not isinstance(other.get("type"), str) or set(other) & set(schema) - {"anyOf"}:
        return schema  # a $ref, or keys that would collide: keep the long form
    merged = {k: v for k, v in schema.items() if k != "anyOf"}
    merged.update(other)
    merged["type"] = [other["type"], "null"]
    return merged
