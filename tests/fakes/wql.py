"""A small evaluator of the Wix API Query Language for the fakes (wix-api.md §1.6).

Supports equality, `$eq $ne $lt $lte $gt $gte $in $nin $exists $hasSome $hasAll $startsWith`,
`$and $or $not`, dotted paths, and sorting. Date strings compare as instants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

MISSING = object()


def get_path(doc: Mapping[str, Any], path: str, aliases: Mapping[str, str] | None = None) -> Any:
    for alias, target in (aliases or {}).items():
        if path == alias or path.startswith(alias + "."):
            path = target + path[len(alias) :]
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _compare(op: str, value: Any, operand: Any) -> bool:
    checks: dict[str, Callable[[], bool]] = {
        "$eq": lambda: _comparable(value) == _comparable(operand),
        "$ne": lambda: _comparable(value) != _comparable(operand),
        "$in": lambda: _comparable(value) in [_comparable(o) for o in operand],
        "$nin": lambda: _comparable(value) not in [_comparable(o) for o in operand],
        "$exists": lambda: (value is not MISSING) == bool(operand),
        "$hasSome": lambda: isinstance(value, list) and any(o in value for o in operand),
        "$hasAll": lambda: isinstance(value, list) and all(o in value for o in operand),
        "$startsWith": lambda: isinstance(value, str) and value.startswith(operand),
    }
    if op in checks:
        return checks[op]()
    if value is MISSING or value is None:
        return False
    left, right = _comparable(value), _comparable(operand)
    ordered: dict[str, Callable[[], bool]] = {
        "$lt": lambda: bool(left < right),
        "$lte": lambda: bool(left <= right),
        "$gt": lambda: bool(left > right),
        "$gte": lambda: bool(left >= right),
    }
    if op not in ordered:
        raise ValueError(f"unsupported operator {op}")
    return ordered[op]()


def matches(doc: Mapping[str, Any], flt: Mapping[str, Any], aliases: Mapping[str, str] | None = None) -> bool:
    for key, condition in flt.items():
        if key == "$and":
            ok = all(matches(doc, f, aliases) for f in condition)
        elif key == "$or":
            ok = any(matches(doc, f, aliases) for f in condition)
        elif key == "$not":
            ok = not matches(doc, condition, aliases)
        else:
            value = get_path(doc, key, aliases)
            if (
                isinstance(condition, Mapping)
                and condition
                and all(str(k).startswith("$") for k in condition)
            ):
                ok = all(_compare(op, value, operand) for op, operand in condition.items())
            else:
                ok = _compare("$eq", value, condition)
        if not ok:
            return False
    return True


def sort_docs(
    docs: list[dict[str, Any]], sort: list[Mapping[str, str]], aliases: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    for rule in reversed(sort):
        field, descending = rule["fieldName"], rule.get("order", "ASC") == "DESC"

        def key(doc: dict[str, Any], field: str = field) -> tuple[bool, Any]:
            value = _comparable(get_path(doc, field, aliases))
            return (value is MISSING, "" if value is MISSING else value)

        docs = sorted(docs, key=key, reverse=descending)
    return docs
