"""What the OAuth calendar tests share: both provider fakes behind one transport, and an engine wired
to them the way the server wires it (OAuthSetup from the operator's clients, the public address)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import FakeClock
from tests.fakes import google_calendar as g
from tests.fakes import microsoft_graph as m
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.oauth import OAuthApp, OAuthSetup
from wix_meetings_mcp.bookings.local.provider_http import ProviderLimits
from wix_meetings_mcp.bookings.local.storage import open_store

BASE = "https://meet.example.com"
SECRET = b"s" * 32
PUBLIC = "93.184.215.14"  # what the fake DNS answers for every provider name (a public address)
TUESDAY = datetime(2026, 12, 1, tzinfo=UTC)
DENTIST = (datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC))  # 10:00 Berlin
LUNCH = (datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 12, tzinfo=UTC))
EXPORTED = (datetime(2026, 12, 1, 13, tzinfo=UTC), datetime(2026, 12, 1, 14, tzinfo=UTC))
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
    return LocalBackend(
        store=open_store(db, ZoneInfo("Europe/Berlin")),
        time_zone="Europe/Berlin",
        plan="premium",
        clock=clock,
        http=http,
        resolver=public_dns,
        oauth=OAuthSetup(apps={"google": GOOGLE, "outlook": OUTLOOK}, public_url=public_url, secret=SECRET),
        provider_limits=ProviderLimits(deadline=deadline),
        retry_sleep=waits or Waits(),
    )


async def free_starts(backend: LocalBackend) -> set[datetime]:
    link = (await backend.list_links())[0]
    slots = await backend.find_slots(
        link, start=TUESDAY, end=TUESDAY + timedelta(days=1), duration=timedelta(minutes=30)
    )
    return {s.start.astimezone(UTC) for s in slots}
