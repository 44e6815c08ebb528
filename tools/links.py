"""Scheduling links: list them, deactivate (confirmed) and reactivate."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from pydantic import Field

from wix_meetings_mcp.tools.confirm import (
    ConfirmAnswer,
    Gate,
    approved,
    confirmation_request,
    elicit_if_asked,
)
from wix_meetings_mcp.tools.context import ToolContext, confirmation_gate, deps
from wix_meetings_mcp.tools.public import SERVE_HINT
from wix_meetings_mcp.tools.results import DeactivateResult, LinkResult, LinksResult, link_out
from wix_meetings_mcp.tools.text import fenced

LinkId = Annotated[str, Field(min_length=1, max_length=128, description="From list_scheduling_links.")]
RedirectUrl = Annotated[
    str | None,
    Field(
        default=None,
        max_length=2048,
        pattern=r"^https?://",
        description="Send visitors here.",
    ),
]
ConfirmationToken = Annotated[
    str | None,
    Field(
        default=None,
        max_length=1024,
        description="From the first call.",
    ),
]


async def list_scheduling_links(
    ctx: ToolContext,
    include_inactive: Annotated[bool, Field(description="Include inactive.")] = False,
) -> LinksResult:
    """Bookable links with their details and booking_url."""
    d = deps(ctx)
    every = await d.backend.list_links(include_inactive=True)
    shown = every if include_inactive else [link for link in every if link.active]
    hidden = len(every) - len(shown)
    hints = [
        f"{hidden} inactive link{'s are' if hidden != 1 else ' is'} not shown; include_inactive=true lists "
        "them, activate_scheduling_link reopens one."
        if hidden
        else "",
        SERVE_HINT if d.pages is not None and d.pages.base is None else "",
    ]
    return LinksResult(
        links=[link_out(link, d.pages) for link in shown], hint=" ".join(filter(None, hints)) or None
    )


async def _deactivate_gate(
    link_id: str, redirect_url: str | None, confirmation_token: str | None, ctx: ToolContext
) -> Gate:
    d = deps(ctx)
    link = await d.backend.get_link(link_id)
    question = (
        f"Deactivate the scheduling link {fenced(link.name)}? Nobody can book it until it is activated again."
    )
    if not link.active and (redirect_url is None or redirect_url == link.redirect_url):
        return Gate(decision="proceed", question=question)  # already done: nothing to confirm
    return await confirmation_gate(
        ctx,
        tool="deactivate_scheduling_link",
        args={"link_id": link_id, "redirect_url": redirect_url},
        question=question,
        token=confirmation_token,
    )


async def _ask_deactivate(
    decided: Annotated[Gate, Resolve(_deactivate_gate)],
) -> ConfirmAnswer | Elicit[ConfirmAnswer]:
    return elicit_if_asked(decided)


async def deactivate_scheduling_link(
    link_id: LinkId,
    ctx: ToolContext,
    decided: Annotated[Gate, Resolve(_deactivate_gate)],
    answer: Annotated[ElicitationResult[ConfirmAnswer], Resolve(_ask_deactivate)],
    redirect_url: RedirectUrl = None,
    confirmation_token: ConfirmationToken = None,
) -> DeactivateResult:
    """Stop bookings on a link (meetings stay). If the user can't be asked here, the first call
    returns a preview and confirmation_token to pass once they agree.
    """
    d = deps(ctx)
    if decided.decision == "token":
        args = {"link_id": link_id, "redirect_url": redirect_url}
        return DeactivateResult.model_validate(
            confirmation_request(d.confirmations, "deactivate_scheduling_link", args, decided.question)
        )
    if not approved(decided, answer):
        return DeactivateResult(
            status="declined", next_step="The user did not confirm; the link stays active."
        )
    link = await d.backend.set_link_active(link_id, active=False, redirect_url=redirect_url)
    return DeactivateResult(status="deactivated", link=link_out(link, d.pages))


async def activate_scheduling_link(link_id: LinkId, ctx: ToolContext) -> LinkResult:
    """Reopen a link for bookings."""
    d = deps(ctx)
    link = await d.backend.set_link_active(link_id, active=True)
    return LinkResult(link=link_out(link, d.pages))
