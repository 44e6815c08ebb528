"""Reading a connected calendar's feed: fetch through the outbound guard, parse in a worker process.

The local engine cannot run Google/Outlook OAuth or Apple CalDAV; it reads the calendar's secret
iCal address instead. Those addresses are credentials (anyone holding one reads the calendar), so
no error raised here includes the address, and exceptions are not chained onto ours.

Feed work never waits in the worker-thread pool the database calls use: it has its own small
limiter, and parsing runs in a separate process that is killed when its budget is spent — a rule
that would expand for hours cannot pin a thread, and a parse that eats memory dies alone.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

import anyio

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotSupported
from wix_meetings_mcp.bookings.local.slots import Interval
from wix_meetings_mcp.bookings.outbound import Fetched, Outbound, OutboundError, Reason, Validators

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    import httpx

MAX_FEED_BYTES = 10 * 1024 * 1024
_CHECK = "Check the calendar's secret iCal address and connect again."
_MESSAGES: dict[Reason, tuple[str, str]] = {
    "unreachable": ("The calendar address could not be fetched.", _CHECK),
    "refused_address": (
        "The calendar address points to a private, local or reserved network address, which this "
        "server does not fetch.",
        "Use the calendar's public https:// iCal address; a calendar server on a private network "
        "must be allowed by the server's operator (MEETINGS_ALLOWED_PRIVATE_HOSTS).",
    ),
    "too_large": (
        "The calendar feed is beyond this server's limits (size, events or how often they repeat).",
        "Use a smaller calendar, e.g. one without old or very frequent repeating events.",
    ),
    "not_icalendar": ("The calendar address did not return iCalendar data.", _CHECK),
    "timeout": (
        "The calendar feed took too long to fetch or read.",
        "Try again later or use a smaller calendar.",
    ),
}
# file:// feeds: one answer for every failure, so an agent cannot learn which paths exist.
_FILE_MESSAGE = (
    "Could not read that calendar file as iCalendar data.",
    "Check the file's path and contents.",
)


@dataclass(frozen=True)
class ParseLimits:
    occurrences: int = 20_000  # expanded events in the window, before merging
    intervals: int = 5_000  # busy intervals kept per feed, after merging
    tz_transitions: int = 20_000  # transitions all VTIMEZONE rules of a feed may produce


@dataclass(frozen=True)
class FeedLimits:
    fetch_seconds: float = 30.0  # the whole fetch, redirects and a slow body included
    parse_seconds: float = 20.0  # the worker process, start-up included
    max_bytes: int = MAX_FEED_BYTES
    worker_memory: int = 1 << 30  # address space of the worker process, where the OS allows a cap
    concurrency: int = 2  # feeds fetched or parsed at once per process
    host_intervals: int = 20_000  # busy intervals stored for one host across its calendars
    parse: ParseLimits = field(default_factory=ParseLimits)


def feed_error(reason: Reason, *, file: bool = False) -> InvalidArgument:
    """The agent's error: a fixed text per reason, the reason named, nothing from the failure itself."""
    reason = "unreachable" if file else reason
    message, next_step = _FILE_MESSAGE if file else _MESSAGES[reason]
    return InvalidArgument(f"{message} (reason: {reason})", next_step=next_step, reason=reason)


def normalize_feed_url(url: str) -> str:
    """webcal:// is https:// in disguise (Apple, Outlook); anything else but file/http(s) is refused."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise InvalidArgument("The calendar address is not a valid URL.", next_step=_CHECK) from None
    if scheme == "webcal":
        return "https" + url.strip()[len(scheme) :]
    if scheme not in ("https", "http", "file"):
        raise InvalidArgument(
            "The calendar address must start with https://, webcal://, http:// or file://.", next_step=_CHECK
        )
    return scheme + url.strip()[len(scheme) :]  # the scheme in lower case: FILE:// is file://


@dataclass(frozen=True)
class FeedImport:
    busy: list[Interval] | None  # None: not modified since the validators were issued
    validators: Validators


class FeedReader:
    """Fetches and parses feeds for one backend; made in async context (the limiter needs a loop)."""

    def __init__(self, *, outbound: Outbound, limits: FeedLimits) -> None:
        self._outbound = outbound
        self.limits = limits
        self._slots = anyio.CapacityLimiter(limits.concurrency)
        # Threads of their own: a feed never waits for, nor holds up, a database call's thread.
        self._threads = anyio.CapacityLimiter(limits.concurrency)

    @property
    def outbound(self) -> Outbound:
        return self._outbound

    async def busy(
        self, url: str, *, http: httpx.AsyncClient | None, zone: ZoneInfo, start: datetime, end: datetime
    ) -> list[Interval]:
        """Busy intervals (UTC, merged) of the feed at `url` overlapping [start, end).

        Raises OutboundError with the reason; a file:// feed's reason is always `unreachable`.
        """
        found = await self.read(url, http=http, zone=zone, start=start, end=end)
        assert found.busy is not None  # no validators: never "not modified"
        return found.busy

    async def read(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None,
        zone: ZoneInfo,
        start: datetime,
        end: datetime,
        validators: Validators | None = None,
    ) -> FeedImport:
        """As `busy`, asked conditionally: `busy` is None when the feed has not changed (HTTP 304)."""
        is_file = url.startswith("file:")
        try:
            async with self._slots:
                if is_file:
                    fetched = Fetched(await self._read_file(url), Validators())
                else:
                    fetched = await self._read_http(url, http, validators)
                if fetched.body is None:
                    return FeedImport(None, fetched.validators)
                busy = await anyio.to_thread.run_sync(
                    _parse_in_worker, fetched.body, zone.key, start, end, self.limits, limiter=self._threads
                )
                return FeedImport(busy, fetched.validators)
        except OutboundError as exc:
            raise OutboundError("unreachable" if is_file else exc.reason) from None

    async def parse(self, data: bytes, *, zone: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
        """Busy intervals of iCalendar data fetched some other way (CalDAV), parsed in the worker."""
        async with self._slots:
            return await anyio.to_thread.run_sync(
                _parse_in_worker, data, zone.key, start, end, self.limits, limiter=self._threads
            )

    async def _read_http(
        self, url: str, http: httpx.AsyncClient | None, validators: Validators | None
    ) -> Fetched:
        if http is None:
            raise NotSupported(
                "This server was started without an HTTP client, so it cannot fetch calendar feeds.",
                next_step="Restart the server with an HTTP client, or use a file:// address.",
            )
        return await self._outbound.fetch(
            http,
            url,
            max_bytes=self.limits.max_bytes,
            deadline=self.limits.fetch_seconds,
            accept="text/calendar, */*;q=0.5",
            validators=validators,
        )

    async def _read_file(self, url: str) -> bytes:
        path = url2pathname(urlsplit(url).path)
        with anyio.fail_after(self.limits.fetch_seconds):
            return await anyio.to_thread.run_sync(
                _read_regular_file, path, self.limits.max_bytes, limiter=self._threads
            )


def _read_regular_file(path: str, max_bytes: int) -> bytes:
    """A regular file's bytes; a FIFO, device or directory is refused without blocking on it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        raise OutboundError("unreachable") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            raise OutboundError("unreachable")
        with os.fdopen(fd, "rb", closefd=False) as feed:
            data = feed.read(max_bytes + 1)
    except OSError:
        raise OutboundError("unreachable") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise OutboundError("unreachable")
    return data


# --- the worker process -------------------------------------------------------------------------

_WORKER_MODULES = ["wix_meetings_mcp.bookings.local.feeds", "wix_meetings_mcp.bookings.local.ics"]


def _context() -> multiprocessing.context.BaseContext:
    # forkserver where there is one: each parse is a fork of a small server that already imported
    # the parser (milliseconds), never a fork of this process with its threads and sockets.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_WORKER_MODULES)
        return context
    return multiprocessing.get_context("spawn")


def _parse_in_worker(
    data: bytes, zone: str, start: datetime, end: datetime, limits: FeedLimits
) -> list[Interval]:
    """Blocking: run the parse in a fresh process, at most `parse_seconds`, then kill it."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(  # type: ignore[attr-defined]  # every concrete context has Process
        target=_work, args=(send, data, zone, start, end, limits), daemon=True
    )
    try:
        worker.start()
    except BaseException:
        receive.close()
        send.close()
        raise
    try:
        send.close()
        if not receive.poll(limits.parse_seconds):
            raise OutboundError("timeout")
        try:
            outcome, value = receive.recv()
        except EOFError:  # the worker died: out of memory under its cap, most likely
            raise OutboundError("too_large") from None
    finally:
        receive.close()
        if worker.is_alive():
            worker.kill()
        worker.join()
    if outcome != "ok":
        raise OutboundError(value)
    busy: list[Interval] = value
    return busy


def _work(
    send: Connection, data: bytes, zone: str, start: datetime, end: datetime, limits: FeedLimits
) -> None:
    """The worker process's body: parse, send the intervals or a reason, exit."""
    # Over stdio, fd 1 is the MCP channel this process inherited: nothing here may write to it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    _cap_memory(limits.worker_memory)
    from wix_meetings_mcp.bookings.local import ics

    try:
        busy = ics.parse_busy(data, zone=ZoneInfo(zone), start=start, end=end, limits=limits.parse)
        send.send(("ok", busy))
    except OutboundError as exc:
        send.send(("error", exc.reason))
    except MemoryError:
        send.send(("error", "too_large"))
    finally:
        send.close()


def _cap_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # not on Windows: the time budget still applies
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
