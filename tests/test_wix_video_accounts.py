"""Video accounts on Wix as custom-link connections of the Conferencing API, against FakeWix: a
host's account on its staff resource, the default on the business resource, unique rooms refused,
throttled and lost answers retried to one connection, and the tools through MCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from tests.conftest import Caller, FakeClock
from tests.fakes.wix import Fault
from tests.fakes.wix_conferencing import BASE, BUSINESS_RESOURCE_ID, CUSTOM_LINK_APP_ID
from tests.fakes.wix_setup import World, wix_world
from wix_meetings_mcp.bookings.errors import NotFound, NotSupported
from wix_meetings_mcp.bookings.model import VideoAccount
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

CONNECT = f"{BASE}/connections/connect"
BUSINESS = VideoAccount(url="https://meet.example.com/studio", password="1234", description="Dial in")


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with wix_world() as w:
        yield w


def stored(world: World, resource_id: str) -> dict[str, object]:
    return world.fake.conferencing[(resource_id, CUSTOM_LINK_APP_ID)]


async def test_the_default_and_a_hosts_account_are_custom_links_on_their_resources(world: World) -> None:
    admin = world.backend.admin
    assert await admin.video_accounts() == []
    assert await admin.connect_video_account(BUSINESS) == BUSINESS
    own = VideoAccount(host_id=world.host["id"], url="https://meet.example.com/ada")
    assert await admin.connect_video_account(own) == own

    default = stored(world, BUSINESS_RESOURCE_ID)
    assert default["connectionMethod"] == "CUSTOM"
    assert default["customOptions"] == {"url": BUSINESS.url, "password": "1234", "description": "Dial in"}
    assert stored(world, world.host["resourceId"])["customOptions"] == {"url": own.url}
    assert sorted(await admin.video_accounts(), key=lambda a: a.host_id or "") == [BUSINESS, own]

    moved = own.model_copy(update={"url": "https://meet.example.com/ada-2"})
    await admin.connect_video_account(moved)  # Wix replaces the host's connection
    assert len(world.fake.conferencing) == 2 and moved in await admin.video_accounts()


async def test_unique_rooms_and_unknown_hosts_are_refused_before_anything_is_written(world: World) -> None:
    with pytest.raises(NotSupported) as caught:
        await world.backend.admin.connect_video_account(BUSINESS.model_copy(update={"unique_rooms": True}))
    assert "room" in caught.value.message and caught.value.next_step
    with pytest.raises(NotFound):
        await world.backend.admin.connect_video_account(BUSINESS.model_copy(update={"host_id": "nobody"}))
    assert world.fake.count("POST", CONNECT) == 0 and world.fake.conferencing == {}


async def test_a_throttled_connect_is_retried_after_retry_after(world: World) -> None:
    world.fake.inject("POST", CONNECT, Fault.throttled(retry_after="2"))
    assert await world.backend.admin.connect_video_account(BUSINESS) == BUSINESS
    assert world.fake.count("POST", CONNECT) == 2 and 2.0 in world.sleeps
    assert stored(world, BUSINESS_RESOURCE_ID)["customOptions"]["url"] == BUSINESS.url  # type: ignore[index]


async def test_a_connect_whose_answer_is_lost_is_repeated_to_one_connection(world: World) -> None:
    world.fake.inject("POST", CONNECT, Fault(drop=True))
    assert await world.backend.admin.connect_video_account(BUSINESS) == BUSINESS
    assert world.fake.count("POST", CONNECT) == 2 and len(world.fake.conferencing) == 1


async def test_disconnect_removes_the_link_once_even_when_its_answer_is_lost(world: World) -> None:
    admin = world.backend.admin
    own = VideoAccount(host_id=world.host["id"], url="https://meet.example.com/ada")
    await admin.connect_video_account(BUSINESS)
    await admin.connect_video_account(own)
    world.fake.inject("POST", f"{BASE}/connections/mark-as-disconnected", Fault(drop=True))
    assert await admin.disconnect_video_account(world.host["id"]) == own
    assert await admin.video_accounts() == [BUSINESS]
    assert await admin.disconnect_video_account(world.host["id"]) is None
    assert await admin.disconnect_video_account(None) == BUSINESS
    assert world.fake.conferencing == {}


async def test_the_video_tools_on_wix_through_mcp(tmp_path: Path, clock: FakeClock) -> None:
    async with wix_world(clock=clock) as world:
        settings = Settings(db=tmp_path / "state.db", toolsets="booking,admin", confirm="off")
        async with Client(build_server(settings, backend=world.backend, clock=clock)) as client:
            call = Caller(client)
            saved = await call(
                "connect_video_account", url="https://meet.example.com/studio", password="1234"
            )
            assert saved["account"]["url"] == "https://meet.example.com/studio"
            assert stored(world, BUSINESS_RESOURCE_ID)["customOptions"] == {
                "url": "https://meet.example.com/studio",
                "password": "1234",
            }
            refused = await call.error(
                "connect_video_account", url="https://meet.example.com/room", unique_rooms=True
            )
            assert refused.startswith("not_supported: ") and "connect_video_account" not in refused
            removed = await call("disconnect_video_account")
            assert removed["status"] == "disconnected"
            assert removed["account"]["url"] == "https://meet.example.com/studio"
            assert world.fake.conferencing == {}
