"""Toolset `admin` (off unless enabled): set-up and configuration from the Wix Meetings sample flows.

Provision Meetings, create and change scheduling links (durations, buffer, location, price and
deposit), create hosts connected to a site collaborator, and disconnect a calendar (confirmed).
Guardrails come before any write: the Meetings restrictions and sane values (tools/guards.py),
then the premium gates for paid meetings and video.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from pydantic import BaseModel, Field

from wix_meetings_mcp.bookings.errors import BookingError, InvalidArgument, NotFound, NotSupported
from wix_meetings_mcp.bookings.model import (
    CalendarConnection,
    HostUserStatus,
    LinkChange,
    Location,
    LocationKind,
    NewLink,
    Policy,
    Price,
)
from wix_meetings_mcp.bookings.port import Admin, Backend
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.booking import EMAIL, IdempotencyKey
from wix_meetings_mcp.tools.confirm import (
    ConfirmAnswer,
    Gate,
    approved,
    confirmation_request,
    elicit_if_asked,
)
from wix_meetings_mcp.tools.context import ToolContext, confirmation_gate, deps
from wix_meetings_mcp.tools.idempotency import once
from wix_meetings_mcp.tools.links import ConfirmationToken, LinkId
from wix_meetings_mcp.tools.results import (
    ConfirmationFields,
    ConnectionOut,
    LinkOut,
    connection_out,
    link_out,
)
from wix_meetings_mcp.tools.spec import ToolSpec, spec, write
from wix_meetings_mcp.tools.text import fenced

# --- arguments ------------------------------------------------------------------------------------


class LocationIn(BaseModel):
    kind: LocationKind = Field(
        description="video (video conferencing: premium plan), phone, business_address (the business's "
        "address), custom_address (give address) or customer_address (the attendee says where)."
    )
    address: str | None = Field(
        default=None,
        min_length=3,
        max_length=300,
        description="Street address: required for custom_address; optional for business_address.",
    )


class PriceIn(BaseModel):
    amount: Decimal = Field(
        gt=0, le=100_000, decimal_places=2, description="The full price, e.g. 50 or 49.90 (premium plan)."
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR or USD.")
    deposit: Decimal | None = Field(
        default=None,
        gt=0,
        le=100_000,
        decimal_places=2,
        description="Optional deposit paid when booking instead of the full price; at most the price.",
    )


Name = Annotated[
    str, Field(min_length=1, max_length=100, description="Shown to people booking, e.g. 'Intro call'.")
]
Durations = Annotated[
    list[Annotated[int, Field(ge=guards.MIN_DURATION, le=guards.MAX_DURATION)]] | None,
    Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Allowed meeting lengths in minutes, e.g. [30] or [30, 60]; the first is the default.",
    ),
]
Buffer = Annotated[int, Field(ge=0, le=720, description="Free minutes kept between two meetings.")]
Locations = Annotated[
    list[LocationIn] | None,
    Field(
        default=None,
        min_length=1,
        max_length=5,
        description="Where meetings happen. A Meetings link has exactly one location: pass one.",
    ),
]
Approval = Annotated[bool, Field(description="Bookings stay pending until the host approves them.")]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL)]


# --- results --------------------------------------------------------------------------------------


class SetupLinkResult(BaseModel):
    link: LinkOut
    next_step: str


class HostAccountOut(BaseModel):
    host_id: str
    name: str
    email: str | None = None


class HostResult(BaseModel):
    host: HostAccountOut
    user_email: str
    user_status: HostUserStatus
    next_step: str


class DisconnectResult(ConfirmationFields):
    status: Literal["disconnected", "confirmation_required", "declined"]
    connection: ConnectionOut | None = None
    next_step: str | None = None


# --- tools ----------------------------------------------------------------------------------------


def admin_of(backend: Backend) -> Admin:
    admin = backend.admin
    if admin is None:
        raise NotSupported(
            f"the {backend.name} backend offers no set-up operations",
            next_step=f"Set this up in the {backend.name} app itself; the booking tools work as usual.",
        )
    return admin


def _location(given: list[LocationIn] | None) -> Location | None:
    return guards.one_location([Location(kind=x.kind, address=x.address) for x in given or []])


def _price(given: PriceIn | None) -> Price | None:
    if given is None:
        return None
    money = Price(amount=given.amount, currency=given.currency, deposit=given.deposit)
    guards.price(money)
    return money


async def provision_meetings(ctx: ToolContext) -> SetupLinkResult:
    """Set up Meetings for the business, as the first step of the "Set up Wix Meetings" flow: a
    booking form, a default booking policy (cancellation until 24 hours before), business hours and a
    default 30-minute scheduling link. Safe to repeat: it returns the default link. Next: change it
    with update_scheduling_link, add others with create_scheduling_link, or share link.booking_url.
    """
    link = await admin_of(deps(ctx).backend).provision_meetings()
    return SetupLinkResult(
        link=link_out(link),
        next_step="Meetings is set up. Change this link with update_scheduling_link or add another with "
        "create_scheduling_link; find_slots shows its free times.",
    )


async def create_scheduling_link(
    name: Name,
    ctx: ToolContext,
    durations_minutes: Durations = None,
    buffer_minutes: Buffer = 0,
    locations: Locations = None,
    price: Annotated[
        PriceIn | None,
        Field(default=None, description="Charge for the meeting (premium plan); leave out for free."),
    ] = None,
    requires_approval: Approval = False,
    cancellation_window_hours: Annotated[
        int | None,
        Field(
            default=None,
            ge=0,
            le=8760,
            description="Cancelling and rescheduling close this many hours before the start "
            "(default: the site's policy, 24 hours; 0: until the start).",
        ),
    ] = None,
    min_notice_hours: Annotated[
        int | None,
        Field(
            default=None, ge=1, le=8760, description="Meetings start at least this many hours after booking."
        ),
    ] = None,
    max_advance_days: Annotated[
        int | None,
        Field(default=None, ge=1, le=730, description="Meetings can be booked at most this many days ahead."),
    ] = None,
    host_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=128)]] | None,
        Field(
            default=None,
            max_length=5,
            description="The link's host (a host_id from create_host or list_scheduling_links); default: "
            "the business's only host. A Meetings link has exactly one host: pass one.",
        ),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> SetupLinkResult:
    """Create a scheduling link (a bookable meeting type) with one host, its allowed durations, a
    buffer between meetings, one location (phone by default) and, on a premium plan, a price with an
    optional deposit. Paid and video links need a premium plan: check get_account first. Pass
    idempotency_key to make a retry safe. Next: share link.booking_url, or find_slots with link_id.
    """
    d = deps(ctx)
    admin = admin_of(d.backend)
    host_id = guards.one_host(host_ids or [])
    location = _location(locations) or Location(kind="phone")
    minutes = guards.durations(durations_minutes or [30])
    money = _price(price)
    policy = None  # the site's default booking policy
    if any(v is not None for v in (cancellation_window_hours, min_notice_hours, max_advance_days)):
        policy = Policy(
            cancellation_window=Policy().cancellation_window
            if cancellation_window_hours is None
            else timedelta(hours=cancellation_window_hours),
            min_notice=None if min_notice_hours is None else timedelta(hours=min_notice_hours),
            max_advance=None if max_advance_days is None else timedelta(days=max_advance_days),
        )
    guards.paid_and_video(await d.backend.get_account(), price=money, location=location)
    request = NewLink(
        name=name,
        location=location,
        durations_minutes=minutes,
        buffer_minutes=buffer_minutes,
        price=money,
        requires_approval=requires_approval,
        policy=policy,
        host_id=host_id,
    )

    async def create() -> SetupLinkResult:
        link = await admin.create_scheduling_link(request)
        return SetupLinkResult(
            link=link_out(link),
            next_step="Share link.booking_url with people who should book, or call find_slots with this "
            "link_id to offer times.",
        )

    return await once(
        d.idempotency, scope="create_scheduling_link", key=idempotency_key,
        args=request.model_dump(mode="json"), now=d.clock(), result_type=SetupLinkResult, run=create,
    )  # fmt: skip


async def update_scheduling_link(
    link_id: LinkId,
    ctx: ToolContext,
    name: Annotated[
        str | None, Field(default=None, min_length=1, max_length=100, description="A new name.")
    ] = None,
    durations_minutes: Durations = None,
    buffer_minutes: Annotated[
        int | None,
        Field(default=None, ge=0, le=720, description="Free minutes kept between two meetings."),
    ] = None,
    locations: Locations = None,
    price: Annotated[
        PriceIn | None,
        Field(default=None, description="Set or change the price and deposit (premium plan)."),
    ] = None,
    make_free: Annotated[bool, Field(description="Remove the price: the link becomes free.")] = False,
    requires_approval: Annotated[
        bool | None,
        Field(default=None, description="Whether bookings stay pending until the host approves them."),
    ] = None,
) -> SetupLinkResult:
    """Change a scheduling link: its name, allowed durations, buffer, its one location (video,
    phone or an address), its price and deposit, or make it free (make_free). Only what you pass
    changes; meetings already booked keep their time. Paid and video links need a premium plan.
    Next: find_slots shows the link's times with the new settings.
    """
    d = deps(ctx)
    admin = admin_of(d.backend)
    if make_free and price is not None:
        raise InvalidArgument(
            "pass either price or make_free, not both", next_step="Decide whether the link is paid."
        )
    location = _location(locations)
    minutes = None if durations_minutes is None else guards.durations(durations_minutes)
    money = _price(price)
    change = LinkChange(
        name=name,
        durations_minutes=minutes,
        buffer_minutes=buffer_minutes,
        location=location,
        price=money,
        remove_price=make_free,
        requires_approval=requires_approval,
    )
    if change == LinkChange():
        raise InvalidArgument("nothing to change", next_step="Pass at least one setting to change.")
    guards.paid_and_video(await d.backend.get_account(), price=money, location=location)
    link = await admin.update_scheduling_link(link_id, change)
    return SetupLinkResult(link=link_out(link), next_step="Saved. find_slots now follows these settings.")


async def create_host(
    name: Annotated[
        str, Field(min_length=1, max_length=40, description="The host's name, shown to attendees.")
    ],
    email: Annotated[
        Email,
        Field(
            description="Email of the site collaborator who is this host (Meetings needs each host "
            "connected to one); on Wix they get an invitation if they are not on the site yet."
        ),
    ],
    ctx: ToolContext,
    host_id: Annotated[
        str | None,
        Field(
            default=None,
            max_length=128,
            description="Only to retry an earlier create_host that created the host but could not "
            "connect it: connect this host instead of creating another (name is then not used).",
        ),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> HostResult:
    """Create a host (the professional who holds meetings, available during business hours) and
    connect it to the site collaborator with this email. Next: create_scheduling_link with
    host_ids=[host_id], and connect_calendar with host_id for the host's own calendar.
    """
    d = deps(ctx)
    admin = admin_of(d.backend)

    async def create() -> HostResult:
        target = host_id or (await admin.create_host(name=name, email=email)).host_id
        try:
            connected = await admin.connect_host(target, email=email)
        except BookingError as exc:
            if host_id is None:  # say how to finish without creating the host twice
                advice = [f"The host was created (host_id {target}) but not connected.", exc.next_step,
                          f"Then call create_host again with host_id {target!r}."]  # fmt: skip
                exc.next_step = " ".join(part for part in advice if part)
            raise
        host = connected.host
        invited = connected.status != "connected"
        return HostResult(
            host=HostAccountOut(host_id=host.host_id, name=host.name, email=host.email),
            user_email=connected.user_email,
            user_status=connected.status,
            next_step=(f"{connected.user_email} was invited and manages the host's meetings once they "
                       "accept. " if invited else "")
            + f"Create a link for this host: create_scheduling_link with host_ids ['{host.host_id}'].",
        )  # fmt: skip

    args = {"name": name, "email": email, "host_id": host_id}
    return await once(
        d.idempotency, scope="create_host", key=idempotency_key, args=args, now=d.clock(),
        result_type=HostResult, run=create,
    )  # fmt: skip


# --- disconnect_calendar (destructive: confirmed) ----------------------------------------------------

ConnectionId = Annotated[
    str,
    Field(min_length=1, max_length=128, description="A connection_id from list_calendar_connections."),
]
ConnectionHost = Annotated[
    str | None,
    Field(
        default=None,
        max_length=128,
        description="The host whose calendar it is; needed only when the host has no scheduling link.",
    ),
]
_PROVIDERS = {"google": "Google", "outlook": "Outlook", "apple": "Apple (iCloud)"}


async def _connection(connection_id: str, host_id: str | None, ctx: ToolContext) -> CalendarConnection:
    backend = deps(ctx).backend
    admin_of(backend)  # not_supported before anything else
    for connection in await backend.list_calendar_connections(host_id):
        if connection.connection_id == connection_id:
            return connection
    raise NotFound(
        f"there is no calendar connection {connection_id!r}",
        next_step="Call list_calendar_connections (with host_id for a host without a scheduling link).",
    )


async def _disconnect_gate(
    connection_id: str,
    host_id: str | None,
    confirmation_token: str | None,
    ctx: ToolContext,
    connection: Annotated[CalendarConnection, Resolve(_connection)],
) -> Gate:
    account = f" ({fenced(connection.account_email)})" if connection.account_email else ""
    question = (
        f"Disconnect the {_PROVIDERS[connection.provider]} calendar{account} of host {connection.host_id}? "
        "Its busy times will no longer block meeting slots."
    )
    if connection.status == "disconnected":
        return Gate(decision="proceed", question=question)  # already done: nothing to confirm
    return await confirmation_gate(
        ctx,
        tool="disconnect_calendar",
        args={"connection_id": connection_id, "host_id": host_id},
        question=question,
        token=confirmation_token,
    )


async def _ask_disconnect(
    decided: Annotated[Gate, Resolve(_disconnect_gate)],
) -> ConfirmAnswer | Elicit[ConfirmAnswer]:
    return elicit_if_asked(decided)


async def disconnect_calendar(
    connection_id: ConnectionId,
    ctx: ToolContext,
    connection: Annotated[CalendarConnection, Resolve(_connection)],
    decided: Annotated[Gate, Resolve(_disconnect_gate)],
    answer: Annotated[ElicitationResult[ConfirmAnswer], Resolve(_ask_disconnect)],
    host_id: ConnectionHost = None,
    confirmation_token: ConfirmationToken = None,
) -> DisconnectResult:
    """Disconnect a host's external calendar: its busy times stop blocking slots and meetings stop
    being written to it. The user is asked to confirm: if your client cannot ask, the first call
    changes nothing and returns status "confirmation_required" with a preview and a
    confirmation_token; show the preview to the user and, only if they agree, call again with the
    token. Disconnecting twice is safe. To connect again: connect_calendar.
    """
    d = deps(ctx)
    if decided.decision == "token":
        args = {"connection_id": connection_id, "host_id": host_id}
        return DisconnectResult.model_validate(
            confirmation_request(d.confirmations, "disconnect_calendar", args, decided.question)
        )
    if not approved(decided, answer):
        return DisconnectResult(
            status="declined", next_step="The user did not confirm; the calendar stays connected."
        )
    if connection.status != "disconnected":
        connection = await admin_of(d.backend).disconnect_calendar_connection(connection)
    return DisconnectResult(
        status="disconnected",
        connection=connection_out(connection),
        next_step="Its busy times no longer block slots; connect_calendar connects it again.",
    )


TOOLS: tuple[ToolSpec, ...] = (
    spec(provision_meetings, "Provision Meetings", "admin",
         write(destructive=False, idempotent=True, open_world=False)),
    spec(create_scheduling_link, "Create a scheduling link", "admin",
         write(destructive=False, idempotent=False, open_world=False)),
    spec(update_scheduling_link, "Change a scheduling link", "admin",
         write(destructive=False, idempotent=True, open_world=False)),
    # Connecting a host may send the collaborator an invitation: open-world.
    spec(create_host, "Create a host", "admin",
         write(destructive=False, idempotent=False, open_world=True)),
    # Disconnecting removes the meetings Wix wrote to the external calendar: open-world.
    spec(disconnect_calendar, "Disconnect a calendar", "admin",
         write(destructive=True, idempotent=True, open_world=True)),
)  # fmt: skip
