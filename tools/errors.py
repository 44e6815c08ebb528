"""The one translator from failures to the contract's coded tool results.

A failed call is `isError: true` with text `code: message Next step`, never the SDK's bare
"Error executing tool". Argument validation failures become `invalid_argument` naming the
fields (never echoing the values: they may be huge or hostile).
"""

from __future__ import annotations

import logging

from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from wix_meetings_mcp.bookings.errors import (
    BackendError,
    BookingError,
    NotFound,
    SlotUnavailable,
    WriteOutcomeUnknown,
)

logger = logging.getLogger(__name__)


def coded(code: str, message: str, next_step: str | None = None) -> CallToolResult:
    text = f"{code}: {message}" + (f". {next_step}" if next_step else "")
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def from_booking_error(exc: BookingError) -> CallToolResult:
    if isinstance(exc, BackendError):
        # status and request id go to the log for support; the agent gets the code and advice.
        logger.warning("backend error %s status=%s request_id=%s", exc.code, exc.status, exc.request_id)
    return coded(exc.code, exc.message.rstrip("."), _next_step(exc))


def _next_step(exc: BookingError) -> str | None:
    """The adapter's advice plus the tool to call: adapters never name a tool, this layer does."""
    if isinstance(exc, WriteOutcomeUnknown):
        check = (
            "It may have been applied: check with get_meeting, list_meetings or list_scheduling_links "
            "before writing again, never just repeat it."
        )
        return f"{exc.next_step.rstrip('.')}. {check}" if exc.next_step else check
    if isinstance(exc, SlotUnavailable) and "find_slots" not in (exc.next_step or ""):
        return "Call find_slots again and offer other times."
    if isinstance(exc, NotFound) and not exc.next_step:
        for key, where in _LISTS.items():
            if key in exc.context:
                return f"Valid ids come from {where}"
    return exc.next_step


# Where an agent finds valid ids of each kind, by the context key a NotFound carries.
_LISTS = {
    "meeting_id": "list_meetings",
    "link_id": "list_scheduling_links",
    "connection_id": "list_calendar_connections",
    "host_id": "list_scheduling_links (each link names its host)",
}


def from_validation_error(exc: ValidationError) -> CallToolResult:
    problems = []
    for err in exc.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(part) for part in err["loc"] if part != "arguments") or "arguments"
        problems.append(f"{where}: {_plain(err['type'], err['msg'])}")
    return coded("invalid_argument", "; ".join(problems), "Fix the named arguments and call again.")


def _plain(kind: str, message: str) -> str:
    """The parser's words where they would confuse a model, else pydantic's own."""
    if kind.startswith("date_"):
        return "use a date as YYYY-MM-DD"
    if kind.startswith(("datetime_", "timezone_")):
        return "use ISO 8601 with a UTC offset, e.g. 2026-12-01T09:00:00+01:00"
    return message


def unknown_arguments(name: str, given: set[str], known: set[str]) -> CallToolResult:
    unknown = sorted(given - known)
    return coded(
        "invalid_argument",
        f"{name} has no argument {', '.join(repr(u[:40]) for u in unknown[:5])}; it takes {', '.join(sorted(known))}",
        "Call again with only those arguments.",
    )


def from_tool_error(name: str, exc: ToolError) -> CallToolResult:
    """Unwrap what the SDK wrapped: domain errors, validation failures, unknown tools, crashes."""
    cause = exc.__cause__
    while isinstance(cause, ToolError) and cause.__cause__ is not None:
        cause = cause.__cause__
    if isinstance(cause, BookingError):
        return from_booking_error(cause)
    if isinstance(cause, ValidationError):
        return from_validation_error(cause)
    if cause is None and not isinstance(exc, UnexpectedToolError) and str(exc).startswith("Unknown tool"):
        return coded(
            "not_found", f"there is no tool named {name[:64]!r}", "Call tools/list to see the tools."
        )
    logger.error("tool %r failed unexpectedly", name, exc_info=cause or exc)
    return coded(
        "internal_error",
        f"{name} failed unexpectedly; nothing more is known to the agent (the server logged it)",
        "Try once more; if it fails again, tell the user the scheduling service has a problem.",
    )
