"""The one table of tools: function, title, toolset and annotations.

Toolset selection and read-only mode filter this table (read-only = read_only_hint), so no
second list can drift. `CodedServer` is the MCP server class whose failures follow the contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations

from tools import account, booking, calendars, links, meetings, slots
from tools.errors import from_tool_error

Toolset = Literal["booking", "calendar", "admin"]
TOOLSETS: tuple[Toolset, ...] = ("booking", "calendar", "admin")
DEFAULT_TOOLSETS: tuple[Toolset, ...] = ("booking", "calendar")


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


def _read(title: str) -> ToolAnnotations:
    return ToolAnnotations(title=title, read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def _write(title: str, *, destructive: bool, idempotent: bool, open_world: bool) -> ToolAnnotations:
    return ToolAnnotations(
        title=title,
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


def _spec(
    fn: Callable[..., Any], title: str, toolset: Toolset, annotations: ToolAnnotations | None = None
) -> ToolSpec:
    return ToolSpec(fn=fn, title=title, toolset=toolset, annotations=annotations or _read(title))


# Writes that notify attendees reach outside the system: open-world.
TOOLS: tuple[ToolSpec, ...] = (
    _spec(account.get_account, "Account, plan and limits", "booking"),
    _spec(links.list_scheduling_links, "List scheduling links", "booking"),
    _spec(slots.find_slots, "Find free slots", "booking"),
    _spec(booking.book_meeting, "Book a meeting", "booking",
          _write("Book a meeting", destructive=False, idempotent=False, open_world=True)),
    _spec(meetings.reschedule_meeting, "Reschedule a meeting", "booking",
          _write("Reschedule a meeting", destructive=False, idempotent=False, open_world=True)),
    _spec(meetings.cancel_meeting, "Cancel a meeting", "booking",
          _write("Cancel a meeting", destructive=True, idempotent=True, open_world=True)),
    _spec(meetings.list_meetings, "List meetings", "booking"),
    _spec(meetings.get_meeting, "Get a meeting", "booking"),
    _spec(links.deactivate_scheduling_link, "Deactivate a scheduling link", "booking",
          _write("Deactivate a scheduling link", destructive=False, idempotent=True, open_world=False)),
    _spec(links.activate_scheduling_link, "Activate a scheduling link", "booking",
          _write("Activate a scheduling link", destructive=False, idempotent=True, open_world=False)),
    _spec(calendars.connect_calendar, "Connect an external calendar", "calendar",
          _write("Connect an external calendar", destructive=False, idempotent=False, open_world=True)),
    _spec(calendars.list_calendar_connections, "List calendar connections", "calendar"),
)  # fmt: skip


def selected(toolsets: Collection[Toolset], *, read_only: bool) -> list[ToolSpec]:
    return [t for t in TOOLS if t.toolset in toolsets and (t.read_only or not read_only)]


def register(server: MCPServer, specs: Collection[ToolSpec]) -> None:
    for spec in specs:
        server.add_tool(spec.fn, name=spec.name, title=spec.title, annotations=spec.annotations)


class CodedServer(MCPServer):
    """MCPServer whose tool failures carry the contract's codes and whose text content is compact.

    The SDK renders results as indented JSON with every null; agents pay for each token, so the
    text twin of structuredContent is re-rendered compactly without nulls (structuredContent keeps
    the full schema shape).
    """

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            result = await super().call_tool(name, arguments, context)
        except ToolError as exc:
            return from_tool_error(name, exc)
        if (
            isinstance(result, CallToolResult)
            and result.structured_content is not None
            and not result.is_error
        ):
            text = json.dumps(
                _without_nulls(result.structured_content), ensure_ascii=False, separators=(",", ":")
            )
            result = result.model_copy(update={"content": [TextContent(type="text", text=text)]})
        return result


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
