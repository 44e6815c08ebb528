"""The loop of a background worker that drains a durable queue (the invitation outbox, the calendar
export queue): claim due jobs under a lease, handle each, then sleep until the next job is due, a
write wakes it, or POLL seconds pass (for jobs other processes queued or whose lease expired).
It never raises into the server: a failure is a log line (with no secret) and a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

import anyio

logger = logging.getLogger(__name__)

POLL = 30.0  # seconds between looks when nothing wakes it
BACKOFF = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)  # seconds before attempt 2, 3, ...
J = TypeVar("J")
J_co = TypeVar("J_co", covariant=True)


class Queue(Protocol[J_co]):
    def claim(self, now: datetime, *, lease: timedelta) -> Sequence[J_co]: ...
    def next_due(self) -> float | None: ...
    def close(self) -> None: ...


class QueueWorker(Generic[J]):
    """Subclasses say what the queue is called (for logs), how long a claim lasts, and `handle` a job."""

    what = "the queue"
    lease = timedelta(minutes=5)

    def __init__(self, queue: Queue[J], *, clock: Callable[[], datetime], poll: float = POLL) -> None:
        self._queue, self._clock, self._poll = queue, clock, poll
        self._wake = anyio.Event()

    def wake(self) -> None:
        """Called after a write queued jobs (from the event loop's thread)."""
        self._wake.set()

    async def run(self) -> None:
        """Drain until cancelled (the server's shutdown); a job cut short is retried after its lease."""
        try:
            while True:
                await self.drain()
                await self._sleep()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._queue.close)

    async def drain(self) -> int:
        """Handle every due job now; returns how many succeeded."""
        done = 0
        self.starting()
        while True:
            try:
                batch = await anyio.to_thread.run_sync(lambda: self.claim(self._clock()))
            except Exception:  # the database is busy or gone: look again later
                logger.warning("%s could not be read; retrying later", self.what, exc_info=True)
                return done
            if not batch:
                return done
            for job in batch:
                done += await self.handle(job)

    def starting(self) -> None:
        """A drain begins (a subclass may forget what it learnt in the last one)."""

    def claim(self, now: datetime) -> Sequence[J]:
        """Due jobs, each claimed for `lease` (runs in a worker thread)."""
        return self._queue.claim(now, lease=self.lease)

    async def handle(self, job: J) -> int:
        """1 when the job succeeded, else 0 (its outcome recorded in the queue either way)."""
        raise NotImplementedError

    async def _sleep(self) -> None:
        try:
            due = await anyio.to_thread.run_sync(self._queue.next_due)
        except Exception:  # the database is busy or gone: look again after the poll
            due = None
        delay = self._poll if due is None else min(self._poll, max(due - self._clock().timestamp(), 0.05))
        with anyio.move_on_after(delay):
            await self._wake.wait()
        self._wake = anyio.Event()
