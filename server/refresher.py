"""The calendar refresher: a background task of the server that keeps imported calendars current.

Every POLL seconds it asks the local engine to refresh the feeds that are due; the engine claims
each one (see bookings/local/calendar_sync.py), so several processes on one database share the
work instead of repeating it. A find_slots never waits for this: it reads the last good import.
It never raises into the server: a failure is a log line and another try at the next look.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local import LocalBackend

logger = logging.getLogger(__name__)

POLL = 60.0  # seconds between looks; a feed is refreshed when its interval has passed


class CalendarRefresher:
    def __init__(self, backend: LocalBackend, *, poll: float = POLL) -> None:
        self._backend = backend
        # Never look less often than the interval itself (a 1-minute interval is honoured).
        self._poll = min(poll, backend.refresh_interval.total_seconds())

    async def run(self) -> None:
        """Refresh until cancelled (the server's shutdown)."""
        while True:
            await self.look()
            await anyio.sleep(self._poll)

    async def look(self) -> int:
        """Refresh what is due now; how many feeds were tried."""
        try:
            return await self._backend.refresh_calendars()
        except Exception:  # the database is busy or gone: look again later
            logger.warning("calendars could not be refreshed; retrying later", exc_info=True)
            return 0
