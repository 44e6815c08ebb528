"""A tool's registration record: function, title, toolset and honest annotations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mcp.types import ToolAnnotations

Toolset = Literal["booking", "calendar", "admin"]


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    title: str
    toolset: Toolset
    annotations: ToolAnnotations

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.read_only_hint)


def read() -> ToolAnnotations:
    return ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def write(*, destructive: bool, idempotent: bool, open_world: bool) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


def spec(
    fn: Callable[..., Any], title: str, toolset: Toolset, annotations: ToolAnnotations | None = None
) -> ToolSpec:
    return ToolSpec(fn=fn, title=title, toolset=toolset, annotations=annotations or read())
