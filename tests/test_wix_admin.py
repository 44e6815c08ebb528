"""The Wix adapter's set-up operations (outside the port) against FakeWix: provisioning, links within
the Meetings restrictions, prices and deposits, locations, hosts, calendar disconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.fakes.wix import MEETINGS_APP_ID, Fault
from tests.fakes.wix_setup import World, wix_world
from wix_meetings_mcp.bookings.errors import InvalidArgument, NotSupported
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest, LinkChange, Location, NewLink, Price


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with wix_world() as w:
        yield w


async def test_provisioning_is_idempotent_and_its_service_becomes_a_link(world: World) -> None:
    first = await world.backend.admin.provision()
    second = await world.backend.admin.provision()
    assert first == second and first.service_id and first.booking_policy_id
    links = {link.link_id: link for link in await world.backend.list_links()}
    assert first.service_id in links and links[first.service_id].duration_minutes == 30


async def test_create_link_keeps_the_meetings_restrictions(world: World) -> None:
    link = await world.backend.admin.create_link(
        name="Deep dive",
        host_id=world.host["id"],
        location=Location(kind="custom_address", address="Hafen 3, Hamburg"),
        duration_minutes=45,
    )
    stored = world.fake.services[link.link_id]
    assert stored["type"] == "APPOINTMENT" and stored["appId"] == MEETINGS_APP_ID
    assert stored["staffMemberIds"] == [world.host["resourceId"]] and len(stored["locations"]) == 1
    assert link.location.kind == "custom_address" and link.location.address == "Hafen 3, Hamburg"
    assert link.durations_minutes == (45,) and link.host.host_id == world.host["id"]
    with pytest.raises(InvalidArgument):
        await world.backend.admin.create_link(
            name="Shop", host_id=world.host["id"], location=Location(kind="business_address")
        )


async def test_duration_buffer_and_name_change_through_update_service(world: World) -> None:
    link = await world.backend.admin.update_link(
        world.link["id"], name="Chat", durations_minutes=(45,), buffer_minutes=15
    )
    assert (link.name, link.durations_minutes, link.buffer_minutes) == ("Chat", (45,), 15)
    assert world.fake.services[link.link_id]["revision"] == "2"
    assert (await world.backend.get_link(link.link_id)).durations_minutes == (45,)  # cache kept true


async def test_price_and_deposit_are_set_and_cleared(world: World) -> None:
    paid = await world.backend.admin.set_link_price(
        world.link["id"], Price(amount=Decimal("80"), currency="EUR", deposit=Decimal("20"))
    )
    assert paid.price == Price(amount=Decimal("80"), currency="EUR", deposit=Decimal("20"))
    payment = world.fake.services[paid.link_id]["payment"]
    assert payment["rateType"] == "FIXED" and payment["options"]["deposit"] is True
    free = await world.backend.admin.set_link_price(paid.link_id, None)
    assert free.price is None and world.fake.services[paid.link_id]["payment"]["rateType"] == "NO_FEE"
    assert world.fake.calls[-1] == f"GET /bookings/v2/services/{paid.link_id}"  # read back


async def test_a_price_wix_keeps_after_update_service_is_reported(world: World) -> None:
    price = Price(amount=Decimal("80"), currency="EUR")
    await world.backend.admin.set_link_price(world.link["id"], price)
    stored = world.fake.services[world.link["id"]]
    kept = dict(stored["payment"])
    world.fake.inject(
        "PATCH", r"/bookings/v2/services/.*", Fault(after=lambda: stored.__setitem__("payment", kept))
    )
    with pytest.raises(NotSupported) as caught:
        await world.backend.admin.set_link_price(world.link["id"], None)
    assert "price" in caught.value.message and caught.value.next_step
    assert (await world.backend.get_link(world.link["id"])).price == price


async def test_a_link_takes_one_duration_and_several_are_refused_before_writing(world: World) -> None:
    with pytest.raises(NotSupported):
        await world.backend.admin.create_scheduling_link(
            NewLink(name="Flexible", location=Location(kind="phone"), durations_minutes=(30, 60))
        )
    with pytest.raises(NotSupported):
        await world.backend.admin.update_scheduling_link(
            world.link["id"], LinkChange(durations_minutes=(30, 45))
        )
    assert world.fake.count("POST", "/bookings/v2/services") == 0 and world.fake.count("PATCH") == 0
    made = await world.backend.admin.create_scheduling_link(
        NewLink(name="Fixed", location=Location(kind="phone"), durations_minutes=(60,))
    )
    assert made.durations_minutes == (60,) and made.host.host_id == world.host["id"]


async def test_location_video_and_phone(world: World) -> None:
    video = await world.backend.admin.set_link_location(world.link["id"], Location(kind="video"))
    assert video.location.kind == "video"
    phone = await world.backend.admin.set_link_location(world.link["id"], Location(kind="phone"))
    assert phone.location.kind == "phone"
    home = await world.backend.admin.set_link_location(world.link["id"], Location(kind="customer_address"))
    assert home.location.kind == "customer_address"
    assert world.fake.services[home.link_id]["locations"][0]["type"] == "CUSTOMER"


async def test_a_new_host_is_connected_to_a_site_user_and_can_get_a_calendar(world: World) -> None:
    host = await world.backend.admin.create_host(name="Grace", email="grace@example.com")
    assert host.name == "Grace" and host.host_id in world.fake.staff
    connected = await world.backend.admin.connect_host_to_user(host.host_id)
    assert connected.host_id == host.host_id
    assert world.fake.staff[host.host_id]["associatedWixIdentity"]["connection"]["status"] == "PENDING"
    request = ConnectCalendarRequest(
        provider="apple", host_id=host.host_id, email="g@icloud.test", password="x-y"
    )
    result = await world.backend.connect_calendar(request)
    assert result.connection is not None
    gone = await world.backend.admin.disconnect_calendar(
        result.connection.connection_id, host_id=host.host_id
    )
    assert gone.status == "disconnected" and gone.provider == "apple"
