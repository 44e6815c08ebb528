"""One site per backend for the contract suite: `local` on a SQLite file, `local-postgres` on a fresh
PostgreSQL database (skipped without TEST_POSTGRES_URL), `wix` and `meetergo` on their fakes.

Every contract test takes `site` (a premium site) or `open_site(plan=...)`, and runs once per backend.
The site, its backend and the MCP server share the one `clock` fixture. A backend that cannot offer
what a test needs skips that test with a one-line reason, rather than weakening the assertion.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, closing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal, cast
from zoneinfo import ZoneInfo

import pytest
from mcp import Client

from tests._meetergo import open_world
from tests.conftest import Caller, FakeClock
from tests.fakes.meetergo import Fault as MeetergoFault
from tests.fakes.wix import Fault as WixFault
from tests.fakes.wix_setup import wix_world
from wix_meetings_mcp.bookings.errors import WriteOutcomeUnknown
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.storage import open_store
from wix_meetings_mcp.bookings.model import BookingRequest, Location, Meeting, Price
from wix_meetings_mcp.bookings.port import Backend
from wix_meetings_mcp.bookings.receipts import Receipt
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

Plan = Literal["free", "premium"]
Feature = Literal["paid", "video"]
BACKENDS = ("local", "local-postgres", "wix", "meetergo")


@dataclass
class Site:
    """One business on one backend: a bookable 30-minute link, Monday to Friday 09:00-17:00 Berlin."""

    name: str
    backend: Backend
    clock: FakeClock
    link_id: str
    state_db: Path
    plan: Plan
    # Meetings of any status the backend's own storage holds, read past the adapter.
    stored_meetings: Callable[[], Awaitable[int]]
    # The next booking write is applied and its answer lost on the way back.
    lose_next_booking_answer: Callable[[], None]
    # A link using a premium feature, made the way that backend's owner would make it.
    add_link_with: Callable[[Feature], Awaitable[str]]
    # Behaviours this backend legitimately lacks, each with the one-line reason.
    lacks: Mapping[str, str] = field(default_factory=dict)

    def needs(self, behaviour: str) -> None:
        """Skip the running test where this backend cannot offer `behaviour`."""
        if behaviour in self.lacks:
            pytest.skip(f"{self.name}: {self.lacks[behaviour]}")

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Caller]:
        """The agent's view: the real tools over MCP in memory, on this site's backend and clock.

        Confirmation is off: the token and elicitation flows are the tools' own, tested once elsewhere.
        """
        settings = Settings(db=self.state_db, time_zone="Europe/Berlin", confirm="off", plan=self.plan)
        server = build_server(settings, backend=self.backend, clock=self.clock)
        async with Client(server) as client:
            yield Caller(client)


OpenSite = Callable[..., AbstractAsyncContextManager[Site]]


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_site(
    backend_name: str, tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest
) -> OpenSite:
    """`async with open_site(plan="free") as site:`; meetergo has no free plan and skips it."""
    # Asked for only here, so the other backends run where no PostgreSQL is configured.
    postgres_url = str(request.getfixturevalue("postgres_url")) if backend_name == "local-postgres" else None

    def _open(plan: Plan = "premium") -> AbstractAsyncContextManager[Site]:
        if backend_name == "local":
            return _local(tmp_path, clock, plan)
        if postgres_url is not None:
            return _local(tmp_path, clock, plan, postgres_url=postgres_url)
        if backend_name == "wix":
            return _wix(tmp_path, clock, plan)
        if plan == "free":
            pytest.skip("meetergo has no free plan: its API needs a paid one, and it exposes no meeting cap")
        return _meetergo(tmp_path, clock)

    return _open


@pytest.fixture
async def site(open_site: OpenSite) -> AsyncIterator[Site]:
    async with open_site() as opened:
        yield opened


class LosesAnswers:
    """The local engine behind a link that loses answers: the booking is written, its answer lost.

    The engine has no network; this stands in at the port for the vendors' dropped responses.
    """

    def __init__(self, engine: LocalBackend) -> None:
        self.engine = engine
        self.lose_next = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)

    async def book(
        self, request: BookingRequest, *, meetings_limit: int | None, receipt: Receipt | None = None
    ) -> Meeting:
        meeting = await self.engine.book(request, meetings_limit=meetings_limit, receipt=receipt)
        if self.lose_next:
            self.lose_next = False
            raise WriteOutcomeUnknown("the connection dropped before the answer arrived")
        return meeting


@asynccontextmanager
async def _local(
    tmp_path: Path, clock: FakeClock, plan: Plan, *, postgres_url: str | None = None
) -> AsyncIterator[Site]:
    db = tmp_path / "meetings.db"  # the engine and the server's own state share one file, as deployed
    store = open_store(postgres_url or db, ZoneInfo("Europe/Berlin"))
    engine = LocalBackend(store=store, time_zone="Europe/Berlin", plan=plan, clock=clock)
    wrapped = LosesAnswers(engine)
    link = (await engine.list_links())[0]

    async def stored() -> int:
        # A second reader, as another process would be.
        if postgres_url is not None:
            import psycopg

            with psycopg.connect(postgres_url) as pg:
                row = pg.execute("SELECT count(*) FROM meetings").fetchone()
            assert row is not None
            return int(row[0])
        with closing(sqlite3.connect(db)) as conn:
            (count,) = conn.execute("SELECT count(*) FROM meetings").fetchone()
        return int(count)

    def lose() -> None:
        wrapped.lose_next = True

    async def add_link_with(feature: Feature) -> str:
        if feature == "paid":
            made = await engine.create_link(
                name="Paid consult", price=Price(amount=Decimal("80"), currency="EUR")
            )
        else:
            made = await engine.create_link(name="Video call", location=Location(kind="video"))
        return made.link_id

    try:
        yield Site(
            name="local",  # the backend's own name on both stores
            backend=cast(Backend, wrapped),
            clock=clock,
            link_id=link.link_id,
            state_db=db,
            plan=plan,
            stored_meetings=stored,
            lose_next_booking_answer=lose,
            add_link_with=add_link_with,
        )
    finally:
        engine.close()


@asynccontextmanager
async def _wix(tmp_path: Path, clock: FakeClock, plan: Plan) -> AsyncIterator[Site]:
    async with wix_world(premium=plan == "premium", clock=clock) as world:
        fake = world.fake

        async def stored() -> int:
            return len(fake.bookings)

        def lose() -> None:
            fake.inject("POST", "/bookings/v2/bookings", WixFault(drop=True))

        async def add_link_with(feature: Feature) -> str:
            if feature == "paid":
                return str(fake.add_service(world.host, "Paid consult", price="80.00")["id"])
            return str(
                fake.add_service(world.host, "Video call", conferencing=True, location="CUSTOMER")["id"]
            )

        yield Site(
            name="wix",
            backend=world.backend,
            clock=clock,
            link_id=world.link["id"],
            state_db=tmp_path / "state.db",
            plan=plan,
            stored_meetings=stored,
            lose_next_booking_answer=lose,
            add_link_with=add_link_with,
            lacks={
                "case_insensitive_email_filter": "Wix's query equality is case sensitive and the adapter "
                "filters by the email as typed (a known gap)",
            },
        )


@asynccontextmanager
async def _meetergo(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Site]:
    async with open_world(clock) as world:
        fake = world.fake

        async def stored() -> int:
            return len(fake.appointments) + len(fake.provisional)

        def lose() -> None:
            fake.inject("POST", "/v4/booking", MeetergoFault("drop"))

        async def add_link_with(feature: Feature) -> str:
            pytest.skip(f"meetergo offers no {feature} links behind a plan: nothing to gate")

        yield Site(
            name="meetergo",
            backend=world.backend,
            clock=clock,
            link_id=world.solo,
            state_db=tmp_path / "state.db",
            plan="premium",
            stored_meetings=stored,
            lose_next_booking_answer=lose,
            add_link_with=add_link_with,
            lacks={
                "cancellation_window": "it enforces no cancellation window on host-side changes "
                "(its links carry none)",
            },
        )
