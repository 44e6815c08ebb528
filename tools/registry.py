"""The one table of tools: function, title, toolset and annotations.

Toolset selection and read-only mode filter this table (read-only = read_only_hint), so no
second list can drift. `CodedServer` is the MCP server class whose failures follow the contract
and through which every tool call passes: it reports each call of a tool not marked read-only
to an injected `AuditLog`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, Icon, InputRequiredResult, TextContent, ToolAnnotations
from mcp.types import Tool as MCPTool

from wix_meetings_mcp.tools import account, booking, calendars, links, meetings, slots
from wix_meetings_mcp.tools.errors import from_tool_error, unknown_arguments
from wix_meetings_mcp.tools.journal import AuditLog, Call, serving
from wix_meetings_mcp.tools.schemas import compact_input, output_shape
from wix_meetings_mcp.tools.spec import Toolset, ToolSpec, spec, write

TOOLSETS: tuple[Toolset, ...] = ("booking", "calendar", "admin")
DEFAULT_TOOLSETS: tuple[Toolset, ...] = ("booking", "calendar")


# Writes that notify attendees reach outside the system: open-world.
TOOLS: tuple[ToolSpec, ...] = (
    spec(account.get_account, "Account, plan and limits", "booking"),
    spec(links.list_scheduling_links, "List scheduling links", "booking"),
    spec(slots.find_slots, "Find free slots", "booking"),
    spec(booking.book_meeting, "Book a meeting", "booking",
          write(destructive=False, idempotent=False, open_world=True)),
    spec(meetings.reschedule_meeting, "Reschedule a meeting", "booking",
          write(destructive=False, idempotent=False, open_world=True)),
    spec(meetings.cancel_meeting, "Cancel a meeting", "booking",
          write(destructive=True, idempotent=True, open_world=True)),
    spec(meetings.list_meetings, "List meetings", "booking"),
    spec(meetings.get_meeting, "Get a meeting", "booking"),
    spec(links.deactivate_scheduling_link, "Deactivate a scheduling link", "booking",
          write(destructive=False, idempotent=True, open_world=False)),
    spec(links.activate_scheduling_link, "Activate a scheduling link", "booking",
          write(destructive=False, idempotent=True, open_world=False)),
    spec(calendars.connect_calendar, "Connect an external calendar", "calendar",
          write(destructive=False, idempotent=False, open_world=True)),
    spec(calendars.list_calendar_connections, "List calendar connections", "calendar"),
    spec(calendars.update_calendar_sync, "Switch calendar sync", "calendar",
          write(destructive=False, idempotent=True, open_world=False)),
)  # fmt: skip


def table(toolsets: Collection[Toolset]) -> tuple[ToolSpec, ...]:
    """Every tool of the chosen toolsets; the admin module loads only when its toolset is on."""
    if "admin" not in toolsets:
        return TOOLS
    from wix_meetings_mcp.tools import admin, feeds, video

    return (*TOOLS, *admin.TOOLS, *video.TOOLS, *feeds.TOOLS)


def selected(toolsets: Collection[Toolset], *, read_only: bool) -> list[ToolSpec]:
    return [t for t in table(toolsets) if t.toolset in toolsets and (t.read_only or not read_only)]


def register(server: MCPServer, specs: Collection[ToolSpec]) -> None:
    for tool in specs:
        server.add_tool(tool.fn, name=tool.name, title=tool.title, annotations=tool.annotations)


logger = logging.getLogger(__name__)
calls_logger = logging.getLogger("wix_meetings_mcp.calls")
_CODE = re.compile(r"^([a-z_]+): ")
_EMPTY_ACCEPT = "accepted elicitation with no content"  # the SDK's words in both protocol eras (mcp 2.3.0)


class CodedServer(MCPServer):
    """MCPServer whose tool failures carry the contract's codes and whose text content is compact.

    The SDK renders results as indented JSON with every null; agents pay for each token, so the
    text twin of structuredContent is re-rendered compactly without nulls (structuredContent keeps
    the full schema shape). Every call of a tool not annotated read-only is reported to `audit`.
    """

    def __init__(self, *args: Any, audit: AuditLog | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audit = audit
        self._audited: set[str] = set()
        self._listed: list[MCPTool] | None = None
        self._arguments: dict[str, set[str]] | None = None

    async def list_tools(self) -> list[MCPTool]:
        # Tools are fixed once the server is built: compact their schemas once, not per request.
        if self._listed is None:
            self._listed = [
                tool.model_copy(
                    update={
                        "description": " ".join((tool.description or "").split()),
                        "input_schema": compact_input(tool.input_schema),
                        "output_schema": None
                        if tool.output_schema is None
                        else output_shape(tool.output_schema),
                    }
                )
                for tool in await super().list_tools()
            ]
        return self._listed

    async def _arguments_of(self, name: str) -> set[str] | None:
        """The argument names a tool takes (None for an unknown tool: the SDK answers that)."""
        if self._arguments is None:
            self._arguments = {
                t.name: set((t.input_schema or {}).get("properties", {})) for t in await self.list_tools()
            }
        return self._arguments.get(name)

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        if annotations is None or not annotations.read_only_hint:  # MCP's default: a tool may write
            self._audited.add(name or fn.__name__)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        started = time.perf_counter()
        call = Call(name, arguments, self._audit)
        try:
            with serving(call):
                result = await self._coded_call(name, arguments, context)
        except BaseException as exc:
            cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
            outcome = "cancelled" if cancelled else "protocol_error"
            _log_call(name, outcome, None, started)
            if self._audit is not None and name in self._audited:
                # The write may have happened before the client went away: keep the trace.
                with anyio.CancelScope(shield=True):
                    await self._report(name, arguments, outcome, None)
            raise
        outcome, status = _outcome(result)
        _log_call(name, outcome, status, started)
        if self._audit is not None and name in self._audited and not (outcome == "ok" and call.kept):
            await self._report(name, arguments, outcome, status)
        return result

    async def _report(self, name: str, arguments: Mapping[str, Any], result: str, status: str | None) -> None:
        assert self._audit is not None
        try:
            await self._audit.record(name, arguments, result, status)
        except Exception:  # the call's effect stands: a lost audit line must not turn it into an error
            logger.exception("could not record the %s call in the audit trail", name)

    async def _coded_call(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult | InputRequiredResult:
        known = await self._arguments_of(name)
        if known is not None and not set(arguments) <= known:
            return unknown_arguments(name, set(arguments), known)
        try:
            result = await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if _empty_accept(exc):
                # Some clients answer "accept" with no form content: that is no consent (and the
                # SDK refuses it before the tool runs), so it reads as the user's no.
                return _declined("The user did not confirm (their answer was empty), so nothing was changed.")
            return from_tool_error(name, exc)
        if (
            isinstance(result, CallToolResult)
            and result.structured_content is not None
            and not result.is_error
        ):
            # Optional fields that are empty are left out of both copies, never sent as null.
            structured = _without_nulls(result.structured_content)
            text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"))
            result = result.model_copy(
                update={"content": [TextContent(type="text", text=text)], "structured_content": structured}
            )
        return result


def _outcome(result: CallToolResult | InputRequiredResult) -> tuple[str, str | None]:
    """The call's outcome for logs and the audit trail: "ok" (and the result's status), a code, or
    "input_required" while the user is asked to confirm."""
    if isinstance(result, InputRequiredResult):
        return "input_required", None
    if result.is_error:
        text = result.content[0].text if result.content and isinstance(result.content[0], TextContent) else ""
        code = _CODE.match(text)
        return (code.group(1) if code else "error"), None
    status = (result.structured_content or {}).get("status")
    return "ok", status if isinstance(status, str) else None


def _log_call(name: str, outcome: str, status: str | None, started: float) -> None:
    """One line per call: tool, outcome and duration, never arguments (they hold personal data)."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    calls_logger.info(
        "tool=%s code=%s%s duration_ms=%s",
        name,
        outcome,
        f" status={status}" if status else "",
        duration_ms,
        extra={"tool": name, "code": outcome, "status": status, "duration_ms": duration_ms},
    )


def _empty_accept(exc: BaseException | None) -> bool:
    while exc is not None:
        if _EMPTY_ACCEPT in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _declined(next_step: str) -> CallToolResult:
    structured = {"status": "declined", "next_step": next_step}
    text = json.dumps(structured, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
