"""Connection hygiene for the HTTP transport: request deadlines, a connection cap, uvicorn's config.

uvicorn (0.54, h11) times a connection out only while it idles between requests, and any byte
resets that timer: a client that drips one header byte every few seconds, or connects and sends
nothing, holds its connection forever, and a thousand such clients starve everyone else. uvicorn's
`limit_concurrency` does not help: it is checked only once a request's headers are complete, and
it counts the dripping connections too, so it answers 503 to the authenticated clients instead.

So the h11 protocol is wrapped here: the server stays uvicorn, which the MCP SDK documents and the
project already runs, and only the protocol class changes (always h11, even where httptools is
installed, so these rules hold everywhere):
- a request's headers must be complete `header_deadline` seconds after its first byte (for a new
  connection: after the connection opened), and its body `body_deadline` seconds after that;
  the connection is closed otherwise;
- between requests uvicorn's own keep-alive timeout closes idle connections;
- at most `max_connections` stay open: a new one beyond the cap closes the connection that has
  waited longest for a request (idle, or still sending headers or body), or is itself refused
  with 503 when every open connection has a request in progress. Connections whose request is
  being served are never evicted, so stalled strangers cannot push out a running tool call;
- the listening socket stops accepting while the cap plus a batch of connections hold files, and
  the open-files limit is raised to cover that, so accept() never fails for want of a file.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import time
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
# The listen backlog, and how many connections beyond the cap may hold a file: asyncio accepts in
# batches before any of them reaches the protocol (and so the cap), and closed connections keep
# their file until asyncio reports them lost, so the listener below holds off accepting at the
# cap plus this many, and the open-files limit covers that.
BACKLOG = 256
SPARE_FILES = RESERVED_FILES + BACKLOG
# The soft open-files limit is raised toward the hard one up to this, to keep well clear of it.
WANTED_FILES = 65_536


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
        self.open: set[GuardedH11Protocol] = set()  # made and not yet lost: each holds a file
        self.closing: set[GuardedH11Protocol] = set()  # closed by us, not yet lost
        self.waiting: dict[GuardedH11Protocol, None] = {}  # insertion order = when the wait began
        self.accepted = 0  # accepted by the listener, not yet made a connection of the protocol
        self.held_since: float | None = None


class GatedListener(socket.socket):
    """A listening socket that stops accepting while the cap plus BACKLOG connections hold files.

    Refusing with BlockingIOError leaves the connections in the kernel's queue and asyncio tries
    again on its next turn, once the accepted ones have reached the cap (which evicts) and the
    evicted ones are gone. Without it accept() fails with EMFILE and asyncio stops for a second.
    """

    registry: _Registry

    def accept(self) -> tuple[socket.socket, Any]:
        registry = self.registry
        if registry.accepted + len(registry.open) >= registry.limits.max_connections + BACKLOG:
            now = time.monotonic()
            registry.held_since = registry.held_since or now
            if now - registry.held_since < 1.0:
                raise BlockingIOError
            registry.accepted = 0  # a batch that never arrives (transports that failed) holds nothing up
        registry.held_since = None
        conn, address = super().accept()
        registry.accepted += 1
        return conn, address


class GuardedH11Protocol(H11Protocol):
    registry: _Registry  # set per server by `guarded_protocol`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: Phase = "idle"
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows BaseTransport the same way
        super().connection_made(transport)
        registry = self.registry
        registry.accepted = max(0, registry.accepted - 1)
        registry.open.add(self)
        self._enter("headers")
        if len(registry.open) - len(registry.closing) > registry.limits.max_connections:
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
        self.registry.closing.discard(self)

    def _drop(self) -> None:
        """Close this connection now (deadline passed, or evicted at the cap)."""
        self._cancel_deadline()
        self.registry.waiting.pop(self, None)
        if self in self.registry.open:
            self.registry.closing.add(self)  # its file stays open until asyncio reports it lost
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
    wanted_files = max(WANTED_FILES, wanted + SPARE_FILES)
    if soft != resource.RLIM_INFINITY and soft < wanted_files:
        raised = wanted_files if hard == resource.RLIM_INFINITY else min(wanted_files, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - SPARE_FILES))


def server_config(
    app: ASGIApp, listener: socket.socket, *, trusted_proxies: tuple[str, ...], limits: ConnectionLimits
) -> tuple[uvicorn.Config, socket.socket]:
    """uvicorn's settings for the HTTP transport, and `listener` gated to go with them.

    uvicorn would otherwise believe X-Forwarded-For from loopback (or from FORWARDED_ALLOW_IPS,
    outside our settings); it is honoured only from MEETINGS_TRUSTED_PROXIES, and then scope's
    client is the address the nearest trusted proxy saw.
    """
    protocol = guarded_protocol(limits)
    gated = GatedListener(listener.family, listener.type, listener.proto, fileno=listener.detach())
    gated.registry = protocol.registry
    config = uvicorn.Config(
        app,
        http=protocol,
        log_level="warning",
        timeout_graceful_shutdown=3,
        timeout_keep_alive=limits.idle_timeout,
        backlog=BACKLOG,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies),
    )
    return config, gated
