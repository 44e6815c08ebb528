"""Video accounts on Wix as custom-link connections of the Conferencing API, against FakeWix: a
host's account on its staff resource, the default on the business resource, unique rooms refused,
Custom Link found by its place in List Providers, other providers' connections left alone,
throttled and lost answers retried to one connection, and the tools through MCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from tests.conftest import Caller, FakeClock
from tests.fakes.wix import Fault
from tests.fakes.wix_common import new_id
from tests.fakes.wix_conferencing import (
    BASE,
    BUSINESS_RESOURCE_ID,
    CUSTOM_LINK_APP_ID,
    ZOOM_APP_ID,
    add_oauth_connection,
)
from tests.fakes.wix_setup import World, wix_world
from wix_meetings_mcp.bookings.errors import InvalidArgument, NotFound, NotSupported
from wix_meetings_mcp.bookings.model import VideoAccount
from wix_meetings_mcp.bookings.wix._conferencing import ConnectionResponse
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

CONNECT = f"{BASE}/connections/connect"
DISCONNECT = f"{BASE}/connections/mark-as-disconnected"
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
    with pytest.raises(InvalidArgument) as long_password:
        await world.backend.admin.connect_video_account(BUSINESS.model_copy(update={"password": "x" * 101}))
    assert "100" in long_password.value.message
    assert world.fake.count("POST", CONNECT) == 0 and world.fake.conferencing == {}


async def test_custom_link_is_the_last_provider_whatever_it_is_called(world: World) -> None:
    # List Providers puts Custom Link last; its name and id are the site's, so neither is matched.
    meet = {"id": new_id(), "name": "Google Meet", "connectionMethods": ["OAUTH"]}
    custom = {"id": new_id(), "name": "Eigener Link", "connectionMethods": ["CUSTOM"]}
    world.fake.conferencing_providers = [world.fake.conferencing_providers[0], meet, custom]
    assert await world.backend.admin.connect_video_account(BUSINESS) == BUSINESS
    assert list(world.fake.conferencing) == [(BUSINESS_RESOURCE_ID, custom["id"])]
    assert await world.backend.admin.video_accounts() == [BUSINESS]


async def test_a_hosts_connection_to_another_provider_is_neither_shown_nor_removed(world: World) -> None:
    # A resource may hold one connection per provider; only the Custom Link one is the host's account.
    admin, resource = world.backend.admin, world.host["resourceId"]
    own = VideoAccount(host_id=world.host["id"], url="https://meet.example.com/ada")
    await admin.connect_video_account(own)
    world.clock.advance(minutes=5)
    zoom = add_oauth_connection(world.fake, resource)  # newer, so listed first
    assert await admin.video_accounts() == [own]
    assert await admin.disconnect_video_account(world.host["id"]) == own
    assert await admin.disconnect_video_account(world.host["id"]) is None
    assert world.fake.conferencing == {(resource, ZOOM_APP_ID): zoom}
    assert await admin.video_accounts() == []


async def test_connect_takes_only_the_documented_connection_methods_and_custom_options(world: World) -> None:
    resource = {"appId": CUSTOM_LINK_APP_ID, "resourceId": BUSINESS_RESOURCE_ID}
    for body in (
        {**resource, "connectionMethod": "CUSTOM_LINK", "customOptions": {"url": BUSINESS.url}},
        {**resource, "connectionMethod": "CUSTOM"},
        {**resource, "connectionMethod": "CUSTOM", "customOptions": {"password": "1234"}},
    ):
        with pytest.raises(InvalidArgument) as caught:
            await world.client.write("POST", CONNECT, ConnectionResponse, body=body)
        assert caught.value.context.get("status") == 400
    assert world.fake.conferencing == {}


@pytest.mark.parametrize("status", [404, 428])
async def test_a_retried_disconnect_that_finds_nothing_reads_the_connections_back(
    world: World, status: int
) -> None:
    # Which status Wix gives for a resource with nothing to disconnect is not confirmed.
    await world.backend.admin.connect_video_account(BUSINESS)
    world.fake.inject("POST", DISCONNECT, Fault(drop=True))
    world.fake.inject("POST", DISCONNECT, Fault(status=status, code="RESOURCE_NOT_CONNECTED"))
    assert await world.backend.admin.disconnect_video_account(None) == BUSINESS
    assert world.fake.conferencing == {}


async def test_a_refused_disconnect_whose_link_is_still_there_is_reported(world: World) -> None:
    await world.backend.admin.connect_video_account(BUSINESS)
    world.fake.inject("POST", DISCONNECT, Fault(status=404, code="PROVIDER_NOT_FOUND"))
    with pytest.raises(NotFound):
        await world.backend.admin.disconnect_video_account(None)
    assert await world.backend.admin.video_accounts() == [BUSINESS]


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
    world.fake.inject("POST", DISCONNECT, Fault(drop=True))
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
