"""Connection hygiene for the HTTP transport: request deadlines, a connection cap, uvicorn's config.

uvicorn (0.54, h11) times a connection out only while it idles between requests, and any byte
resets that timer: a client that drips one header byte every few seconds, or connects and sends
nothing, holds its connection forever, and a thousand such clients starve everyone else. uvicorn's
`limit_concurrency` does not help: it is checked only once a request's headers are complete, and
it counts the dripping connections too, so it answers 503 to the authenticated clients instead.

So the h11 protocol is wrapped here (the server stays uvicorn; only the protocol class changes):
- a request's headers must be complete `header_deadline` seconds after its first byte (for a new
  connection: after the connection opened), and its body `body_deadline` seconds after that;
  the connection is closed otherwise;
- between requests uvicorn's own keep-alive timeout closes idle connections;
- at most `max_connections` stay open: a new one beyond the cap closes the connection that has
  waited longest for a request (idle, or still sending headers or body), or is itself refused
  with 503 when every open connection has a request in progress. Connections whose request is
  being served are never evicted, so stalled strangers cannot push out a running tool call.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any, Literal

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

Phase = Literal["headers", "body", "idle", "serving"]

# File descriptors kept back from the connection cap for the database, logs, the listener and the
# backend's outbound HTTP pool (httpx allows 100 connections by default).
RESERVED_FILES = 128
# The listen backlog. asyncio also accepts up to this many connections in one go before any of
# them reaches the protocol (and so the cap), so the open-files limit must cover a batch too.
BACKLOG = 256


@dataclass(frozen=True)
class ConnectionLimits:
    header_deadline: float = 10.0
    body_deadline: float = 30.0  # a 1 MiB body still passes at about 35 KB/s
    idle_timeout: int = 5  # uvicorn's keep-alive timeout between requests
    max_connections: int = 1000


class _Registry:
    """Open connections of one server, and those waiting for a request, oldest wait first."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open: set[GuardedH11Protocol] = set()
        self.waiting: dict[GuardedH11Protocol, None] = {}  # insertion order = when the wait began


class GuardedH11Protocol(H11Protocol):
    registry: _Registry  # set per server by `guarded_protocol`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: Phase = "idle"
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows BaseTransport the same way
        super().connection_made(transport)
        registry = self.registry
        registry.open.add(self)
        self._enter("headers")
        if len(registry.open) > registry.limits.max_connections:
            oldest = next(iter(registry.waiting))
            if oldest is self:  # every other connection is being served: turn this one away
                transport.write(
                    b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
                )
            oldest._drop()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._follow(after_response=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget()
        super().connection_lost(exc)

    def _follow(self, *, after_response: bool = False) -> None:
        """Move to the phase h11's view of the client's side says it is in."""
        theirs = self.conn.their_state
        if theirs is h11.SEND_BODY:
            self._enter("body")
        elif theirs is not h11.IDLE:
            self._enter("serving")
        elif after_response and not self.conn.trailing_data[0]:
            self._enter("idle")  # uvicorn's keep-alive timer runs until the next byte
        else:
            self._enter("headers")  # bytes of a new request arrived (this resets uvicorn's timer)

    def _enter(self, phase: Phase) -> None:
        if phase == self._phase:
            return
        self._phase = phase
        self._cancel_deadline()
        limits = self.registry.limits
        if phase == "serving":
            self.registry.waiting.pop(self, None)
            return
        self.registry.waiting.setdefault(self, None)
        if phase != "idle":
            seconds = limits.header_deadline if phase == "headers" else limits.body_deadline
            self._deadline = self.loop.call_later(seconds, self._drop)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _forget(self) -> None:
        self._cancel_deadline()
        self.registry.waiting.pop(self, None)
        self.registry.open.discard(self)

    def _drop(self) -> None:
        """Close this connection now (deadline passed, or evicted at the cap)."""
        self._forget()
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """A protocol class for one server: its connections share one registry."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"registry": _Registry(limits)})


def connection_cap(wanted: int = ConnectionLimits.max_connections) -> int:
    """How many connections this process can hold: `wanted`, or fewer if it may open too few files.

    The soft open-files limit is raised toward the hard one first; past the limit accept() fails
    and the server stops taking connections at all, which is the starvation the cap prevents.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    spare = RESERVED_FILES + BACKLOG
    needed = wanted + spare
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - spare))


def server_config(
    app: ASGIApp, *, trusted_proxies: tuple[str, ...], limits: ConnectionLimits
) -> uvicorn.Config:
    """uvicorn's settings for the HTTP transport.

    uvicorn would otherwise believe X-Forwarded-For from loopback (or from FORWARDED_ALLOW_IPS,
    outside our settings); it is honoured only from MEETINGS_TRUSTED_PROXIES, and then scope's
    client is the address the nearest trusted proxy saw.
    """
    return uvicorn.Config(
        app,
        http=guarded_protocol(limits),
        log_level="warning",
        timeout_graceful_shutdown=3,
        timeout_keep_alive=limits.idle_timeout,
        backlog=BACKLOG,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies),
    )
