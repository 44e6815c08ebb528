"""External calendars: connect the host's Google / Outlook / Apple calendar so its busy times block slots."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr

from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.model import CalendarProvider, ConnectCalendarRequest
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.booking import EMAIL
from wix_meetings_mcp.tools.context import ToolContext, deps
from wix_meetings_mcp.tools.results import ConnectionsResult, ConnectResult, connection_out

HostId = Annotated[
    str | None,
    Field(default=None, max_length=128, description="The host; default: the business's only host."),
]


async def connect_calendar(
    provider: Annotated[CalendarProvider, Field(description="google, outlook or apple (iCloud).")],
    ctx: ToolContext,
    host_id: HostId = None,
    redirect_url: Annotated[
        str | None,
        Field(
            default=None, max_length=2048, pattern=r"^https?://", description="OAuth: where to return after."
        ),
    ] = None,
    email: Annotated[
        str | None, Field(default=None, max_length=254, pattern=EMAIL, description="Apple ID (apple only).")
    ] = None,
    password: Annotated[
        SecretStr | None,
        Field(
            default=None,
            max_length=256,
            description="Apple app-specific password (apple only); never stored.",
        ),
    ] = None,
    ics_url: Annotated[
        str | None,
        Field(
            default=None,
            max_length=2048,
            pattern=r"^(https?|webcal|file)://",
            description="The calendar's secret iCal (ICS) address; its busy times then block slots "
            "(Google: Settings → Integrate calendar → Secret address in iCal format).",
        ),
    ] = None,
) -> ConnectResult:
    """Connect the host's external calendar (premium plan) so its busy times block slots and, where
    the backend supports it, booked meetings are written to it. Depending on the backend and
    provider, the result is "connected", or "authorization_required" with an authorization_url the
    host must open in a browser; follow next_step. Check the plan with get_account first.
    """
    d = deps(ctx)
    if ics_url is not None and ics_url.startswith("file:") and not d.allow_file_feeds:
        raise InvalidArgument(
            "file:// calendar feeds are read only when the server runs on the user's machine (stdio)",
            next_step="Pass the calendar's https:// iCal address instead.",
        )
    account = await d.backend.get_account()
    guards.premium(account, "connecting an external calendar", account.features.external_calendars)
    started = await d.backend.connect_calendar(
        ConnectCalendarRequest(
            provider=provider,
            host_id=host_id,
            redirect_url=redirect_url,
            email=email,
            password=None if password is None else password.get_secret_value(),
            ics_url=ics_url,
        )
    )
    connection = started.connection
    return ConnectResult(
        status=started.status,
        connection_id=None if connection is None else connection.connection_id,
        connection=None if connection is None else connection_out(connection),
        authorization_url=started.authorization_url,
        next_step=started.next_step,
    )


async def list_calendar_connections(ctx: ToolContext, host_id: HostId = None) -> ConnectionsResult:
    """List the host's connected external calendars and whether busy times are imported from them
    (import_enabled) and meetings written to them (export_enabled)."""
    connections = await deps(ctx).backend.list_calendar_connections(host_id)
    return ConnectionsResult(connections=[connection_out(c) for c in connections])
