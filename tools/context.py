"""What every tool needs, built once by server/ and reached through the MCP lifespan context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mcp.server.mcpserver import Context

from bookings.model import Business
from bookings.port import Backend
from tools.confirm import ConfirmationTokens, ConfirmMode
from tools.idempotency import IdempotencyStore
from tools.slot_ids import SlotIds
from tools.timefmt import zone


@dataclass
class Deps:
    backend: Backend
    clock: Callable[[], datetime]
    slot_ids: SlotIds
    confirmations: ConfirmationTokens
    idempotency: IdempotencyStore
    confirm_mode: ConfirmMode = "auto"
    allow_file_feeds: bool = (
        True  # file:// calendar feeds read the server's disk: stdio (the user's own machine) only
    )
    _business: Business | None = field(default=None, repr=False)

    async def business(self) -> Business:
        # The business name and zone change rarely; one lookup per process keeps find_slots at one call.
        if self._business is None:
            self._business = (await self.backend.get_account()).business
        return self._business

    async def zone_or_default(self, name: str | None) -> ZoneInfo:
        return zone(name if name is not None else (await self.business()).time_zone)


ToolContext = Context[Deps, Any]


def deps(ctx: ToolContext) -> Deps:
    return ctx.request_context.lifespan_context


def client_can_elicit(ctx: ToolContext) -> bool:
    caps = ctx.client_capabilities
    return caps is not None and caps.elicitation is not None
