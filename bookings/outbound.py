"""The one way out for URLs a caller names (iCal feeds, CalDAV): a guard against reaching inside.

A URL an agent passes may have been planted by whoever wrote the text the agent read, so it is
hostile until checked. Each hop is resolved once; every address must be global (IPv4 in any
spelling inet_aton accepts, IPv4 inside IPv6, 6to4 and Teredo included), unless the operator named
the host, address or range in MEETINGS_ALLOWED_PRIVATE_HOSTS; the request then goes to the very
address that was checked, with the original Host header and TLS server name, so a second DNS answer
cannot steer it elsewhere. Redirects are followed here, at most three, each checked the same way.
One deadline covers the whole fetch, and the body is capped as it is decoded.

Failures carry one reason from a fixed list and nothing else: no status, no library message, no
address, so a probe cannot tell a closed port from a 404.
"""

from __future__ import annotations

import ipaddress
import socket
import zlib
from collections.abc import Awaitable, Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import httpx

Reason = Literal["unreachable", "refused_address", "too_large", "not_icalendar", "timeout"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Host name and port in; the addresses it resolves to out (no DNS work when the host is a literal).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})
_MAX_LAYERS = 2
_STEP = 64 * 1024  # output per decompress call: a bomb never inflates more than this at once
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class OutboundError(Exception):
    """A caller-named URL could not be used; `reason` is all that may be told."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class Validators:
    """A response's ETag and Last-Modified, sent back to ask "has it changed?"."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """A conditional GET's answer: `body` None means 304 Not Modified (keep what you have)."""

    body: bytes | None
    validators: Validators


@dataclass(frozen=True)
class AllowedHosts:
    """Private hosts the operator lets through: names as written in URLs, addresses, ranges."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: str | Iterable[str]) -> AllowedHosts:
        items = entries.split(",") if isinstance(entries, str) else entries
        names: set[str] = set()
        networks: list[Network] = []
        for raw in items:
            entry = _without_port(raw.strip().lower())
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def covers(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def _without_port(entry: str) -> str:
    """Ports are ignored: `[::1]:8443` is `::1`, `cal.lan:8443` is `cal.lan`; ranges keep their `/`."""
    if entry.startswith("["):
        return entry[1:].split("]", 1)[0]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def is_public(address: IPAddress) -> bool:
    """Globally reachable, also for the IPv4 address an IPv6 one carries inside."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and not is_public(inner) for inner in embedded):
            return False
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number names, in every spelling a socket would accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # 127.1, 0x7f000001, 2130706433, 0177.0.0.1: what inet_aton reads, a connect would too
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


async def system_resolver(host: str, port: int) -> Sequence[str]:
    import anyio

    found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


@dataclass(frozen=True)
class Answer:
    """Any HTTP answer to `Outbound.request`, body read within the cap; the caller judges the status."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: httpx.URL  # where it came from, after redirects


class Outbound:
    """Fetches caller-named URLs through the guard; one per backend, built with the operator's list."""

    def __init__(
        self, *, allowed_private_hosts: str | Iterable[str] = (), resolver: Resolver | None = None
    ) -> None:
        self._allowed = AllowedHosts.parse(allowed_private_hosts)
        self._resolve = resolver or system_resolver

    async def address_for(self, url: httpx.URL) -> str:
        """The one address to connect to for `url`, or OutboundError before any packet is sent."""
        host = url.host
        if url.scheme not in ("http", "https") or not host:
            raise OutboundError("refused_address")
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                found = await self._resolve(host, url.port or (443 if url.scheme == "https" else 80))
                addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
            except (OSError, ValueError, UnicodeError):
                raise OutboundError("unreachable") from None
        if not addresses:
            raise OutboundError("unreachable")
        named = host in self._allowed.names
        # Every answer must pass: a name that resolves to one public and one private address is a
        # classic way to get the private one used on a retry.
        if not named and not all(is_public(a) or self._allowed.covers(a) for a in addresses):
            raise OutboundError("refused_address")
        return str(addresses[0])

    async def get(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        max_bytes: int,
        deadline: float,
        accept: str = "*/*",
    ) -> bytes:
        """GET `url` and return its decoded body; every failure is an OutboundError."""
        fetched = await self.fetch(client, url, max_bytes=max_bytes, deadline=deadline, accept=accept)
        assert fetched.body is not None  # no validators sent: a 304 is not a valid answer
        return fetched.body

    async def fetch(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        max_bytes: int,
        deadline: float,
        accept: str = "*/*",
        validators: Validators | None = None,
    ) -> Fetched:
        """A conditional GET when `validators` are given: 304 is an answer then, not a failure."""
        conditional: dict[str, str] = {}
        if validators is not None and validators.etag:
            conditional["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            conditional["If-Modified-Since"] = validators.last_modified
        answer = await self.request(
            client, "GET", url, headers={"Accept": accept} | conditional,
            max_bytes=max_bytes, deadline=deadline, read={200},
        )  # fmt: skip
        if answer.status == 304 and conditional:
            return Fetched(None, validators or Validators())
        if answer.status != 200:
            raise OutboundError("unreachable")
        # Short header values only: they are stored and sent back, never shown.
        etag, modified = answer.headers.get("etag"), answer.headers.get("last-modified")
        return Fetched(
            answer.body,
            Validators(
                etag=etag if etag and len(etag) <= 256 else None,
                last_modified=modified if modified and len(modified) <= 64 else None,
            ),
        )

    async def request(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        max_bytes: int,
        deadline: float,
        read: Container[int] | None = None,
    ) -> Answer:
        """Any method (GET, PROPFIND, REPORT, PUT...) through the guard: resolve once, refuse what is
        not public, connect to the checked address (Host header and SNI kept), re-check each redirect.
        Every status is returned, every failure to get one is an OutboundError. With `read`, only
        answers of those statuses have their body read (the others come back empty).

        Redirects keep the method and body (303 turns into a bodyless GET), and drop Authorization
        when they leave the origin, as browsers and httpx do.
        """
        import anyio
        import httpx

        sent = dict(headers or {})
        try:
            with anyio.fail_after(deadline):
                target = httpx.URL(url)
                for _ in range(MAX_REDIRECTS + 1):
                    address = await self.address_for(target)
                    request = client.build_request(
                        method,
                        target.copy_with(host=address),
                        headers=sent | {"Host": target.netloc.decode("ascii"), "Accept-Encoding": "gzip"},
                        content=body or None,
                        # The certificate is checked against the name, not the address we dial.
                        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
                    )
                    response = await client.send(request, stream=True, follow_redirects=False)
                    try:
                        location = response.headers.get("location")
                        if response.status_code in _REDIRECTS and location:
                            moved = target.join(location)
                            if _origin(moved) != _origin(target):
                                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
                            if response.status_code == 303:
                                method, body = "GET", b""
                            target = moved
                            continue
                        wanted = read is None or response.status_code in read
                        content = await _read_capped(response, max_bytes) if wanted else b""
                        return Answer(response.status_code, response.headers, content, target)
                    finally:
                        await response.aclose()
                raise OutboundError("unreachable")  # too many redirects
        except TimeoutError:
            raise OutboundError("timeout") from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError, UnicodeError):
            raise OutboundError("unreachable") from None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The body, decoded by us in bounded steps: httpx would inflate a whole chunk in one call."""
    if response.is_stream_consumed:  # built from bytes in memory (a test double): already decoded
        if len(response.content) > max_bytes:
            raise OutboundError("too_large")
        return response.content
    encodings = [
        e.strip().lower()
        for e in response.headers.get("content-encoding", "").split(",")
        if e.strip().lower() not in ("", "identity")
    ]
    if len(encodings) > _MAX_LAYERS or not set(encodings) <= _DECODABLE:
        raise OutboundError("not_icalendar")
    decoder = _BoundedDecoder(len(encodings), max_bytes)
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise OutboundError("too_large")
        decoder.feed(chunk)
    return decoder.finish()


class _BoundedDecoder:
    """gzip/deflate layers undone a step at a time; any layer beyond the cap stops the read."""

    def __init__(self, layers: int, max_bytes: int) -> None:
        # wbits 47: a zlib or gzip header, detected per stream (servers send both as "deflate").
        self._layers = [zlib.decompressobj(47) for _ in range(layers)]
        self._sizes = [0] * layers
        self._max = max_bytes
        self._out = bytearray()

    def feed(self, data: bytes, layer: int = 0) -> None:
        if layer == len(self._layers):
            self._out += data
            if len(self._out) > self._max:
                raise OutboundError("too_large")
            return
        inflater = self._layers[layer]
        try:
            while not inflater.eof:
                step = inflater.decompress(data, _STEP)
                data = inflater.unconsumed_tail
                self._sizes[layer] += len(step)
                if self._sizes[layer] > self._max:
                    raise OutboundError("too_large")
                self.feed(step, layer + 1)
                if not data and len(step) < _STEP:
                    break  # input used up and nothing held back (a full step may hide more)
        except zlib.error:
            raise OutboundError("not_icalendar") from None

    def finish(self) -> bytes:
        if not all(inflater.eof for inflater in self._layers):
            raise OutboundError("not_icalendar")  # a truncated stream
        return bytes(self._out)
