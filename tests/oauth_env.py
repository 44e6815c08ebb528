"""What the OAuth calendar tests share: both provider fakes behind one transport (the `providers`
and `http` fixtures, which a test module imports), an engine wired to them the way the server wires
it (OAuthSetup from the operator's clients, the public address), and the owner's sign-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.calendar_env import berlin_engine
from tests.conftest import FakeClock
from tests.fakes import google_calendar as g
from tests.fakes import microsoft_graph as m
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.oauth import OAuthApp, OAuthSetup
from wix_meetings_mcp.bookings.local.provider_http import ProviderLimits
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest

BASE = "https://meet.example.com"
SECRET = b"s" * 32
PUBLIC = "93.184.215.14"  # what the fake DNS answers for every provider name (a public address)
LUNCH = (datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 12, tzinfo=UTC))
LATER = (datetime(2026, 12, 1, 15, tzinfo=UTC), datetime(2026, 12, 1, 15, 30, tzinfo=UTC))

GOOGLE = OAuthApp(provider="google", client_id=g.CLIENT_ID, client_secret=g.CLIENT_SECRET,
                  authorization_url=g.AUTHORIZATION_URL, token_url=g.TOKEN_URL, api_url=g.API_URL)  # fmt: skip
OUTLOOK = OAuthApp(provider="outlook", client_id=m.CLIENT_ID, client_secret=m.CLIENT_SECRET,
                   authorization_url=m.AUTHORIZATION_URL, token_url=m.TOKEN_URL, api_url=m.API_URL)  # fmt: skip


async def public_dns(host: str, port: int) -> Sequence[str]:
    return [PUBLIC]


@dataclass
class Providers:
    """One MockTransport handler for both providers, told apart by the Host header the guard keeps
    (the URL itself carries the checked address)."""

    google: g.FakeGoogle = field(default_factory=g.FakeGoogle)
    graph: m.FakeGraph = field(default_factory=m.FakeGraph)
    addresses: list[str] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.addresses.append(request.url.host)
        host = request.headers["host"]
        if host.endswith("google.test"):
            return await self.google(request)
        if host.endswith("microsoft.test"):
            return await self.graph(request)
        return httpx.Response(404)

    def tokens(self) -> list[str]:
        return self.google.auth.issued + self.graph.auth.issued


@dataclass
class Waits:
    """The retry layer's sleeps, recorded instead of waited."""

    seconds: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.seconds.append(delay)


def engine(
    db: Path | str,
    clock: FakeClock,
    http: httpx.AsyncClient,
    *,
    waits: Waits | None = None,
    public_url: str | None = BASE,
    deadline: float = 2.0,
) -> LocalBackend:
    """An engine on the SQLite file or the PostgreSQL database `db`."""
    return berlin_engine(
        db,
        clock,
        http,
        resolver=public_dns,
        oauth=OAuthSetup(apps={"google": GOOGLE, "outlook": OUTLOOK}, public_url=public_url, secret=SECRET),
        provider_limits=ProviderLimits(deadline=deadline),
        retry_sleep=waits or Waits(),
    )


@pytest.fixture(name="providers")
def providers_fixture(clock: FakeClock) -> Providers:
    found = Providers()
    found.google.auth.now = clock
    found.graph.auth.now = clock
    return found


@pytest.fixture(name="http")
async def http_fixture(providers: Providers) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(providers)) as client:
        yield client


async def connected(backend: LocalBackend, providers: Providers, provider: str, **request: Any) -> str:
    """Connect through the backend and the callback as the owner's browser would; the connection id."""
    started = await backend.connect_calendar(ConnectCalendarRequest(provider=provider, **request))  # type: ignore[arg-type]
    assert started.status == "authorization_required" and started.authorization_url is not None
    fake = providers.google if provider == "google" else providers.graph
    query = parse_qs(urlsplit(fake.auth.authorize(started.authorization_url)).query)
    done = await backend.finish_authorization(
        provider,  # type: ignore[arg-type]
        state=query["state"][0], code=query.get("code", [None])[0], error=query.get("error", [None])[0],
    )  # fmt: skip
    return done.connection.connection_id
