"""Wires the real Wix adapter to FakeWix for tests: the shared test clock, recorded (never slept) backoffs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import FakeClock
from tests.fakes.wix import FakeWix
from wix_meetings_mcp.bookings.wix import WixBackend, WixClient

Clock = FakeClock  # one test clock for every backend and the server


@dataclass
class World:
    fake: FakeWix
    backend: WixBackend
    client: WixClient
    clock: FakeClock
    sleeps: list[float] = field(default_factory=list)
    host: dict[str, Any] = field(default_factory=dict)
    link: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def wix_world(
    *,
    premium: bool = True,
    configured_premium: bool | None = None,
    api_key: str | None = None,
    time_zone: str | None = None,
    site_time_zone: str = "Europe/Berlin",
    clock: FakeClock | None = None,
) -> AsyncIterator[World]:
    """A site with one host and one free 30-minute Meetings link at the business address.

    `time_zone` is what the adapter is configured with; `site_time_zone` is the site's own zone;
    `clock` is the test's clock (the `clock` fixture) when the server shares it.
    """
    clock = clock or FakeClock()
    fake = FakeWix(clock=clock, premium=premium, time_zone=site_time_zone)
    host = fake.add_host()
    link = fake.add_service(host)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        client = WixClient(
            client=http,
            api_key=api_key or fake.api_key,
            site_id=fake.site_id,
            base_url="https://www.wixapis.com",
            sleep=sleep,
            jitter=lambda: 0.5,
            clock=clock,  # Retry-After in its date form is measured against the test's time
        )
        backend = WixBackend(client=client, clock=clock, premium=configured_premium, time_zone=time_zone)
        yield World(
            fake=fake, backend=backend, client=client, clock=clock, sleeps=sleeps, host=host, link=link
        )
