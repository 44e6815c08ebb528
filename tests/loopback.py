"""A raw HTTP server on 127.0.0.1 for feed tests: scripted answers, every connection counted.

Raw bytes rather than a framework so a test can send what real servers would not: stacked
content encodings, a body that drips, something that is not HTTP at all.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

Answer = bytes | Callable[[asyncio.StreamWriter], Awaitable[None]]


def response(body: bytes, *, status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    head = {"Content-Type": "text/calendar", "Content-Length": str(len(body)), "Connection": "close"}
    head.update(headers or {})
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in head.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def gzipped(body: bytes) -> bytes:
    return response(gzip.compress(body), headers={"Content-Encoding": "gzip"})


@dataclass
class Loopback:
    port: int
    routes: dict[str, Answer]
    connections: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1] if " " in lines[0] else ""
            host = next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("host:")), "")
            self.requests.append((path, host))
            answer = self.routes.get(path, response(b"not found", status="404 Not Found"))
            if isinstance(answer, bytes):
                writer.write(answer)
                await writer.drain()
            else:
                await answer(writer)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ssl.SSLError):
            pass  # the client hung up, as it should on a refused answer
        finally:
            writer.close()


@asynccontextmanager
async def loopback(routes: dict[str, Answer], tls: ssl.SSLContext | None = None) -> AsyncIterator[Loopback]:
    server = Loopback(port=0, routes=routes)
    listening = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listening.close()
        with suppress(TimeoutError):  # a dripping answer may still be running; it is cut off
            await asyncio.wait_for(listening.wait_closed(), 1)
