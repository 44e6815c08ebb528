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
from wix_meetings_mcp.server.queue_worker import BACKOFF, POLL, QueueWorker

logger = logging.getLogger(__name__)


LEASE = timedelta(minutes=5)  # longer than one send can take (smtp.TIMEOUT per step)


class OutboxSender(QueueWorker[Claimed]):
    what = "the mail outbox"
    lease = LEASE

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
        super().__init__(outbox, clock=clock, poll=poll)
        self._outbox, self._target, self._sender, self._tls = outbox, target, sender, tls_context
        # The attendee's own page, once the server knows its public address and signing secret.
        self.manage_url: Callable[[str], str | None] = lambda meeting_id: None

    async def handle(self, job: Claimed) -> int:
        return await self._deliver(job)

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
            await anyio.to_thread.run_sync(
                lambda: self._outbox.failed(claimed, error="internal error", retry_at=None)
            )
            return 0
        await anyio.to_thread.run_sync(lambda: self._outbox.sent(claimed, self._clock()))
        logger.info("invitation %s sent (%s)", claimed.message_key, claimed.notice.kind)
        return 1
