"""Toolset `admin`: each host's export feed, their meetings as a secret iCal address to subscribe to.

The address is the credential (anyone holding it reads the host's meetings), so rotating it is
how a leaked one is revoked: the old address answers 404 from then on.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from wix_meetings_mcp.bookings.errors import NotSupported
from wix_meetings_mcp.tools.context import ToolContext, deps
from wix_meetings_mcp.tools.public import SERVE_HINT
from wix_meetings_mcp.tools.spec import ToolSpec, spec, write


class FeedResult(BaseModel):
    host_id: str
    export_feed_url: str | None = None
    next_step: str


async def rotate_export_feed(
    ctx: ToolContext,
    host_id: Annotated[
        str | None, Field(default=None, max_length=128, description="Default: the only host.")
    ] = None,
) -> FeedResult:
    """Replace the host's export feed address; the old one stops working. Calendars subscribed to it
    must subscribe to the new export_feed_url."""
    d = deps(ctx)
    if d.feeds is None:
        raise NotSupported(
            f"the {d.backend.name} backend exports meetings to the host's calendar itself",
            next_step="Use update_calendar_sync to switch the export of a connected calendar.",
        )
    owner, secret = await d.feeds.export_secret(host_id, rotate=True)
    url = None if d.pages is None else d.pages.feed_url(secret)
    return FeedResult(
        host_id=owner,
        export_feed_url=url,
        next_step="Subscribe the host's calendar app to export_feed_url; the old address now answers 404."
        if url
        else f"The old address stopped working. {SERVE_HINT.replace('booking_url', 'export_feed_url')}",
    )


TOOLS: tuple[ToolSpec, ...] = (
    spec(rotate_export_feed, "Rotate the export feed address", "admin",
         write(destructive=False, idempotent=False, open_world=False)),
)  # fmt: skip
