"""The `admin` toolset through MCP: the "Set up Wix Meetings" and "Set up a paid meeting" flows on the
local engine and on Wix (real adapter, fake Wix), the guardrails before any write, the confirmed
calendar disconnect, and not_supported on meetergo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from mcp import Client

from tests._meetergo import open_world
from tests.conftest import Caller, Connect, FakeClock
from tests.fakes.wix import MEETINGS_APP_ID, Fault
from tests.fakes.wix_setup import World, wix_world
from tests.test_tools_booking import ANN
from tests.test_tools_confirm import Answer
from tests.test_tools_links_calendars import ICS, first_slot
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

ADMIN = {"provision_meetings", "create_scheduling_link", "update_scheduling_link", "create_host",
         "disconnect_calendar", "connect_video_account", "disconnect_video_account",
         "rotate_export_feed"}  # fmt: skip
PAID = {"amount": 80, "currency": "EUR", "deposit": 20}
HAMBURG = {"kind": "custom_address", "address": "Hafen 3, Hamburg"}


async def tool_names(connect: Connect, **settings: Any) -> set[str]:
    async with connect(**settings) as call:
        return {t.name for t in (await call.client.list_tools()).tools}


async def link_count(call: Caller) -> int:
    return len((await call("list_scheduling_links", include_inactive=True))["links"])


def minutes(slot: dict[str, Any]) -> float:
    start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
    return (end - start).total_seconds() / 60


# --- toolset selection ----------------------------------------------------------------------------


async def test_admin_tools_are_off_by_default_and_hidden_in_read_only_mode(connect: Connect) -> None:
    assert not ADMIN & await tool_names(connect)
    assert await tool_names(connect, toolsets="all") >= ADMIN
    assert await tool_names(connect, toolsets="admin,booking", read_only=True) == {
        "get_account", "list_scheduling_links", "find_slots", "list_meetings", "get_meeting"}  # fmt: skip
    async with connect(toolsets="admin") as call:
        tools = {t.name: t for t in (await call.client.list_tools()).tools}
    assert set(tools) == ADMIN
    assert {n for n, t in tools.items() if t.annotations.destructive_hint} == {
        "disconnect_calendar",
        "disconnect_video_account",
    }
    assert not any(t.annotations.read_only_hint for t in tools.values())
    for tool in tools.values():
        assert tool.title and tool.description and tool.output_schema, tool.name


# --- local: Set up Wix Meetings ---------------------------------------------------------------------


async def test_setting_up_meetings_provisions_creates_a_link_and_find_slots_offers_it(
    connect: Connect,
) -> None:
    async with connect(toolsets="admin,booking") as call:
        default = (await call("provision_meetings"))["link"]
        assert (default["name"], default["durations_minutes"]) == ("30 Minute Meeting", [30])
        assert (await call("provision_meetings"))["link"]["link_id"] == default["link_id"]
        assert await link_count(call) == 1

        created = await call(
            "create_scheduling_link",
            name="Deep dive",
            durations_minutes=[45, 60],
            buffer_minutes=15,
            locations=[HAMBURG],
            requires_approval=True,
            cancellation_window_hours=48,
        )
        link = created["link"]
        assert link["durations_minutes"] == [45, 60] and link["buffer_minutes"] == 15
        assert link["location"] == HAMBURG and link["requires_approval"] is True
        assert link["cancellation_window_hours"] == 48 and "price" not in link
        assert link["host"]["host_id"] == default["host"]["host_id"]
        assert "find_slots" in created["next_step"]

        slots = (await call("find_slots", link_id=link["link_id"], from_date="2026-12-01"))["slots"]
        assert slots[0]["start"] == "2026-12-01T09:00:00+01:00" and minutes(slots[0]) == 45
        booked = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN)
        assert booked["status"] == "pending"

        changed = await call(
            "update_scheduling_link", link_id=default["link_id"], durations_minutes=[20], name="Quick chat"
        )
        assert changed["link"]["durations_minutes"] == [20] and changed["link"]["name"] == "Quick chat"
        quick = (await call("find_slots", link_id=default["link_id"], from_date="2026-12-01"))["slots"]
        assert minutes(quick[0]) == 20


async def test_a_retried_create_with_the_same_idempotency_key_makes_one_link(connect: Connect) -> None:
    async with connect(toolsets="admin,booking") as call:
        args = {"name": "Office hours", "idempotency_key": "create-office-hours-1"}
        first = await call("create_scheduling_link", **args)
        again = await call("create_scheduling_link", **args)
        assert first["link"]["link_id"] == again["link"]["link_id"]
        assert first["link"]["location"] == {"kind": "phone"}  # the default location
        assert await link_count(call) == 2
        refused = await call.error(
            "create_scheduling_link", name="Other", idempotency_key=args["idempotency_key"]
        )
        assert refused.startswith("idempotency_conflict: ")


async def test_a_new_host_is_connected_to_its_user_and_gets_its_own_link(connect: Connect) -> None:
    async with connect(toolsets="admin,booking") as call:
        made = await call("create_host", name="Grace Hopper", email="grace@example.com")
        host = made["host"]
        assert (host["name"], host["email"]) == ("Grace Hopper", "grace@example.com")
        assert made["user_email"] == "grace@example.com" and made["user_status"] == "connected"
        link = (await call("create_scheduling_link", name="Grace's call", host_ids=[host["host_id"]]))["link"]
        assert link["host"]["host_id"] == host["host_id"]
        assert (await call("find_slots", link_id=link["link_id"], from_date="2026-12-01"))["slots"]
        reconnected = await call(
            "create_host", name="ignored", email="g.hopper@example.com", host_id=host["host_id"]
        )
        assert reconnected["host"]["host_id"] == host["host_id"]
        assert reconnected["host"]["email"] == "g.hopper@example.com"
        missing = await call.error("create_host", name="x", email="x@example.com", host_id="host_nope")
        assert missing.startswith("not_found: ")


# --- local: Set up a paid meeting --------------------------------------------------------------------


async def test_a_paid_meeting_with_a_deposit_asks_for_payment_on_premium(connect: Connect) -> None:
    async with connect(toolsets="admin,booking", plan="premium") as call:
        link = (await call("provision_meetings"))["link"]
        paid = (await call("update_scheduling_link", link_id=link["link_id"], price=PAID))["link"]
        assert paid["price"] == {"amount": "80", "currency": "EUR", "deposit": "20"}
        booked = await call("book_meeting", slot_id=await first_slot(call, link["link_id"]), attendee=ANN)
        assert booked["status"] == "payment_required"

        free = (await call("update_scheduling_link", link_id=link["link_id"], make_free=True))["link"]
        assert "price" not in free
        later = await first_slot(call, link["link_id"], from_date="2026-12-02")
        assert (await call("book_meeting", slot_id=later, attendee=ANN))["status"] == "confirmed"

        created = await call(
            "create_scheduling_link",
            name="Consult",
            price={"amount": "49.90", "currency": "EUR", "deposit": None},
        )
        assert created["link"]["price"] == {
            "amount": "49.90",
            "currency": "EUR",
        }


async def test_on_the_free_plan_paid_and_video_links_are_refused_before_any_write(connect: Connect) -> None:
    async with connect(toolsets="admin,booking") as call:
        link = (await call("provision_meetings"))["link"]
        for tool, args in (
            ("create_scheduling_link", {"name": "Paid", "price": PAID}),
            ("create_scheduling_link", {"name": "Video", "locations": [{"kind": "video"}]}),
            ("update_scheduling_link", {"link_id": link["link_id"], "price": PAID}),
            ("update_scheduling_link", {"link_id": link["link_id"], "locations": [{"kind": "video"}]}),
        ):
            refused = await call.error(tool, **args)
            assert refused.startswith("premium_required: "), refused
        assert "video conferencing" in refused
        assert await link_count(call) == 1
        assert (await call("list_scheduling_links"))["links"][0] == link


async def test_video_needs_premium_and_then_is_the_links_one_location(connect: Connect) -> None:
    async with connect(toolsets="admin,booking", plan="premium") as call:
        link = (await call("provision_meetings"))["link"]
        video = await call("update_scheduling_link", link_id=link["link_id"], locations=[{"kind": "video"}])
        assert video["link"]["location"]["kind"] == "video"
        made = await call("create_scheduling_link", name="Video call", locations=[{"kind": "video"}])
        assert made["link"]["location"]["kind"] == "video"


# --- local: the Meetings restrictions and sane values ------------------------------------------------


async def test_a_second_location_or_host_is_not_supported(connect: Connect) -> None:
    async with connect(toolsets="admin,booking", plan="premium") as call:
        link = (await call("provision_meetings"))["link"]
        two_places = [{"kind": "video"}, HAMBURG]
        refused = await call.error("create_scheduling_link", name="Both", locations=two_places)
        assert refused.startswith("not_supported: ") and "one location" in refused
        refused = await call.error("update_scheduling_link", link_id=link["link_id"], locations=two_places)
        assert refused.startswith("not_supported: ")
        hosts = [link["host"]["host_id"], "host_2"]
        refused = await call.error("create_scheduling_link", name="Team", host_ids=hosts)
        assert refused.startswith("not_supported: ") and "one host" in refused
        assert await link_count(call) == 1


async def test_bad_prices_durations_and_locations_are_invalid_arguments(connect: Connect) -> None:
    async with connect(toolsets="admin,booking", plan="premium") as call:
        link_id = (await call("provision_meetings"))["link"]["link_id"]
        for tool, args, words in (
            ("create_scheduling_link", {"name": "x", "price": {**PAID, "deposit": 90}}, "deposit"),
            ("create_scheduling_link", {"name": "x", "durations_minutes": [30, 30]}, "twice"),
            ("create_scheduling_link", {"name": "x", "durations_minutes": [0]}, "durations_minutes"),
            ("create_scheduling_link", {"name": "x", "durations_minutes": [24 * 60]}, "durations_minutes"),
            ("create_scheduling_link", {"name": "x", "price": {"amount": -5, "currency": "EUR"}}, "price"),
            ("create_scheduling_link", {"name": "x", "locations": [{"kind": "custom_address"}]}, "address"),
            ("create_scheduling_link", {"name": "x", "locations": [{**HAMBURG, "kind": "phone"}]}, "address"),
            ("update_scheduling_link", {"link_id": link_id, "price": PAID, "make_free": True}, "make_free"),
            ("update_scheduling_link", {"link_id": link_id}, "nothing to change"),
        ):
            refused = await call.error(tool, **args)
            assert refused.startswith("invalid_argument: ") and words in refused, refused
        assert await link_count(call) == 1
        missing = await call.error("update_scheduling_link", link_id="nope", name="x")
        assert missing.startswith("not_found: ")


# --- local: disconnect_calendar (destructive) --------------------------------------------------------


@asynccontextmanager
async def connected_calendar(
    connect: Connect, tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[Caller, str]]:
    """A premium site whose host's calendar (the ICS feed of test_tools_links_calendars) is connected."""
    feed = tmp_path / "secret-calendar.ics"
    feed.write_text(ICS)
    async with connect(toolsets="admin,booking,calendar", plan="premium", **settings) as call:
        connected = await call("connect_calendar", provider="google", ics_url=feed.as_uri())
        yield call, connected["connection_id"]


async def starts_on_dec_1(call: Caller) -> set[str]:
    link = (await call("list_scheduling_links"))["links"][0]["link_id"]
    found = await call("find_slots", link_id=link, from_date="2026-12-01", to_date="2026-12-01")
    return {s["start"] for s in found["slots"]}


async def test_disconnecting_a_calendar_asks_first_then_frees_its_busy_times(
    connect: Connect, tmp_path: Path
) -> None:
    async with connected_calendar(connect, tmp_path) as (call, connection_id):
        blocked = await starts_on_dec_1(call)
        assert "2026-12-01T10:00:00+01:00" not in blocked
        first = await call("disconnect_calendar", connection_id=connection_id)
        assert first["status"] == "confirmation_required" and "Google calendar" in first["preview"]
        connections = (await call("list_calendar_connections"))["connections"]
        assert [c["status"] for c in connections] == ["connected"]

        done = await call(
            "disconnect_calendar", connection_id=connection_id, confirmation_token=first["confirmation_token"]
        )
        assert done["status"] == "disconnected" and done["connection"]["status"] == "disconnected"
        assert "2026-12-01T10:00:00+01:00" in await starts_on_dec_1(call)
        again = await call("disconnect_calendar", connection_id=connection_id)
        assert again["status"] == "disconnected"  # already done: nothing to confirm
        missing = await call.error("disconnect_calendar", connection_id="nope")
        assert missing.startswith("not_found: ")


async def test_disconnect_asks_by_elicitation_and_a_no_keeps_the_calendar(
    connect: Connect, tmp_path: Path
) -> None:
    no, yes = Answer(confirm=False), Answer(confirm=True)
    async with connected_calendar(connect, tmp_path, elicitation_callback=no) as (call, connection_id):
        declined = await call("disconnect_calendar", connection_id=connection_id)
        assert declined["status"] == "declined" and no.questions[0].startswith("Disconnect the Google")
        assert (await call("list_calendar_connections"))["connections"][0]["status"] == "connected"
    async with connect(toolsets="admin,calendar", plan="premium", elicitation_callback=yes) as call:
        connection_id = (await call("list_calendar_connections"))["connections"][0]["connection_id"]
        done = await call("disconnect_calendar", connection_id=connection_id)
        assert done["status"] == "disconnected" and len(yes.questions) == 1


# --- Wix ------------------------------------------------------------------------------------------------


@asynccontextmanager
async def wix_admin(tmp_path: Path, mode: str, **world: Any) -> AsyncIterator[tuple[World, Caller]]:
    async with wix_world(**world) as w:
        settings = Settings(db=tmp_path / "state.db", toolsets="admin,booking,calendar", confirm="token")
        async with Client(build_server(settings, backend=w.backend, clock=w.clock), mode=mode) as client:  # type: ignore[arg-type]
            yield w, Caller(client)


async def test_setting_up_meetings_on_wix_creates_a_meetings_service(tmp_path: Path, mode: str) -> None:
    async with wix_admin(tmp_path, mode) as (world, call):
        default = (await call("provision_meetings"))["link"]
        assert world.fake.provisioning is not None
        assert default["link_id"] == world.fake.provisioning["serviceId"]
        assert (await call("provision_meetings"))["link"]["link_id"] == default["link_id"]

        link = (
            await call(
                "create_scheduling_link", name="Deep dive", durations_minutes=[45], locations=[HAMBURG]
            )
        )["link"]
        service = world.fake.services[link["link_id"]]
        assert service["type"] == "APPOINTMENT" and service["appId"] == MEETINGS_APP_ID
        assert service["staffMemberIds"] == [world.host["resourceId"]]
        assert [x["type"] for x in service["locations"]] == ["CUSTOM"]
        assert service["schedule"]["availabilityConstraints"]["sessionDurations"] == [45]
        assert link["location"] == HAMBURG and link["host"]["host_id"] == world.host["id"]

        slots = (await call("find_slots", link_id=link["link_id"], from_date="2026-12-01"))["slots"]
        assert slots and minutes(slots[0]) == 45

        phone = await call("update_scheduling_link", link_id=link["link_id"], locations=[{"kind": "phone"}])
        assert phone["link"]["location"]["kind"] == "phone" and world.fake.services[link["link_id"]][
            "phoneCall"
        ] == {"enabled": True}

        refused = await call.error("create_scheduling_link", name="Strict", cancellation_window_hours=72)
        assert refused.startswith("not_supported: ") and "booking policy" in refused
        refused = await call.error(
            "create_scheduling_link", name="Both", locations=[{"kind": "video"}, HAMBURG]
        )
        assert refused.startswith("not_supported: ")


async def test_a_paid_meeting_on_wix_sets_a_fixed_price_and_deposit(tmp_path: Path, mode: str) -> None:
    async with wix_admin(tmp_path, mode) as (world, call):
        link_id = (await call("provision_meetings"))["link"]["link_id"]
        paid = (await call("update_scheduling_link", link_id=link_id, price=PAID))["link"]
        assert paid["price"] == {"amount": "80", "currency": "EUR", "deposit": "20"}
        payment = world.fake.services[link_id]["payment"]
        assert payment["rateType"] == "FIXED" and payment["options"]["deposit"] is True
        assert payment["fixed"]["price"] == {"value": "80", "currency": "EUR"}
        assert payment["fixed"]["deposit"] == {"value": "20", "currency": "EUR"}

        slot = await first_slot(call, link_id, from_date="2026-12-01")
        booked = await call("book_meeting", slot_id=slot, attendee=ANN)
        assert booked["status"] == "payment_required" and booked["payment_url"].startswith("https://")

        made = await call("create_scheduling_link", name="Consult", price={"amount": 50, "currency": "EUR"})
        assert world.fake.services[made["link"]["link_id"]]["payment"]["fixed"]["price"]["value"] == "50"
        free = await call("update_scheduling_link", link_id=link_id, make_free=True)
        assert "price" not in free["link"] and world.fake.services[link_id]["payment"]["rateType"] == "NO_FEE"


async def test_a_free_wix_site_is_refused_paid_and_video_links_before_any_write(
    tmp_path: Path, mode: str
) -> None:
    async with wix_admin(tmp_path, mode, premium=False) as (world, call):
        link_id = world.link["id"]
        for tool, args in (
            ("create_scheduling_link", {"name": "Paid", "price": PAID}),
            ("create_scheduling_link", {"name": "Video", "locations": [{"kind": "video"}]}),
            ("update_scheduling_link", {"link_id": link_id, "price": PAID}),
        ):
            assert (await call.error(tool, **args)).startswith("premium_required: ")
        assert world.fake.count("POST", "/bookings/v2/services") == 0
        assert world.fake.count("PATCH") == 0 and "payment" not in world.fake.services[link_id]


async def test_a_wix_host_is_invited_and_a_calendar_disconnected_after_confirmation(
    tmp_path: Path, mode: str
) -> None:
    async with wix_admin(tmp_path, mode) as (world, call):
        made = await call("create_host", name="Grace", email="grace@example.com")
        host_id = made["host"]["host_id"]
        assert made["user_status"] == "pending" and "invited" in made["next_step"]
        assert world.fake.staff[host_id]["associatedWixIdentity"]["connection"]["status"] == "PENDING"

        connected = await call(
            "connect_calendar", provider="apple", host_id=host_id, email="g@icloud.test", password="app-pass"
        )
        connection_id = connected["connection_id"]
        first = await call("disconnect_calendar", connection_id=connection_id, host_id=host_id)
        assert first["status"] == "confirmation_required"
        assert world.fake.connections[connection_id]["status"] == "CONNECTED"
        done = await call(
            "disconnect_calendar",
            connection_id=connection_id,
            host_id=host_id,
            confirmation_token=first["confirmation_token"],
        )
        assert done["status"] == "disconnected" and done["connection"]["provider"] == "apple"
        assert world.fake.connections[connection_id]["status"] == "DISCONNECTED"
        again = await call("disconnect_calendar", connection_id=connection_id, host_id=host_id)
        assert again["status"] == "disconnected"


async def test_a_host_created_but_not_connected_is_connected_on_retry_not_created_twice(
    tmp_path: Path, mode: str
) -> None:
    async with wix_admin(tmp_path, mode) as (world, call):
        refusal = Fault(status=400, code="STAFF_INVITE_REQUIRES_ROLE")
        world.fake.inject("POST", r"/bookings/v1/staff-members/[^/]+/connect-staff-member-to-user", refusal)
        failed = await call.error("create_host", name="Grace", email="grace@example.com")
        assert failed.startswith("invalid_argument: ") and "STAFF_INVITE_REQUIRES_ROLE" in failed
        (host_id,) = [s["id"] for s in world.fake.staff.values() if s["name"] == "Grace"]
        assert f"create_host again with host_id '{host_id}'" in failed
        retried = await call("create_host", name="Grace", email="grace@example.com", host_id=host_id)
        assert retried["host"]["host_id"] == host_id and retried["user_status"] == "pending"
        assert [s["name"] for s in world.fake.staff.values()].count("Grace") == 1


# --- meetergo ---------------------------------------------------------------------------------------------


async def test_meetergo_has_no_admin_api(db_path: Path, clock: FakeClock, mode: str) -> None:
    async with open_world(clock) as world:
        settings = Settings(db=db_path, time_zone="Europe/Berlin", toolsets="admin")
        async with Client(build_server(settings, backend=world.backend, clock=clock), mode=mode) as client:  # type: ignore[arg-type]
            call = Caller(client)
            for tool, args in (
                ("provision_meetings", {}),
                ("create_scheduling_link", {"name": "Intro"}),
                ("update_scheduling_link", {"link_id": world.solo, "name": "x"}),
                ("create_host", {"name": "Grace", "email": "grace@example.com"}),
                ("disconnect_calendar", {"connection_id": "c1"}),
            ):
                refused = await call.error(tool, **args)
                assert refused.startswith("not_supported: ") and "meetergo" in refused, refused
