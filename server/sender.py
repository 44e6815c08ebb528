"""The outbox sender: a background task of the server that delivers queued invitations.

It claims due rows (a lease, see bookings/local/outbox.py), composes and sends each, and records
the outcome: sent, retry later with backoff, or given up. A write wakes it at once; it also looks
every POLL seconds, for rows other processes on the same database queued or whose lease expired.
It never raises into the server: a failure is a log line (with no secret) and a retry.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import anyio

from wix_meetings_mcp.bookings.local.outbox import Claimed, Outbox

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.pg_outbox import PgOutbox
from wix_meetings_mcp.server import invitations, smtp

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # longer than one send can take (smtp.TIMEOUT per step)
POLL = 30.0  # seconds between looks when nothing wakes it
BACKOFF = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)  # seconds before attempt 2, 3, ...


class OutboxSender:
    def __init__(
        self,
        outbox: Outbox | PgOutbox,
        target: smtp.SmtpTarget,
        *,
        sender: str,
        clock: Callable[[], datetime],
        tls_context: ssl.SSLContext | None = None,
        poll: float = POLL,
    ) -> None:
        self._outbox, self._target, self._sender = outbox, target, sender
        self._clock, self._tls, self._poll = clock, tls_context, poll
        self._wake = anyio.Event()
        # The attendee's own page, once the server knows its public address and signing secret.
        self.manage_url: Callable[[str], str | None] = lambda meeting_id: None

    def wake(self) -> None:
        """Called after a write queued invitations (from the event loop's thread)."""
        self._wake.set()

    async def run(self) -> None:
        """Drain until cancelled (the server's shutdown); a half-sent row is retried after its lease."""
        try:
            while True:
                await self.drain()
                await self._sleep()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._outbox.close)

    async def drain(self) -> int:
        """Send every due row now; returns how many were sent."""
        sent = 0
        while True:
            try:
                batch = await anyio.to_thread.run_sync(lambda: self._outbox.claim(self._clock(), lease=LEASE))
            except Exception:  # the database is busy or gone: look again later
                logger.warning("the mail outbox could not be read; retrying later", exc_info=True)
                return sent
            if not batch:
                return sent
            for claimed in batch:
                sent += await self._deliver(claimed)

    async def _deliver(self, claimed: Claimed) -> int:
        now = self._clock()
        try:
            message = invitations.compose(
                claimed.notice,
                sender=self._sender,
                message_key=claimed.message_key,
                now=now,
                manage_url=self.manage_url(claimed.notice.meeting.meeting_id),
            )
            await smtp.send(self._target, message, tls_context=self._tls)
        except smtp.MailError as exc:
            error = str(exc)
            give_up = exc.permanent or claimed.attempts > len(BACKOFF)
            retry_at = None if give_up else now + timedelta(seconds=BACKOFF[claimed.attempts - 1])
            logger.warning(
                "invitation %s not sent (attempt %d): %s; %s",
                claimed.message_key,
                claimed.attempts,
                exc,
                "giving up" if give_up else f"retrying at {retry_at:%H:%M:%S}",
            )
            await anyio.to_thread.run_sync(
                lambda: self._outbox.failed(claimed, error=error, retry_at=retry_at)
            )
            return 0
        except Exception:  # a bug in composing one message must not stop the others
            logger.exception("invitation %s could not be composed", claimed.message_key)
            await anyio.to_thread.run_sync(lambda: self._outbox.failed(claimed, error=error, retry_at=None))
            return 0
        await anyio.to_thread.run_sync(lambda: self._outbox.sent(claimed, self._clock()))
        logger.info("invitation %s sent (%s)", claimed.message_key, claimed.notice.kind)
        return 1

    async def _sleep(self) -> None:
        due = await anyio.to_thread.run_sync(self._outbox.next_due)
        delay = self._poll if due is None else min(self._poll, max(due - self._clock().timestamp(), 0.05))
        with anyio.move_on_after(delay):
            await self._wake.wait()
        self._wake = anyio.Event()
