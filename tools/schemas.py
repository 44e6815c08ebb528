"""Compact JSON Schemas for tools/list: the same constraints in fewer tokens.

pydantic writes a `title` for every field and model and spells an optional field as
`anyOf: [T, {"type": "null"}]` with `default: null`; an agent pays for every one of those
characters in each conversation. Rewritten here to the equivalent shorter forms.
"""

from __future__ import annotations

import json
from typing import Any

# Limits the server enforces itself (a breach is invalid_argument naming the field): a model rarely
# needs them up front, and every tools/list carries them into the context.
_SERVER_CHECKED = {
    "maxLength",
    "minLength",
    "pattern",
    "maxProperties",
    "propertyNames",
    "maxItems",
    "minimum",
    "maximum",
}


def compact_input(schema: dict[str, Any]) -> Any:
    """An inputSchema in its short form, with single-use `$defs` written in place."""
    return compact(_inlined(schema))


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    text = json.dumps(schema)
    once = {name for name in defs if text.count(f'"#/$defs/{name}"') == 1}
    if not once:
        return schema

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.removeprefix("#/$defs/")
            if name in once:
                return walk(defs[name]) | {k: v for k, v in node.items() if k != "$ref"}
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    kept = {name: d for name, d in defs.items() if name not in once}
    if kept:
        inlined["$defs"] = kept
    return inlined


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
        if key == "default" and (value is None or value is False or output):
            continue  # absent already means null (or off, for a flag)
        if key in _SERVER_CHECKED:
            continue
        if key in ("properties", "$defs", "patternProperties"):
            # property names stay; the titles inside them go
            out[key] = {name: compact(sub, output=output) for name, sub in value.items()}
        else:
            out[key] = compact(value, output=output)
    return _nullable_as_type_list(out) if output else _null_dropped(out)


def _null_dropped(schema: dict[str, Any]) -> dict[str, Any]:
    """Input side: an optional argument is one that may be left out, so `null` need not be spelled
    (the server still accepts an explicit null)."""
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        merged = {k: v for k, v in schema.items() if k != "anyOf"}
        if len(rest) == 1 and not set(rest[0]) & set(merged):
            return {**merged, **rest[0]}
        return merged | {"anyOf": rest}
    return schema


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


def output_shape(schema: Any) -> dict[str, Any]:
    """A result's outputSchema typed at the top level only: each field's JSON type (and enum).

    Clients validate every result against the schema; a full one costs a third of a small call
    and half of tools/list, while the model reads the result itself. Optional fields are never
    sent as null (the server leaves them out), so they are simply not required.
    """
    defs = schema.get("$defs", {})
    properties: dict[str, Any] = {}
    for name, sub in schema.get("properties", {}).items():
        properties[name] = _top_type(sub, defs)
    required = [
        n for n in schema.get("required", []) if n in properties and not _nullable(schema["properties"][n])
    ]
    shape: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        shape["required"] = required
    return shape


def _top_type(sub: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in sub:
        return {"type": "object"}
    options = [o for o in sub.get("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        return _top_type(options[0], defs)
    if options:
        return {}
    kept: dict[str, Any] = {k: sub[k] for k in ("type", "enum", "const") if k in sub}
    if kept.get("type") == "array" or kept.get("type") == "object":
        return {"type": kept["type"]}
    return kept or {}


def _nullable(sub: dict[str, Any]) -> bool:
    return {"type": "null"} in sub.get("anyOf", []) or "default" in sub
