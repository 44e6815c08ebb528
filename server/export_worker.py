"""The export worker: a background task of the server that writes meetings into hosts' calendars.

It claims due jobs one at a time from the engine's export queue (a lease that outlasts the one job,
see bookings/local/exports.py), hands each to the exporter of its connection's provider
(bookings/local/exporters.py: put the event, or delete it once the meeting is cancelled) and
records the outcome: done, retry later with backoff (5xx, 429, timeouts), or given up (credentials
refused: the connection turns `error`). A booking never waits for any of this: it only queued the
job in its own transaction. A write wakes the worker at once; it also looks every POLL seconds, for
jobs other processes queued or whose lease expired. It never raises into the server: a failure is
a log line (with no secret) and a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import anyio

from wix_meetings_mcp.bookings.local.exporters import Exporter, ExportFailed
from wix_meetings_mcp.server.queue_worker import BACKOFF, POLL, QueueWorker

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.exports import ClaimedExport, ExportQueue
    from wix_meetings_mcp.bookings.local.pg_exports import PgExportQueue

logger = logging.getLogger(__name__)

JOB_SECONDS = 120.0  # one job: discovery, making the calendar, the PUT


class ExportWorker(QueueWorker["ClaimedExport"]):
    what = "the calendar export queue"
    lease = timedelta(minutes=5)  # longer than one job can take (JOB_SECONDS)

    def __init__(
        self,
        queue: ExportQueue | PgExportQueue,
        exporters: Mapping[str, Exporter],
        *,
        clock: Callable[[], datetime],
        poll: float = POLL,
    ) -> None:
        """`exporters`: one per calendar provider (`apple` for CalDAV); a job of a provider without
        one is given up."""
        super().__init__(queue, clock=clock, poll=poll)
        self._exports, self._exporters = queue, exporters
        self._refused: set[str] = set()  # connections whose credentials were refused in this drain

    def starting(self) -> None:
        self._refused = set()

    def claim(self, now: datetime) -> Sequence[ClaimedExport]:
        # One job per claim: the lease then outlasts the job it guards, and the meeting is read just
        # before it is written. Connections refused in this drain are not claimed (not one more
        # request with refused credentials), so the drain ends even if one is marked connected again
        # meanwhile (its import succeeded); the next drain tries it afresh.
        return self._exports.claim(now, lease=self.lease, limit=1, skip=frozenset(self._refused))

    async def handle(self, job: ClaimedExport) -> int:
        exporter = self._exporters.get(job.provider)
        try:
            if exporter is None:
                raise ExportFailed("rejected", f"meetings are not exported to {job.provider} calendars")
            with anyio.fail_after(JOB_SECONDS):
                if job.event is None:
                    await exporter.delete_event(job.connection_id, job.uid)
                else:
                    await exporter.put_event(job.connection_id, job.event)
        except ExportFailed as exc:
            if exc.outcome == "auth":
                self._refused.add(job.connection_id)
            await self._failed(job, exc)
            return 0
        except TimeoutError:
            await self._failed(job, ExportFailed("retry", "timeout"))
            return 0
        except Exception:  # a bug or a database hiccup in one job must not stop the others
            logger.exception("calendar export of meeting %s failed unexpectedly", job.meeting_id)
            await self._failed(job, ExportFailed("retry", "internal error"))
            return 0
        await anyio.to_thread.run_sync(lambda: self._exports.done(job, self._clock()))
        logger.info("meeting %s %s in calendar %s", job.meeting_id, _did(job), job.connection_id)
        return 1

    async def _failed(self, job: ClaimedExport, failure: ExportFailed) -> None:
        now = self._clock()
        error = failure.detail
        if failure.outcome == "auth":
            logger.warning("calendar %s refused its credentials; its export stops", job.connection_id)
            await anyio.to_thread.run_sync(lambda: self._exports.auth_failed(job, error=error, now=now))
            return
        give_up = failure.outcome == "rejected" or job.attempts > len(BACKOFF)
        retry_at = None
        if not give_up:
            wait = max(BACKOFF[job.attempts - 1], failure.retry_after or 0)
            retry_at = now + timedelta(seconds=wait)
        logger.warning(
            "meeting %s not exported to calendar %s (attempt %d): %s; %s",
            job.meeting_id,
            job.connection_id,
            job.attempts,
            error,
            "giving up" if retry_at is None else f"retrying at {retry_at:%H:%M:%S}",
        )
        await anyio.to_thread.run_sync(
            lambda: self._exports.failed(job, error=error, retry_at=retry_at, now=now)
        )


def _did(job: ClaimedExport) -> str:
    return "removed" if job.event is None else "written"
