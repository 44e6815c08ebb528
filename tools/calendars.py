"""External calendars: connect the host's Google / Outlook / Apple calendar so its busy times block slots."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotSupported
from wix_meetings_mcp.bookings.model import AuthorizationOutcome, CalendarProvider, ConnectCalendarRequest
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.booking import EMAIL
from wix_meetings_mcp.tools.context import Deps, ToolContext, deps
from wix_meetings_mcp.tools.results import ConnectionsResult, ConnectResult, SyncResult, connection_out

HostId = Annotated[
    str | None,
    Field(default=None, max_length=128, description="Default: sole host."),
]


async def connect_calendar(
    provider: Annotated[CalendarProvider, Field(description="Service.")],
    ctx: ToolContext,
    host_id: HostId = None,
    redirect_url: Annotated[
        str | None,
        Field(default=None, max_length=2048, pattern=r"^https?://", description="After OAuth."),
    ] = None,
    email: Annotated[
        str | None, Field(default=None, max_length=254, pattern=EMAIL, description="Apple ID.")
    ] = None,
    password: Annotated[
        SecretStr | None,
        Field(
            default=None,
            max_length=256,
            description="App password.",
        ),
    ] = None,
    ics_url: Annotated[
        str | None,
        Field(
            default=None,
            max_length=2048,
            pattern=r"^(https?|webcal|file)://",
            description="iCal address.",
        ),
    ] = None,
    caldav_url: Annotated[
        str | None,
        Field(default=None, max_length=2048, pattern=r"^https?://", description="CalDAV server."),
    ] = None,
    calendar_id: Annotated[
        str | None, Field(default=None, max_length=512, description="Outlook only.")
    ] = None,
) -> ConnectResult:
    """Connect a host calendar (premium); busy times block slots. authorization_url: for the host."""
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
            caldav_url=caldav_url,
            calendar_id=calendar_id,
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


async def finish_authorization(
    d: Deps, provider: Literal["google", "outlook"], *, state: str | None, code: str | None, error: str | None
) -> AuthorizationOutcome:
    """The provider's OAuth callback (a page, not a tool): complete the pending connection the
    signed state names. InvalidArgument for a bad, expired or used state; nothing is stored then."""
    if d.authorizations is None:
        raise NotSupported("this server does not connect calendars by OAuth itself")
    return await d.authorizations.finish_authorization(provider, state=state, code=code, error=error)


async def list_calendar_connections(ctx: ToolContext, host_id: HostId = None) -> ConnectionsResult:
    """Calendars, export_feed_url."""
    d = deps(ctx)
    connections = await d.backend.list_calendar_connections(host_id)
    feed_url = None
    if d.feeds is not None and d.pages is not None and d.pages.base is not None:
        _, secret = await d.feeds.export_secret(host_id)
        feed_url = d.pages.feed_url(secret)
    return ConnectionsResult(connections=[connection_out(c) for c in connections], export_feed_url=feed_url)


async def update_calendar_sync(
    connection_id: Annotated[str, Field(max_length=128, description="From list_calendar_connections.")],
    ctx: ToolContext,
    import_enabled: Annotated[bool | None, Field(default=None, description="Blocks slots.")] = None,
    export_enabled: Annotated[bool | None, Field(default=None, description="Write meetings.")] = None,
) -> SyncResult:
    """Import/export."""
    if import_enabled is None and export_enabled is None:
        raise InvalidArgument("nothing to change", next_step="Pass import_enabled, export_enabled or both.")
    changed = await deps(ctx).backend.update_calendar_sync(
        connection_id, import_enabled=import_enabled, export_enabled=export_enabled
    )
    return SyncResult(connection=connection_out(changed))
