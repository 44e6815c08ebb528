"""get_account: who the agent works for, the plan, and how close it is to its limits."""

from __future__ import annotations

from wix_meetings_mcp.tools.context import ToolContext, deps
from wix_meetings_mcp.tools.results import AccountResult
from wix_meetings_mcp.tools.timefmt import local, zone


async def get_account(ctx: ToolContext) -> AccountResult:
    """See the business, its time zone, the current time there, and the plan: premium or free,
    meetings used and the limit (the free plan allows 3 meetings; cancelled ones do not count),
    and which premium features are on (external calendars, video conferencing, paid meetings).

    Call this first in a conversation: it tells you the business time zone every other tool
    defaults to, and whether book_meeting or connect_calendar would be refused by the plan.
    Next: list_scheduling_links.
    """
    d = deps(ctx)
    account = await d.fresh_account()
    return AccountResult(
        backend=account.backend,
        business=account.business,
        now=local(d.clock(), zone(account.business.time_zone)),
        plan=AccountResult.PlanOut(
            name=account.plan.name,
            premium=account.plan.premium,
            meetings_used=account.meetings_used,
            meetings_limit=account.plan.meetings_limit,
        ),
        features=account.features,
    )
