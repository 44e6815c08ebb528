"""MeetergoBackend against the stateful fake: meetergo's wire parameters and mapping of links, slots,
listing, calendars and account. What every backend promises is in tests/contract/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests._meetergo import TUESDAY_9, World, bodies, open_world, request_for, slot_at, slots_on
from tests.conftest import FakeClock
from wix_meetings_mcp.bookings.errors import (
    InvalidArgument,
    LinkInactive,
    NotSupported,
)
from wix_meetings_mcp.bookings.meetergo import MeetergoBackend
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest, MeetingQuery


@pytest.fixture
async def world(clock: FakeClock) -> AsyncIterator[World]:
    async with open_world(clock) as w:
        yield w


# --- links ---------------------------------------------------------------------------------------


async def test_list_links_maps_meeting_types_and_hides_disabled_ones(world: World) -> None:
    hidden = world.fake.add_meeting_type("Old", user_id=world.host, enabled=False)
    links = await world.backend.list_links()
    assert [link.link_id for link in links] == [world.solo]
    intro = links[0]
    assert intro.name == "Intro call" and intro.active and intro.durations_minutes == (30, 60)
    assert intro.booking_url == "https://cal.meetergo.com/hanna/intro-call"
    assert intro.host.host_id == world.host and intro.host.name == "Hanna Host"
    assert intro.location.kind == "video" and not intro.phone_only_allowed and not intro.requires_approval
    everything = await world.backend.list_links(include_inactive=True)
    assert {link.link_id: link.active for link in everything} == {world.solo: True, hidden: False}


async def test_list_links_reads_the_stale_wrapped_list_shape(clock: FakeClock) -> None:
    async with open_world(clock, list_variant="wrapped") as w:
        assert [link.name for link in await w.backend.list_links()] == ["Intro call"]


async def test_deactivating_a_link_patches_enabled_and_the_adapter_refuses_to_book_it(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    await world.backend.set_link_active(world.solo, active=False)
    assert world.fake.meeting_types[world.solo]["enabled"] is False
    assert bodies(world, f"/v4/meeting-type/{world.solo}") == [{"enabled": False}]
    with pytest.raises(LinkInactive):
        await world.backend.book(request_for(slot), meetings_limit=None)
    assert world.fake.calls["POST /v4/booking"] == 0


async def test_a_redirect_for_a_deactivated_link_is_not_supported(world: World) -> None:
    with pytest.raises(NotSupported):
        await world.backend.set_link_active(world.solo, active=False, redirect_url="https://example.com")
    assert world.fake.calls[f"PATCH /v4/meeting-type/{world.solo}"] == 0


# --- slots ---------------------------------------------------------------------------------------


async def test_find_slots_sends_dates_host_scope_and_duration_on_the_wire(world: World) -> None:
    slots = await slots_on(world, world.solo, TUESDAY_9, minutes=60)
    assert slots[0].end - slots[0].start == timedelta(hours=1)
    query = next(r for r in world.fake.requests if r.url.path == "/v4/booking-availability").url.params
    assert query["meetingTypeId"] == world.solo and query.get_list("hostIds") == [world.host]
    assert (query["start"], query["end"]) == ("2026-12-01", "2026-12-02")
    assert query["meetingDuration"] == "60" and query["timezone"] == "Europe/Berlin"


async def test_a_duration_the_link_does_not_offer_is_invalid(world: World) -> None:
    link = await world.backend.get_link(world.solo)
    with pytest.raises(InvalidArgument):
        await world.backend.find_slots(
            link, start=TUESDAY_9, end=TUESDAY_9 + timedelta(hours=2), duration=timedelta(minutes=45)
        )


async def test_host_scope_is_looked_up_once_and_cached(world: World, clock: FakeClock) -> None:
    link = await world.backend.get_link(world.solo)  # as another process would have seen it
    slot = await slot_at(world, world.solo, TUESDAY_9)
    cold = MeetergoBackend(client=world.client, clock=clock, time_zone="Europe/Berlin")
    world.fake.calls.clear()
    for _ in range(2):
        await cold.find_slots(
            link, start=TUESDAY_9, end=TUESDAY_9 + timedelta(hours=3), duration=timedelta(minutes=30)
        )
    assert await cold.is_slot_free(slot)
    await cold.book(request_for(slot), meetings_limit=None)
    assert world.fake.calls[f"GET /v4/meeting-type/{world.solo}"] == 1
    assert world.fake.calls["GET /v4/booking-availability"] == 3 and world.fake.calls["POST /v4/booking"] == 1


async def test_round_robin_link_uses_the_queue_for_availability_and_booking(world: World) -> None:
    queue = world.fake.add_queue(world.host, world.colleague)
    team = world.fake.add_meeting_type("Team demo", queue_id=queue)
    world.fake.seed_appointment(team, TUESDAY_9, "busy@example.com")  # the host is taken at 09:00
    slot = await slot_at(world, team, TUESDAY_9)
    assert slot.host_id == f"queue:{queue}"
    meeting = await world.backend.book(request_for(slot), meetings_limit=None)
    assert (
        bodies(world, "/v4/booking")[-1]["queueId"] == queue
        and "hostIds" not in bodies(world, "/v4/booking")[-1]
    )
    assert meeting.host.host_id == world.colleague and meeting.host.name == world.colleague
    availability = [r for r in world.fake.requests if r.url.path == "/v4/booking-availability"][-1]
    assert availability.url.params["queueId"] == queue and "hostIds" not in availability.url.params


async def test_is_slot_free_asks_fresh_availability_without_the_meeting_being_moved(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    meeting = await world.backend.book(request_for(slot), meetings_limit=None)
    assert await world.backend.is_slot_free(slot, ignore_meeting_id=meeting.meeting_id)
    last = [r for r in world.fake.requests if r.url.path == "/v4/booking-availability"][-1].url.params
    assert last["existingAppointmentId"] == meeting.meeting_id and last["refreshCache"] == "true"


# --- listing -------------------------------------------------------------------------------------


async def test_list_meetings_maps_appointments_made_elsewhere_and_reads_one_api_page(
    world: World, clock: FakeClock
) -> None:
    other = world.fake.add_meeting_type("Other", user_id=world.host)
    past = world.fake.seed_appointment(world.solo, clock.now - timedelta(days=3), "ada@example.com")
    upcoming = world.fake.seed_appointment(world.solo, TUESDAY_9, "ada@example.com")
    elsewhere = world.fake.seed_appointment(other, TUESDAY_9 + timedelta(hours=2), "bob@example.com")
    cancelled = world.fake.seed_appointment(
        world.solo, TUESDAY_9 + timedelta(days=1), "ada@example.com", cancelled=True
    )

    async def ids(**query: object) -> list[str]:
        page = await world.backend.list_meetings(MeetingQuery.model_validate(query))
        return [m.meeting_id for m in page.meetings]

    assert await ids(status="all") == [past, upcoming, elsewhere, cancelled]
    assert await ids(status="past") == [past] and await ids(link_id=other) == [elsewhere]
    paged = [r.url.params for r in world.fake.requests if r.url.path == "/v4/appointment/paginated"]
    assert all(p["page"] == "0" and p["pageSize"] == "50" for p in paged)


async def test_list_meetings_pages_with_a_cursor_across_api_pages(world: World) -> None:
    expected = [
        world.fake.seed_appointment(
            world.solo, TUESDAY_9 + timedelta(days=day, minutes=30 * i), f"p{day}{i}@x.io"
        )
        for day in range(7)
        for i in range(9)
    ]  # 63 appointments: two API pages of 50
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await world.backend.list_meetings(MeetingQuery(limit=20, cursor=cursor))
        seen += [m.meeting_id for m in page.meetings]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    with pytest.raises(InvalidArgument):
        await world.backend.list_meetings(MeetingQuery(cursor="not-a-cursor"))


# --- calendars and account -----------------------------------------------------------------------


async def test_connect_calendar_returns_the_providers_authorization_url(world: World) -> None:
    result = await world.backend.connect_calendar(
        ConnectCalendarRequest(provider="google", redirect_url="https://app.example/back")
    )
    assert result.status == "authorization_required"
    assert result.authorization_url and result.authorization_url.startswith(
        "https://accounts.google.example/"
    )
    query = world.fake.requests[-1].url.params
    assert world.fake.requests[-1].url.path == "/v4/calendar-connections/auth/google/url"
    assert query["redirectUrl"] == "https://app.example/back" and "userId" not in query
    await world.backend.connect_calendar(ConnectCalendarRequest(provider="outlook", host_id=world.colleague))
    assert world.fake.requests[-1].url.params["userId"] == world.colleague


@pytest.mark.parametrize(
    "request_",
    [
        ConnectCalendarRequest(provider="google", ics_url="https://example.com/cal.ics"),
        ConnectCalendarRequest(provider="apple", email="a@icloud.com", password="abcd-efgh"),
    ],
)
async def test_ics_feeds_and_apple_passwords_are_not_supported(
    world: World, request_: ConnectCalendarRequest
) -> None:
    with pytest.raises(NotSupported) as caught:
        await world.backend.connect_calendar(request_)
    assert caught.value.next_step and "abcd-efgh" not in str(caught.value)


async def test_list_calendar_connections_maps_providers_and_flags(world: World) -> None:
    google = world.fake.add_connection(
        world.host, "google", "hanna@gmail.com", isPrimary=True, selectedCalendars=["c1"]
    )
    icloud = world.fake.add_connection(world.host, "icloud", "hanna@icloud.com", isConnected=False)
    world.fake.add_connection(world.host, "ics", "feed")
    world.fake.add_connection(world.colleague, "outlook", "carl@outlook.com")
    mine = await world.backend.list_calendar_connections()
    assert [(c.connection_id, c.provider, c.status) for c in mine] == [
        (google, "google", "connected"),
        (icloud, "apple", "disconnected"),
    ]
    assert mine[0].export_enabled and mine[0].import_enabled and mine[0].account_email == "hanna@gmail.com"
    assert mine[0].host_id == world.host
    theirs = await world.backend.list_calendar_connections(world.colleague)
    assert [(c.provider, c.host_id) for c in theirs] == [("outlook", world.colleague)]


async def test_get_account_names_the_business_after_the_user_and_maps_meetergo_features(world: World) -> None:
    account = await world.backend.get_account()
    assert account.business.name == "Hanna Host" and account.business.time_zone == "Europe/Berlin"
    assert account.plan.premium and account.plan.meetings_limit is None
    assert account.features.external_calendars and not account.features.paid_meetings
