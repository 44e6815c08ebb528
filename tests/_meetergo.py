"""Wiring for the meetergo tests: the real adapter on httpx.MockTransport(FakeMeetergo), plus helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.fakes.meetergo import FakeMeetergo
from wix_meetings_mcp.bookings.meetergo import MeetergoBackend, MeetergoClient
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, Slot

PLATFORM_KEY = "ak_live:4f9c2d7e-0000-4000-8000-000000000000:s3cr3t-platform-value"
PAT = "rgo-" + "p" * 32
BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)  # the day after the conftest clock


@dataclass
class World:
    fake: FakeMeetergo
    backend: MeetergoBackend
    client: MeetergoClient
    host: str
    colleague: str
    solo: str  # one-to-one meeting type, 30 min (also 60), phone-only not allowed
    sleeps: list[float] = field(default_factory=list)


@asynccontextmanager
async def open_world(
    clock: Callable[[], datetime],
    *,
    api_key: str = PAT,
    platform_user: bool = False,
    base_url: str = "https://api.meetergo.com",
    booking_type_spelling: str = "DoubleOptIn",
    list_variant: str = "bare",
) -> AsyncIterator[World]:
    fake = FakeMeetergo(
        now=clock, api_key=api_key, booking_type_spelling=booking_type_spelling, list_variant=list_variant
    )
    host = fake.add_user("Hanna Host", "hanna@example.com", owner=True)
    colleague = fake.add_user("Carl Colleague", "carl@example.com")
    solo = fake.add_meeting_type("Intro call", user_id=host, allowed_durations=(30, 60))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        client = MeetergoClient(
            client=http,
            api_key=api_key,
            user_id=host if platform_user else None,
            base_url=base_url,
            sleep=sleep,
            jitter=lambda: 1.0,
            clock=clock,
        )
        backend = MeetergoBackend(client=client, clock=clock, time_zone="Europe/Berlin")
        yield World(fake, backend, client, host, colleague, solo, sleeps)


def request_for(
    slot: Slot, *, email: str | None = "ada@example.com", phone: str | None = None
) -> BookingRequest:
    return BookingRequest(slot=slot, attendee=Attendee(name="Ada Lovelace", email=email, phone=phone))


async def slots_on(world: World, link_id: str, day: datetime, minutes: int = 30) -> list[Slot]:
    link = await world.backend.get_link(link_id)
    start = day.replace(hour=0, minute=0)
    return await world.backend.find_slots(
        link, start=start, end=start + timedelta(days=1), duration=timedelta(minutes=minutes)
    )


async def slot_at(world: World, link_id: str, start: datetime, minutes: int = 30) -> Slot:
    return next(s for s in await slots_on(world, link_id, start, minutes) if s.start == start)


def bodies(world: World, path: str) -> list[dict[str, object]]:
    return [json.loads(r.content) for r in world.fake.requests if r.url.path == path and r.method != "GET"]
