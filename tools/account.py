"""get_account: who the agent works for, the plan, and how close it is to its limits."""

from __future__ import annotations

from wix_meetings_mcp.tools.context import ToolContext, deps
from wix_meetings_mcp.tools.results import AccountResult
from wix_meetings_mcp.tools.timefmt import local, zone


async def get_account(ctx: ToolContext) -> AccountResult:
    """Business, time zone, now, plan (meetings used/limit, cancelled not counted), premium
    features. Call first.
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
