"""The one table of tools: function, title, toolset and annotations.

Toolset selection and read-only mode filter this table (read-only = read_only_hint), so no
second list can drift. `CodedServer` is the MCP server class whose failures follow the contract.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent

from tools import account, admin, booking, calendars, links, meetings, slots
from tools.errors import from_tool_error
from tools.spec import Toolset, ToolSpec, spec, write

TOOLSETS: tuple[Toolset, ...] = ("booking", "calendar", "admin")
DEFAULT_TOOLSETS: tuple[Toolset, ...] = ("booking", "calendar")


# Writes that notify attendees reach outside the system: open-world.
TOOLS: tuple[ToolSpec, ...] = (
    spec(account.get_account, "Account, plan and limits", "booking"),
    spec(links.list_scheduling_links, "List scheduling links", "booking"),
    spec(slots.find_slots, "Find free slots", "booking"),
    spec(booking.book_meeting, "Book a meeting", "booking",
          write("Book a meeting", destructive=False, idempotent=False, open_world=True)),
    spec(meetings.reschedule_meeting, "Reschedule a meeting", "booking",
          write("Reschedule a meeting", destructive=False, idempotent=False, open_world=True)),
    spec(meetings.cancel_meeting, "Cancel a meeting", "booking",
          write("Cancel a meeting", destructive=True, idempotent=True, open_world=True)),
    spec(meetings.list_meetings, "List meetings", "booking"),
    spec(meetings.get_meeting, "Get a meeting", "booking"),
    spec(links.deactivate_scheduling_link, "Deactivate a scheduling link", "booking",
          write("Deactivate a scheduling link", destructive=False, idempotent=True, open_world=False)),
    spec(links.activate_scheduling_link, "Activate a scheduling link", "booking",
          write("Activate a scheduling link", destructive=False, idempotent=True, open_world=False)),
    spec(calendars.connect_calendar, "Connect an external calendar", "calendar",
          write("Connect an external calendar", destructive=False, idempotent=False, open_world=True)),
    spec(calendars.list_calendar_connections, "List calendar connections", "calendar"),
    *admin.TOOLS,
)  # fmt: skip


def selected(toolsets: Collection[Toolset], *, read_only: bool) -> list[ToolSpec]:
    return [t for t in TOOLS if t.toolset in toolsets and (t.read_only or not read_only)]


def register(server: MCPServer, specs: Collection[ToolSpec]) -> None:
    for tool in specs:
        server.add_tool(tool.fn, name=tool.name, title=tool.title, annotations=tool.annotations)


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
