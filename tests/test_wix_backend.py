"""The Wix adapter against FakeWix through the real httpx stack: what is Wix's own (call budgets, wire
payloads, revisions, error mapping, look-ups after a lost write). What every backend promises is in
tests/contract/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import FakeClock
from tests.fakes.wix import MEETINGS_APP_ID, Fault
from tests.fakes.wix_calendars import WRONG_PASSWORD
from tests.fakes.wix_setup import World, wix_world
from wix_meetings_mcp.bookings.errors import (
    AuthFailed,
    BackendUnavailable,
    InvalidArgument,
    NotFound,
    NotSupported,
    PolicyViolation,
    PremiumRequired,
    WriteOutcomeUnknown,
)
from wix_meetings_mcp.bookings.model import (
    Attendee,
    BookingRequest,
    ConnectCalendarRequest,
    Link,
    MeetingQuery,
    Slot,
)

BERLIN = ZoneInfo("Europe/Berlin")
DAY = timedelta(days=1)
ANN = Attendee(name="Ann Lee", email="ann@example.com", phone="+4930123456")
CREATE = "/bookings/v2/bookings"


@pytest.fixture
async def world(clock: FakeClock) -> AsyncIterator[World]:
    async with wix_world(clock=clock) as w:
        yield w


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A Berlin wall-clock time in the first week of December 2026 (1 December is a Tuesday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BERLIN)


async def a_link(world: World) -> Link:
    return await world.backend.get_link(world.link["id"])


async def slots_on(world: World, link: Link, day: int) -> list[Slot]:
    return await world.backend.find_slots(
        link, start=at(day, 0), end=at(day + 1, 0), duration=timedelta(minutes=30)
    )


async def book(world: World, link: Link, day: int = 1, hour: int = 10) -> BookingRequest:
    """A booking request for the offered slot starting at `hour` on `day`."""
    slot = next(s for s in await slots_on(world, link, day) if s.start == at(day, hour))
    return BookingRequest(slot=slot, attendee=ANN, notes={"topic": "pricing"})


# ---- links ----


async def test_links_are_the_meetings_services_only(world: World) -> None:
    world.fake.add_service(world.host, "Form fields", created_by_app_id="0000-scheduling-form-fields")
    world.fake.add_service(world.host, "Haircut", app_id="13d21c63-b5ec-5912-8397-c3a5ddb27a97")
    links = await world.backend.list_links()
    assert [link.name for link in links] == ["Intro call"]
    link = links[0]
    assert link.booking_url == "https://studio.example.com/meeting/intro-call"
    assert link.slug == "intro-call"
    assert link.host.host_id == world.host["id"] and link.host.name == "Ada Host"
    assert link.location.kind == "business_address" and link.location.address
    assert link.durations_minutes == (30,) and link.price is None and link.active
    assert link.policy.cancellation_window == timedelta(hours=24)


async def test_link_maps_price_deposit_approval_and_inactive_redirect(world: World) -> None:
    paid = world.fake.add_service(world.host, "Consult", price="50.00", deposit="10.00", manual_approval=True)
    off = world.fake.add_service(world.host, "Old", active=False)
    off["extendedFields"] = {
        "namespaces": {"@services/meetings": {"deactivatedRedirectUrl": "https://x.test"}}
    }
    link = await world.backend.get_link(paid["id"])
    assert (
        link.price is not None
        and link.price.amount == Decimal("50.00")
        and link.price.deposit == Decimal("10")
    )
    assert link.price.currency == "EUR" and link.requires_approval
    assert [lk.name for lk in await world.backend.list_links()] == ["Intro call", "Consult"]
    inactive = await world.backend.get_link(off["id"])
    assert not inactive.active and inactive.redirect_url == "https://x.test"


# ---- slots ----


async def test_find_slots_learns_the_business_zone_from_wix(world: World) -> None:
    slots = await slots_on(world, await a_link(world), 1)
    assert slots[0].start == at(1, 9) and slots[0].end == at(1, 9, 30)
    assert world.backend._catalog.time_zone == "Europe/Berlin"  # learned from Wix's answer


async def test_warm_find_slots_costs_one_wix_call(world: World) -> None:
    link = await a_link(world)
    await slots_on(world, link, 1)
    world.fake.calls.clear()
    link = await world.backend.get_link(link.link_id)
    await slots_on(world, link, 2)
    assert world.fake.calls == ["POST /service-availability/v2/time-slots"]


async def test_find_slots_follows_cursor_pages() -> None:
    async with wix_world(time_zone="Europe/Berlin") as world:
        world.fake.slot_page_size = 5
        slots = await world.backend.find_slots(
            await a_link(world), start=at(1, 0), end=at(3, 0), duration=timedelta(minutes=30)
        )
        assert len(slots) == 32 and slots == sorted(slots, key=lambda s: s.start)
        assert world.fake.count("POST", "/service-availability/v2/time-slots") == 7  # ceil(32 / 5)


async def test_find_slots_leaves_out_busy_times_of_connected_calendars(world: World) -> None:
    world.fake.block(at(1, 14), 60)
    starts = {s.start for s in await slots_on(world, await a_link(world), 1)}
    assert at(1, 13, 30) in starts and at(1, 14) not in starts and at(1, 14, 30) not in starts


async def test_is_slot_free_costs_one_get_availability_time_slot_call(world: World) -> None:
    link = await a_link(world)
    request = await book(world, link, 1, 11)
    await world.backend.is_slot_free(request.slot)
    meeting = await world.backend.book(request, meetings_limit=None)
    await world.backend.is_slot_free(request.slot, ignore_meeting_id=meeting.meeting_id)
    assert world.fake.count("POST", "/service-availability/v2/time-slots/get") == 2


# ---- booking ----


async def test_free_booking_is_confirmed_by_wix_in_four_calls(world: World) -> None:
    link = await a_link(world)
    request = await book(world, link, 1, 10)
    world.backend._catalog.invalidate()  # the services cache plays no part in a write
    world.fake.calls.clear()
    meeting = await world.backend.book(request, meetings_limit=3)
    assert meeting.status == "confirmed" and meeting.start == at(1, 10)
    assert meeting.attendee.email == ANN.email and meeting.host.host_id == world.host["id"]
    service, form = world.link["id"], world.link["form"]["id"]
    assert world.fake.calls == [
        f"GET /bookings/v2/services/{service}",  # price, deposit and form read fresh
        f"GET /form-schema-service/v4/forms/{form}",  # the notes' form, once (cached)
        "POST /bookings/v2/bookings",
        f"POST /bookings/v2/confirmation/{meeting.meeting_id}:confirmOrDecline",
    ]
    stored = world.fake.bookings[meeting.meeting_id]
    assert stored["status"] == "CONFIRMED"
    assert stored["bookedEntity"]["slot"]["location"]["locationType"] == "OWNER_BUSINESS"
    assert stored["bookedEntity"]["slot"]["resource"]["id"] == world.host["resourceId"]
    assert stored["contactDetails"]["firstName"] == "Ann" and stored["contactDetails"]["lastName"] == "Lee"


async def test_customer_address_link_books_with_the_custom_location_type(world: World) -> None:
    service = world.fake.add_service(world.host, "At yours", location="CUSTOMER")
    link = await world.backend.get_link(service["id"])
    meeting = await world.backend.book(await book(world, link, 2, 9), meetings_limit=None)
    assert meeting.location.kind == "customer_address"
    assert (
        world.fake.bookings[meeting.meeting_id]["bookedEntity"]["slot"]["location"]["locationType"]
        == "CUSTOM"
    )


async def test_manual_approval_booking_is_pending_as_wix_decides(world: World) -> None:
    service = world.fake.add_service(world.host, "Vetted", manual_approval=True)
    link = await world.backend.get_link(service["id"])
    meeting = await world.backend.book(await book(world, link), meetings_limit=None)
    assert meeting.status == "pending"
    assert world.fake.bookings[meeting.meeting_id]["status"] == "PENDING"  # in the host's calendar
    assert world.fake.count("POST", r"/bookings/v2/confirmation/.*:confirmOrDecline") == 1
    assert world.fake.count("POST", r"/bookings/v2/bookings/.*/confirm") == 0  # never the host's approve


async def test_approval_switched_on_in_the_dashboard_after_caching_still_gives_pending(
    world: World,
) -> None:
    link = await a_link(world)
    request = await book(world, link)
    world.fake.services[link.link_id]["onlineBooking"]["requireManualApproval"] = True
    meeting = await world.backend.book(request, meetings_limit=None)
    assert meeting.status == "pending" and world.fake.bookings[meeting.meeting_id]["status"] == "PENDING"


async def test_price_set_in_the_dashboard_after_caching_asks_for_payment(world: World) -> None:
    link = await a_link(world)
    request = await book(world, link)
    paid = world.fake.add_service(world.host, "Template", price="40.00")
    world.fake.services[link.link_id]["payment"] = paid["payment"]
    meeting = await world.backend.book(request, meetings_limit=None)
    assert meeting.status == "payment_required" and meeting.payment_url
    assert world.fake.bookings[meeting.meeting_id]["selectedPaymentOption"] == "ONLINE"


async def test_a_deposit_is_selected_unless_the_full_price_may_be_paid_upfront(world: World) -> None:
    with_deposit = world.fake.add_service(world.host, "Deposit", price="80.00", deposit="20.00")
    link = await world.backend.get_link(with_deposit["id"])
    meeting = await world.backend.book(await book(world, link, 2, 10), meetings_limit=None)
    assert meeting.status == "payment_required"
    assert world.fake.bookings[meeting.meeting_id]["depositSelected"] is True
    either = world.fake.add_service(world.host, "Either", price="80.00", deposit="20.00", full_upfront=True)
    link = await world.backend.get_link(either["id"])
    meeting = await world.backend.book(await book(world, link, 2, 11), meetings_limit=None)
    assert "depositSelected" not in world.fake.bookings[meeting.meeting_id]


@pytest.mark.parametrize("notify", [True, False])
async def test_the_sms_reminder_follows_notify_attendee(world: World, notify: bool) -> None:
    link = await a_link(world)
    request = (await book(world, link)).model_copy(update={"notify_attendee": notify})
    meeting = await world.backend.book(request, meetings_limit=None)
    assert world.fake.sms_reminders[meeting.meeting_id] is notify


# ---- notes and the booking form ----


async def test_notes_of_the_form_go_in_a_submission_with_the_contact_and_others_come_back(
    world: World,
) -> None:
    link = await a_link(world)
    slot = (await book(world, link)).slot
    notes = {"add_your_message": "About pricing", "utm_source": "newsletter"}
    attendee = ANN.model_copy(update={"phone": "+49 30 123-456"})
    request = BookingRequest(slot=slot, attendee=attendee, notes=notes)
    meeting = await world.backend.book(request, meetings_limit=None)
    assert meeting.notes == {"add_your_message": "About pricing"}
    assert meeting.unsaved_notes == ("utm_source",)
    submitted = world.fake.form_submissions[meeting.meeting_id]
    assert submitted == {
        "first_name": "Ann",
        "last_name": "Lee",
        "email_4f2a": "ann@example.com",  # found by contactMapping, not by name
        "phone_9c1d": "+4930123456",  # E.164
        "add_your_message": "About pricing",
    }
    contact = world.fake.bookings[meeting.meeting_id]["contactDetails"]
    assert (contact["firstName"], contact["email"]) == ("Ann", "ann@example.com")  # not lost
    assert meeting.attendee.name == "Ann Lee"


async def test_notes_the_form_lacks_are_not_sent_and_the_contact_is_kept(world: World) -> None:
    link = await a_link(world)
    slot = (await book(world, link)).slot
    request = BookingRequest(slot=slot, attendee=ANN, notes={"utm_source": "ad", "topic": "x"})
    meeting = await world.backend.book(request, meetings_limit=None)
    assert meeting.notes == {} and meeting.unsaved_notes == ("utm_source", "topic")
    assert world.fake.form_submissions[meeting.meeting_id] == {}
    assert world.fake.bookings[meeting.meeting_id]["contactDetails"]["email"] == ANN.email
    again = await world.backend.book(
        BookingRequest(slot=(await book(world, link, 2, 9)).slot, attendee=ANN, notes={"a": "b"}),
        meetings_limit=None,
    )
    assert again.unsaved_notes == ("a",)
    assert world.fake.count("GET", r"/form-schema-service/v4/forms/.*") == 1  # the form is cached


async def test_without_a_phone_field_on_the_form_no_submission_drops_the_phone(world: World) -> None:
    form = world.fake.meetings_form()
    form["formFields"] = [f for f in form["formFields"] if f.get("identifier") != "CONTACTS_PHONE"]
    link = await a_link(world)
    slot = (await book(world, link)).slot
    request = BookingRequest(slot=slot, attendee=ANN, notes={"add_your_message": "hi"})
    meeting = await world.backend.book(request, meetings_limit=None)
    assert meeting.unsaved_notes == ("add_your_message",)
    assert world.fake.bookings[meeting.meeting_id]["contactDetails"]["phone"] == ANN.phone


async def test_paid_booking_needs_payment_at_the_checkout_url(world: World) -> None:
    service = world.fake.add_service(world.host, "Consult", price="50.00")
    link = await world.backend.get_link(service["id"])
    meeting = await world.backend.book(await book(world, link), meetings_limit=None)
    assert meeting.status == "payment_required"
    assert meeting.payment_url and meeting.payment_url.startswith(
        "https://studio.example.com/checkout?checkoutId="
    )
    stored = world.fake.bookings[meeting.meeting_id]
    assert stored["selectedPaymentOption"] == "ONLINE" and stored["status"] == "CREATED"
    (checkout,) = world.fake.checkouts.values()
    assert checkout["lineItems"][0]["catalogReference"]["catalogItemId"] == meeting.meeting_id
    world.fake.pay(meeting.meeting_id)
    assert (await world.backend.get_meeting(meeting.meeting_id)).status == "confirmed"


async def test_dropped_response_after_create_booking_leaves_one_booking(world: World) -> None:
    link = await a_link(world)
    request = await book(world, link)
    typed = Attendee(name="Ann Lee", email="Ann@Example.COM", phone="0049 30 123456")
    request = request.model_copy(update={"attendee": typed, "notes": {"add_your_message": "hi"}})
    world.fake.inject("POST", CREATE, Fault(drop=True))
    meeting = await world.backend.book(request, meetings_limit=None)
    assert len(world.fake.bookings) == 1 and meeting.meeting_id in world.fake.bookings
    assert meeting.status == "confirmed"
    assert world.fake.count("POST", CREATE) == 1


async def test_timeout_before_create_booking_writes_nothing_and_says_so(world: World) -> None:
    link = await a_link(world)
    request = await book(world, link)
    world.fake.inject("POST", CREATE, Fault(timeout=True))
    # Not found afterwards is not proof of not written (the reader may lag): the outcome stays unknown.
    with pytest.raises(WriteOutcomeUnknown):
        await world.backend.book(request, meetings_limit=None)
    assert not world.fake.bookings
    assert world.fake.count("POST", CREATE) == 1


async def test_create_booking_is_retried_on_429_but_not_on_503(world: World) -> None:
    link = await a_link(world)
    world.fake.inject("POST", CREATE, Fault.throttled())
    assert (
        await world.backend.book(await book(world, link, 1, 9), meetings_limit=None)
    ).status == "confirmed"
    assert world.fake.count("POST", CREATE) == 2 and world.sleeps == [1.0]
    world.fake.inject("POST", CREATE, Fault.unavailable())
    with pytest.raises(BackendUnavailable):
        await world.backend.book(await book(world, link, 1, 10), meetings_limit=None)
    assert world.fake.count("POST", CREATE) == 3 and len(world.fake.bookings) == 1


# ---- reschedule and cancel ----


async def test_reschedule_moves_the_meeting_with_its_revision(world: World) -> None:
    link = await a_link(world)
    meeting = await world.backend.book(await book(world, link, 2, 10), meetings_limit=None)
    new_slot = next(s for s in await slots_on(world, link, 3) if s.start == at(3, 15))
    moved = await world.backend.reschedule(meeting.meeting_id, new_slot, notify_attendee=False)
    assert moved.start == at(3, 15) and moved.status == "confirmed"
    assert world.fake.bookings[meeting.meeting_id]["revision"] == "3"  # created, confirmed, rescheduled


async def test_reschedule_inside_the_policy_window_is_a_policy_violation(world: World) -> None:
    link = await a_link(world)
    meeting = await world.backend.book(await book(world, link, 1, 16), meetings_limit=None)
    new_slot = next(s for s in await slots_on(world, link, 2) if s.start == at(2, 10))
    world.clock.advance(hours=20)
    with pytest.raises(PolicyViolation):
        await world.backend.reschedule(meeting.meeting_id, new_slot, notify_attendee=True)


async def test_cancelling_a_cancelled_meeting_makes_no_second_wix_write(world: World) -> None:
    link = await a_link(world)
    meeting = await world.backend.book(await book(world, link, 3, 10), meetings_limit=None)
    await world.backend.cancel(meeting.meeting_id, reason="Ill", notify_attendee=True)
    await world.backend.cancel(meeting.meeting_id, reason=None, notify_attendee=True)
    assert world.fake.count("POST", r"/bookings/v2/bookings/.*/cancel") == 1


async def test_cancel_with_a_stale_revision_is_reread_and_retried_once(world: World) -> None:
    link = await a_link(world)
    meeting = await world.backend.book(await book(world, link, 3, 11), meetings_limit=None)
    stored = world.fake.bookings[meeting.meeting_id]
    world.fake.inject(
        "POST", r"/bookings/v2/bookings/.*/cancel", Fault(before=lambda: world.fake.touch(stored))
    )
    cancelled = await world.backend.cancel(meeting.meeting_id, reason=None, notify_attendee=False)
    assert cancelled.status == "cancelled"
    assert world.fake.count("POST", r"/bookings/v2/bookings/.*/cancel") == 2


async def test_cancel_inside_the_window_is_a_policy_violation(world: World) -> None:
    link = await a_link(world)
    meeting = await world.backend.book(await book(world, link, 1, 10), meetings_limit=None)
    world.clock.advance(hours=2)  # 23 hours before the start
    with pytest.raises(PolicyViolation):
        await world.backend.cancel(meeting.meeting_id, reason=None, notify_attendee=True)
    assert world.fake.bookings[meeting.meeting_id]["status"] == "CONFIRMED"


# ---- reading meetings ----


async def test_bookings_of_other_wix_apps_are_neither_listed_nor_read(world: World) -> None:
    link = await a_link(world)
    mine = await world.backend.book(await book(world, link, 1, 9), meetings_limit=None)
    bookings_service = world.fake.add_service(
        world.host, "Haircut", app_id="13d21c63-b5ec-5912-8397-c3a5ddb27a97"
    )
    world.fake.bookings["foreign"] = {
        **world.fake.bookings[mine.meeting_id],
        "id": "foreign",
        "appId": bookings_service["appId"],
    }
    listed = await world.backend.list_meetings(MeetingQuery(status="all"))
    assert [m.meeting_id for m in listed.meetings] == [mine.meeting_id]
    assert (await world.backend.get_meeting(mine.meeting_id)).link_name == "Intro call"
    with pytest.raises(NotFound):
        await world.backend.get_meeting("foreign")


async def test_video_meetings_carry_the_join_url(world: World) -> None:
    service = world.fake.add_service(world.host, "Video", conferencing=True, location="CUSTOMER")
    link = await world.backend.get_link(service["id"])
    assert link.location.kind == "video"
    meeting = await world.backend.book(await book(world, link), meetings_limit=None)
    got = await world.backend.get_meeting(meeting.meeting_id)
    assert got.join_url and got.join_url.startswith("https://zoom.example.com/")


# ---- links on and off ----


async def test_deactivating_a_link_updates_the_service_with_its_revision(world: World) -> None:
    link = await world.backend.set_link_active(
        world.link["id"], active=False, redirect_url="https://x.test/bye"
    )
    assert not link.active and link.redirect_url == "https://x.test/bye" and link.host.name == "Ada Host"
    stored = world.fake.services[world.link["id"]]
    assert stored["revision"] == "2" and stored["onlineBooking"]["enabled"] is False
    assert (
        stored["extendedFields"]["namespaces"]["@services/meetings"]["deactivatedRedirectUrl"]
        == "https://x.test/bye"
    )
    assert await world.backend.list_links() == []
    world.fake.calls.clear()
    assert not (await world.backend.set_link_active(link.link_id, active=False)).active
    assert world.fake.calls == [f"GET /bookings/v2/services/{link.link_id}"]  # already off: no write


async def test_activating_with_a_stale_revision_rereads_once(world: World) -> None:
    world.fake.services[world.link["id"]]["onlineBooking"]["enabled"] = False
    service = world.fake.services[world.link["id"]]
    world.fake.inject("PATCH", r"/bookings/v2/services/.*", Fault(before=lambda: world.fake.touch(service)))
    assert (await world.backend.set_link_active(world.link["id"], active=True)).active
    assert world.fake.count("PATCH") == 2 and service["revision"] == "3"


# ---- calendars ----


async def test_hosts_are_staff_member_ids_resolved_from_resource_ids_once(world: World) -> None:
    links = await world.backend.list_links()
    assert links[0].host.host_id == world.host["id"] != world.host["resourceId"]
    await world.backend.find_slots(links[0], start=at(1, 0), end=at(2, 0), duration=timedelta(minutes=30))
    await world.backend.list_links()
    assert world.fake.count("POST", "/bookings/v1/staff-members/query") == 1  # cached
    grace = world.fake.add_host("Grace", "grace@example.com")  # added in the dashboard
    world.fake.add_service(grace, "Grace's call")
    world.backend._catalog.invalidate()
    hosts = {link.name: link.host.host_id for link in await world.backend.list_links()}
    assert hosts["Grace's call"] == grace["id"]
    assert world.fake.count("POST", "/bookings/v1/staff-members/query") == 2  # one more on a miss
    assert world.fake.count("GET", r"/bookings/v1/staff-members/.*") == 0


async def test_connect_google_returns_the_oauth_url_and_the_connection_shows_up(world: World) -> None:
    result = await world.backend.connect_calendar(ConnectCalendarRequest(provider="google"))
    assert result.status == "authorization_required" and result.authorization_url
    world.fake.complete_oauth(result.authorization_url, "ada@gmail.test")
    (connection,) = await world.backend.list_calendar_connections()
    assert connection.provider == "google" and connection.status == "connected"
    assert connection.host_id == world.host["id"] and connection.account_email == "ada@gmail.test"


async def test_apple_connects_with_credentials_and_never_echoes_the_password(world: World) -> None:
    secret = "abcd-efgh-ijkl-mnop"
    request = ConnectCalendarRequest(provider="apple", email="ada@icloud.test", password=secret)
    result = await world.backend.connect_calendar(request)
    assert result.status == "connected" and result.connection and result.connection.provider == "apple"
    assert (
        secret not in repr(result)
        and secret not in repr(request)
        and secret not in str(world.fake.connections)
    )
    with pytest.raises(InvalidArgument) as caught:
        await world.backend.connect_calendar(request.model_copy(update={"password": WRONG_PASSWORD}))
    assert WRONG_PASSWORD not in str(caught.value) and WRONG_PASSWORD not in repr(caught.value.context)


async def test_ics_urls_are_not_supported_on_wix(world: World) -> None:
    with pytest.raises(NotSupported) as caught:
        await world.backend.connect_calendar(
            ConnectCalendarRequest(provider="google", ics_url="https://x.test/a.ics")
        )
    assert caught.value.next_step and world.fake.calls == []


async def test_premium_403_is_premium_required_and_remembered_as_the_plan() -> None:
    async with wix_world(premium=False) as world:
        with pytest.raises(PremiumRequired):
            await world.backend.connect_calendar(ConnectCalendarRequest(provider="google"))
        with pytest.raises(PremiumRequired):  # Wix's own refusal, not a gate restated here
            await world.backend.list_calendar_connections()
        assert world.backend.premium is False
        account = await world.backend.get_account()
        assert not account.plan.premium and account.plan.meetings_limit == 3


# ---- account ----


async def test_a_premium_site_is_learned_from_wix(world: World) -> None:
    account = await world.backend.get_account()
    assert account.plan.premium and account.plan.meetings_limit is None
    assert account.features.external_calendars and world.backend.premium is True


async def test_free_site_account_probes_the_plan_once() -> None:
    async with wix_world(premium=False) as world:
        account = await world.backend.get_account()
        assert account.plan.name == "free" and account.plan.meetings_limit == 3 and account.meetings_used == 0
        assert account.business.time_zone == "Europe/Berlin"
        world.fake.calls.clear()
        await world.backend.get_account()
        assert "GET /bookings/v2/external-calendars/providers" not in world.fake.calls


async def test_meetings_app_id_is_the_documented_one() -> None:
    from wix_meetings_mcp.bookings.wix import MEETINGS_APP_ID as adapter_app_id

    assert adapter_app_id == MEETINGS_APP_ID == "6646a75c-2027-4f49-976c-58f3d713ed0f"


@pytest.mark.parametrize(
    ("site_zone", "day", "offset"),
    [
        ("Europe/Berlin", datetime(2027, 3, 26), timedelta(hours=1)),  # Friday before the spring change
        ("Europe/Berlin", datetime(2027, 3, 29), timedelta(hours=2)),  # Monday after it
        ("Europe/Berlin", datetime(2027, 11, 1), timedelta(hours=1)),  # Monday after the autumn change
        ("America/New_York", datetime(2027, 3, 12), timedelta(hours=-5)),
        ("America/New_York", datetime(2027, 3, 15), timedelta(hours=-4)),
        ("Asia/Kathmandu", datetime(2027, 3, 15), timedelta(hours=5, minutes=45)),
    ],
)
async def test_slots_keep_the_site_zone_offset_across_dst(
    site_zone: str, day: datetime, offset: timedelta
) -> None:
    async with wix_world(site_time_zone=site_zone) as world:
        zone = ZoneInfo(site_zone)
        start = day.replace(tzinfo=zone)
        link = await a_link(world)
        slots = await world.backend.find_slots(
            link, start=start, end=start + DAY, duration=timedelta(minutes=30)
        )
        assert slots[0].start.utcoffset() == offset
        assert slots[0].start.astimezone(zone).replace(tzinfo=None) == day.replace(hour=9)
        assert len(slots) == 16 and world.backend._catalog.time_zone == site_zone


# ---- faults seen through the port ----


async def test_a_throttled_read_is_retried_after_retry_after(world: World) -> None:
    world.fake.inject("POST", "/bookings/v2/services/query", Fault.throttled("2"))
    assert [link.name for link in await world.backend.list_links()] == ["Intro call"]
    assert world.fake.count("POST", "/bookings/v2/services/query") == 2 and world.sleeps == [2.0]


async def test_503_is_retried_on_reads_not_on_writes(world: World) -> None:
    link = await a_link(world)
    world.fake.inject("POST", "/service-availability/v2/time-slots", Fault.unavailable(), times=2)
    assert len(await slots_on(world, link, 1)) == 16
    assert world.fake.count("POST", "/service-availability/v2/time-slots") == 3
    world.fake.inject("PATCH", r"/bookings/v2/services/.*", Fault.unavailable())
    with pytest.raises(BackendUnavailable):
        await world.backend.set_link_active(link.link_id, active=False)
    assert world.fake.count("PATCH") == 1 and world.fake.services[link.link_id]["onlineBooking"]["enabled"]


async def test_a_dropped_response_after_update_service_is_read_back(world: World) -> None:
    world.fake.inject("PATCH", r"/bookings/v2/services/.*", Fault(drop=True))
    link = await world.backend.set_link_active(world.link["id"], active=False)
    assert not link.active and world.fake.count("PATCH") == 1


async def test_a_wrong_api_key_is_auth_failed_without_the_key_in_any_text() -> None:
    wrong = "IST.wrong-key-that-must-not-leak"
    async with wix_world(api_key=wrong) as world:
        for call in (world.backend.list_links(), world.backend.get_account()):
            with pytest.raises(AuthFailed) as caught:
                await call
            error = caught.value
            text = (
                f"{error} {error.message} {error.next_step} {error.context} {error.status} {error.request_id}"
            )
            assert wrong not in text and world.fake.api_key not in text
            assert error.status == 401 and error.request_id
