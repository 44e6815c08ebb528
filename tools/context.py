"""What every tool needs, built once by server/ and reached through the MCP lifespan context."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from mcp.server.mcpserver import Context

from wix_meetings_mcp.bookings.errors import ConfirmationRequired, InvalidArgument
from wix_meetings_mcp.bookings.model import Account, Business, Meeting, Notification
from wix_meetings_mcp.bookings.port import Backend, CalendarAuthorizations, CalendarFeeds
from wix_meetings_mcp.tools.confirm import ConfirmationTokens, ConfirmMode, Gate, gate
from wix_meetings_mcp.tools.idempotency import IdempotencyStore, args_hash
from wix_meetings_mcp.tools.public import PublicPages
from wix_meetings_mcp.tools.results import View
from wix_meetings_mcp.tools.signing import Cursors
from wix_meetings_mcp.tools.slot_ids import SlotIds, SlotRef
from wix_meetings_mcp.tools.timefmt import zone

PLAN_TTL = timedelta(minutes=1)


@dataclass
class Deps:
    backend: Backend
    clock: Callable[[], datetime]
    slot_ids: SlotIds
    confirmations: ConfirmationTokens
    idempotency: IdempotencyStore
    cursors: Cursors
    confirm_mode: ConfirmMode = "auto"
    # file:// calendar feeds read the server's disk: stdio (the user's own machine) only.
    allow_file_feeds: bool = True
    # Who tells people of a write when notify_attendee is true: our outbox (a mail server is
    # configured), the vendor's own mails, or nobody. Results and previews claim only what is so.
    notifications: Literal["mail", "vendor", "none"] = "none"
    # The server's own scheduling pages (local engine); None where links carry a vendor's booking_url.
    pages: PublicPages | None = None
    # Import ages and export feeds: the local engine's (None on vendors, who sync themselves).
    feeds: CalendarFeeds | None = None
    # The backend keeps a write's receipt (idempotency result, audit row) in the write's own
    # transaction: the local engine on the server's own database.
    keeps_receipts: bool = False
    # OAuth callbacks of calendars the server connects itself (the local engine; None elsewhere).
    authorizations: CalendarAuthorizations | None = None
    _account: Account | None = field(default=None, repr=False)
    _account_at: datetime | None = field(default=None, repr=False)

    async def business(self) -> Business:
        # The business name and zone change rarely; one lookup per process keeps find_slots at one call.
        if self._account is None:
            await self.fresh_account()
        assert self._account is not None
        return self._account.business

    async def fresh_account(self) -> Account:
        self._account, self._account_at = await self.backend.get_account(), self.clock()
        return self._account

    async def account_for_booking(self) -> Account:
        """Plan and features, with an exact meeting count only where a limit makes it matter.

        On an unlimited plan a recent account is enough: that saves a remote count per booking
        (a Wix booking stays within three calls). The plan itself is re-read every minute.
        """
        cached, at = self._account, self._account_at
        if (
            cached is None
            or at is None
            or cached.plan.meetings_limit is not None
            or self.clock() - at > PLAN_TTL
        ):
            return await self.fresh_account()
        return cached

    async def zone_or_default(self, name: str | None) -> ZoneInfo:
        return zone(name if name is not None else (await self.business()).time_zone)

    async def slot_ref(self, slot_id: str) -> SlotRef:
        async def every_link_id() -> list[str]:
            return [link.link_id for link in await self.backend.list_links(include_inactive=True)]

        return await self.slot_ids.decode(slot_id, every_link_id)

    async def attendee_view(self, attendee_zone: str | None) -> View:
        """A meeting in the zone asked for, else as its attendee sees it, when their stored zone is a
        usable one (a zone the caller named and got wrong is refused before any write)."""
        try:
            return await self.view(attendee_zone)
        except InvalidArgument:
            return await self.view(None)

    async def view(self, name: str | None) -> View:
        """How a result shows times: in `name` (default: the business zone), with the business zone beside."""
        business = zone((await self.business()).time_zone)
        return View(tz=business if name is None else zone(name), business=business, now=self.clock())

    def notification(self, meeting: Meeting, notify_attendee: bool) -> Notification | None:
        """What a write told people: the backend's own account, else the vendor's mails, else nothing."""
        if meeting.notification is not None or self.notifications != "vendor":
            return meeting.notification
        return "queued" if notify_attendee else "off"  # the vendor sends (and queues) its own mails


ToolContext = Context[Deps, Any]


def deps(ctx: ToolContext) -> Deps:
    return ctx.request_context.lifespan_context


async def confirmation_gate(
    ctx: ToolContext, *, tool: str, args: Mapping[str, object], question: str, token: str | None
) -> Gate:
    """How this destructive call may proceed, given the server's mode and what the client can do.

    Callers return early when the work is already done (a retry after a lost answer gets the
    result again), so a token that reaches here is about to be used: it is spent, once. A replay
    after the state changed back (a link activated again) finds it spent and the user is asked anew.
    """
    d = deps(ctx)
    decided = gate(
        mode=d.confirm_mode,
        token=token,
        client_can_elicit=client_can_elicit(ctx),
        tokens=d.confirmations,
        tool=tool,
        args=args,
        question=question,
    )
    if token is not None and d.confirm_mode != "off":
        spent = await d.idempotency.claim(
            _SPENT_TOKENS, hashlib.sha256(token.encode()).hexdigest(), args_hash(args), now=d.clock()
        )
        if spent != "claimed":
            raise ConfirmationRequired(
                "this confirmation_token was already used, and the state has changed since",
                next_step="Call again without confirmation_token, show the new preview and ask the user again.",
            )
        await d.idempotency.complete(_SPENT_TOKENS, hashlib.sha256(token.encode()).hexdigest(), "spent")
    return decided


_SPENT_TOKENS = "confirmation_token"


def client_can_elicit(ctx: ToolContext) -> bool:
    caps = ctx.client_capabilities
    return caps is not None and caps.elicitation is not None
