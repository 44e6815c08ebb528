"""Toolset `admin`: video-conferencing accounts, by "Managing Multiple Video Conferencing Links".

A default account for the business and individual accounts per host that win over it; a custom
link with URL, password and description, or unique rooms per meeting. Removing the default
removes every video link, hosts' own accounts included. Premium, as on Wix; removal is confirmed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from pydantic import BaseModel, Field

from wix_meetings_mcp.bookings.model import VideoAccount
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.admin import admin_of
from wix_meetings_mcp.tools.confirm import (
    ConfirmAnswer,
    Gate,
    approved,
    confirmation_request,
    elicit_if_asked,
)
from wix_meetings_mcp.tools.context import ToolContext, confirmation_gate, deps
from wix_meetings_mcp.tools.links import ConfirmationToken
from wix_meetings_mcp.tools.results import ConfirmationFields
from wix_meetings_mcp.tools.spec import ToolSpec, spec, write
from wix_meetings_mcp.tools.text import fenced

VideoHost = Annotated[
    str | None, Field(default=None, max_length=128, description="A host's own account; omit for the default.")
]


class VideoAccountOut(BaseModel):
    host_id: str | None = None
    url: str
    password: str | None = None
    description: str | None = None
    unique_rooms: bool


class VideoAccountResult(BaseModel):
    account: VideoAccountOut
    next_step: str


class VideoDisconnectResult(ConfirmationFields):
    status: Literal["disconnected", "confirmation_required", "declined"]
    account: VideoAccountOut | None = None
    next_step: str | None = None


def _out(account: VideoAccount) -> VideoAccountOut:
    return VideoAccountOut(**account.model_dump())


async def connect_video_account(
    url: Annotated[
        str,
        Field(
            min_length=8, max_length=2048, pattern=r"^https://", description="The meeting room URL (https)."
        ),
    ],
    ctx: ToolContext,
    host_id: VideoHost = None,
    password: Annotated[
        str | None, Field(default=None, max_length=128, description="Room password, shown to attendees.")
    ] = None,
    description: Annotated[
        str | None, Field(default=None, max_length=500, description="How to join, shown to attendees.")
    ] = None,
    unique_rooms: Annotated[
        bool, Field(description="Give each meeting its own room under url (e.g. a Jitsi server).")
    ] = False,
) -> VideoAccountResult:
    """Set the business's default video account (no host_id) or a host's own, which wins over the
    default. Meetings on video links then get a join link; without a default account none does,
    even for hosts with their own. Premium plan.
    """
    d = deps(ctx)
    account = await d.fresh_account()
    guards.premium(account, "video conferencing", account.features.video_conferencing)
    saved = await admin_of(d.backend).connect_video_account(
        VideoAccount(
            host_id=host_id, url=url, password=password, description=description, unique_rooms=unique_rooms
        )
    )
    # The seed's rule (no default, no video links) is the embedded engine's; Wix uses a host's own link.
    ready = host_id is None or account.features.video_ready or account.backend != "local"
    return VideoAccountResult(
        account=_out(saved),
        next_step="New video meetings get this join link."
        if ready
        else "Saved, but video meetings get no join link until the default account is connected (no host_id).",
    )


async def _video_gate(host_id: str | None, confirmation_token: str | None, ctx: ToolContext) -> Gate:
    d = deps(ctx)
    accounts = await admin_of(d.backend).video_accounts()
    current = next((a for a in accounts if a.host_id == host_id), None)
    whose = (
        f"of host {fenced(host_id)}" if host_id else "of the business (the default: every video link goes)"
    )
    question = f"Disconnect the video account {whose}? New video meetings lose its join link."
    if current is None:
        return Gate(decision="proceed", question=question)  # nothing to remove: nothing to confirm
    return await confirmation_gate(
        ctx,
        tool="disconnect_video_account",
        args={"host_id": host_id},
        question=question,
        token=confirmation_token,
    )


async def _ask_video(decided: Annotated[Gate, Resolve(_video_gate)]) -> ConfirmAnswer | Elicit[ConfirmAnswer]:
    return elicit_if_asked(decided)


async def disconnect_video_account(
    ctx: ToolContext,
    decided: Annotated[Gate, Resolve(_video_gate)],
    answer: Annotated[ElicitationResult[ConfirmAnswer], Resolve(_ask_video)],
    host_id: VideoHost = None,
    confirmation_token: ConfirmationToken = None,
) -> VideoDisconnectResult:
    """Remove a host's video account, or the default (no host_id): without the default no new meeting
    gets a video link. If the user cannot be asked here, the first call returns a preview and
    confirmation_token: once they agree, repeat the call with it. Safe to repeat.
    """
    d = deps(ctx)
    if decided.decision == "token":
        return VideoDisconnectResult.model_validate(
            confirmation_request(
                d.confirmations, "disconnect_video_account", {"host_id": host_id}, decided.question
            )
        )
    if not approved(decided, answer):
        return VideoDisconnectResult(
            status="declined", next_step="The user did not confirm; the account stays."
        )
    removed = await admin_of(d.backend).disconnect_video_account(host_id)
    return VideoDisconnectResult(
        status="disconnected",
        account=None if removed is None else _out(removed),
        next_step="Meetings already booked keep their link; connect_video_account sets one again.",
    )


TOOLS: tuple[ToolSpec, ...] = (
    spec(connect_video_account, "Connect a video account", "admin",
         write(destructive=False, idempotent=True, open_world=False)),
    spec(disconnect_video_account, "Disconnect a video account", "admin",
         write(destructive=True, idempotent=True, open_world=False)),
)  # fmt: skip
