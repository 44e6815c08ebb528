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
from wix_meetings_mcp.tools.results import DeactivateResult, LinkResult, LinksResult, link_out
from wix_meetings_mcp.tools.text import fenced

LinkId = Annotated[
    str, Field(min_length=1, max_length=128, description="A link_id from list_scheduling_links.")
]
RedirectUrl = Annotated[
    str | None,
    Field(
        default=None,
        max_length=2048,
        pattern=r"^https?://",
        description="Where visitors of the deactivated link are sent instead (http or https URL).",
    ),
]
ConfirmationToken = Annotated[
    str | None,
    Field(
        default=None,
        max_length=1024,
        description="Only on the second call: the token the first call returned, after the user agreed.",
    ),
]


async def list_scheduling_links(
    ctx: ToolContext,
    include_inactive: Annotated[bool, Field(description="Also list deactivated links.")] = False,
) -> LinksResult:
    """List the business's scheduling links (each a bookable meeting type with one host, allowed
    durations, one location and optional price). Use a link_id with find_slots to offer times.
    Deactivated links are left out unless include_inactive is true.
    """
    links = await deps(ctx).backend.list_links(include_inactive=include_inactive)
    return LinksResult(links=[link_out(link) for link in links])


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
    """Deactivate a scheduling link so nobody can book it; existing meetings stay. Reversible with
    activate_scheduling_link. The user is asked to confirm: if your client cannot ask, the first call
    changes nothing and returns status "confirmation_required" with a preview and a
    confirmation_token; show the preview to the user and, only if they agree, call again with the token.
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
    return DeactivateResult(status="deactivated", link=link_out(link))


async def activate_scheduling_link(link_id: LinkId, ctx: ToolContext) -> LinkResult:
    """Activate a scheduling link again so it can be booked (safe to repeat). Next: find_slots."""
    link = await deps(ctx).backend.set_link_active(link_id, active=True)
    return LinkResult(link=link_out(link))
