"""MeetergoBackend writes against the stateful fake: meetergo's payloads, provisional bookings, error
mapping and the look-up after a lost write. What every backend promises is in tests/contract/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests._meetergo import TUESDAY_9, World, bodies, open_world, request_for, slot_at
from tests.conftest import FakeClock
from tests.fakes.meetergo import Fault
from wix_meetings_mcp.bookings.errors import (
    InvalidArgument,
    NotFound,
    NotSupported,
    SlotUnavailable,
    WriteOutcomeUnknown,
)
from wix_meetings_mcp.bookings.meetergo import MeetergoBackend
from wix_meetings_mcp.bookings.meetergo.backend import PROVISIONAL_PREFIX
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest
from wix_meetings_mcp.server.state import ServerState


@pytest.fixture
async def world(clock: FakeClock) -> AsyncIterator[World]:
    async with open_world(clock) as w:
        yield w


# --- booking -------------------------------------------------------------------------------------


async def test_book_sends_the_nested_attendee_notes_invite_text_guests_and_language(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    request = BookingRequest(
        slot=slot,
        attendee=Attendee(
            name="Ada King Lovelace",
            email="ada@example.com",
            phone="+44 20 7946 0000",
            time_zone="Europe/London",
            language="en",
            guest_emails=("bob@example.com", "eve@example.com"),
        ),
        notes={"company": "Analytical Engines", "utm_source": "chatbot", "utm_campaign": "q1"},
        invite_title="Demo — Ada Lovelace",
        invite_description="Asked about enterprise pricing.",
    )
    meeting = await world.backend.book(request, meetings_limit=3)
    (body,) = bodies(world, "/v4/booking")
    assert body == {
        "meetingTypeId": world.solo,
        "start": "2026-12-01T09:00:00+01:00",
        "hostIds": [world.host],
        "icsTitle": "Demo — Ada Lovelace",
        "icsDescription": "Asked about enterprise pricing.",
        "attendee": {
            "email": "ada@example.com",
            "firstname": "Ada",
            "lastname": "King Lovelace",
            "fullname": "Ada King Lovelace",
            "phone": "+44 20 7946 0000",
            "receiveReminders": True,
            "notes": {"company": "Analytical Engines", "utm_source": "chatbot", "utm_campaign": "q1"},
            "language": "en",
            "timezone": "Europe/London",
            "bringalongEmails": ["bob@example.com", "eve@example.com"],
        },
    }
    assert meeting.status == "confirmed" and meeting.start == slot.start and meeting.end == slot.end
    assert meeting.meeting_id in world.fake.appointments and meeting.join_url
    assert meeting.notes["utm_source"] == "chatbot" and meeting.invite_title == "Demo — Ada Lovelace"
    assert meeting.attendee.email == "ada@example.com" and meeting.link_name == "Intro call"


async def test_a_non_default_duration_is_sent_and_silent_booking_skips_notifications(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9, minutes=60)
    request = request_for(slot).model_copy(update={"notify_attendee": False})
    meeting = await world.backend.book(request, meetings_limit=None)
    body = bodies(world, "/v4/booking")[-1]
    assert body["duration"] == 60 and body["skipNotifications"] is True
    assert body["attendee"]["receiveReminders"] is False  # type: ignore[index]  # JSON
    assert meeting.end - meeting.start == timedelta(hours=1)


async def test_booking_a_taken_slot_is_slot_unavailable(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    world.fake.seed_appointment(world.solo, TUESDAY_9, "first@example.com")
    with pytest.raises(SlotUnavailable) as caught:
        await world.backend.book(request_for(slot), meetings_limit=None)
    assert "no longer available" in caught.value.message


@pytest.mark.parametrize(
    ("spelling", "options"),
    [
        ("DoubleOptIn", {"double_opt_in": "enabled"}),
        ("doubleOptIn", {"double_opt_in": "enabled"}),
        ("DoubleOptIn", {"require_host_confirmation": "enabled"}),
        ("doubleOptIn", {"require_host_confirmation": "enabled"}),
    ],
)
async def test_double_opt_in_or_host_confirmation_books_pending_with_the_provisional_id(
    clock: FakeClock, spelling: str, options: dict[str, str]
) -> None:
    async with open_world(clock, booking_type_spelling=spelling) as w:
        confirm = w.fake.add_meeting_type("Vetted call", user_id=w.host, **options)  # type: ignore[arg-type]
        assert (await w.backend.get_link(confirm)).requires_approval
        slot = await slot_at(w, confirm, TUESDAY_9)
        meeting = await w.backend.book(request_for(slot), meetings_limit=None)
        (provisional_id,) = w.fake.provisional
        assert meeting.status == "pending" and meeting.meeting_id == f"{PROVISIONAL_PREFIX}{provisional_id}"
        assert w.fake.appointments == {} and not await w.backend.is_slot_free(slot)  # the slot is held
        assert (await w.backend.get_meeting(meeting.meeting_id)).status == "pending"


async def test_a_pending_booking_reads_as_confirmed_once_the_attendee_opts_in(world: World) -> None:
    vetted = world.fake.add_meeting_type("Vetted", user_id=world.host, double_opt_in="enabled")
    slot = await slot_at(world, vetted, TUESDAY_9)
    pending = await world.backend.book(request_for(slot), meetings_limit=None)
    appointment_id = world.fake.confirm_provisional(pending.meeting_id.removeprefix(PROVISIONAL_PREFIX))
    confirmed = await world.backend.get_meeting(pending.meeting_id)
    assert confirmed.status == "confirmed" and confirmed.meeting_id == appointment_id


async def test_cancelling_a_pending_booking_declines_it(world: World) -> None:
    vetted = world.fake.add_meeting_type("Vetted", user_id=world.host, require_host_confirmation="enabled")
    slot = await slot_at(world, vetted, TUESDAY_9)
    pending = await world.backend.book(request_for(slot), meetings_limit=None)
    cancelled = await world.backend.cancel(pending.meeting_id, reason="changed plans", notify_attendee=True)
    (entry,) = world.fake.provisional.values()
    assert entry["status"] == "declined_by_host" and entry["reason"] == "changed plans"
    assert cancelled.status == "cancelled" and await world.backend.is_slot_free(slot)


async def test_phone_only_booking_is_allowed_when_the_meeting_type_allows_it(world: World) -> None:
    voice = world.fake.add_meeting_type("Voice", user_id=world.host, allow_phone_only=True)
    assert (await world.backend.get_link(voice)).phone_only_allowed
    slot = await slot_at(world, voice, TUESDAY_9)
    meeting = await world.backend.book(
        request_for(slot, email=None, phone="+49 30 1234567"), meetings_limit=None
    )
    body = bodies(world, "/v4/booking")[-1]
    assert body["phoneOnlyBooking"] is True and "email" not in body["attendee"]  # type: ignore[operator]
    assert meeting.attendee.phone == "+49 30 1234567" and meeting.attendee.email is None


async def test_phone_only_booking_meetergo_refuses_is_invalid_with_its_message(world: World) -> None:
    # tools/ refuses it up front from Link.phone_only_allowed; the adapter only maps meetergo's 400.
    assert not (await world.backend.get_link(world.solo)).phone_only_allowed
    slot = await slot_at(world, world.solo, TUESDAY_9)
    with pytest.raises(InvalidArgument) as caught:
        await world.backend.book(request_for(slot, email=None, phone="+49 30 1234567"), meetings_limit=None)
    assert "phone-only" in caught.value.message.lower() and caught.value.context["status"] == 400
    assert world.fake.live_appointments() == []


@pytest.mark.parametrize(
    "update",
    [
        {"attendee": Attendee(name="Nobody")},
        {
            "attendee": Attendee(
                name="Ada", email="a@example.com", guest_emails=tuple(f"g{i}@x.io" for i in range(6))
            )
        },
        {"invite_title": "t" * 201},
        {"invite_description": "d" * 2001},
    ],
)
async def test_what_meetergo_refuses_is_invalid_argument_with_its_own_message(
    world: World, update: dict[str, object]
) -> None:
    # The limits live once in tools/ (schemas and guards); here meetergo's own 400 is mapped.
    slot = await slot_at(world, world.solo, TUESDAY_9)
    with pytest.raises(InvalidArgument) as caught:
        await world.backend.book(request_for(slot).model_copy(update=update), meetings_limit=None)
    assert caught.value.message.startswith("meetergo: ") and caught.value.context["status"] == 400
    assert world.fake.live_appointments() == []


async def test_a_booking_whose_response_was_dropped_is_reconciled_never_duplicated(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    world.fake.inject("POST", "/v4/booking", Fault("drop"))
    meeting = await world.backend.book(request_for(slot), meetings_limit=None)
    (appointment,) = world.fake.live_appointments()
    assert meeting.meeting_id == appointment["id"] and meeting.status == "confirmed"
    assert (
        world.fake.calls["POST /v4/booking"] == 1 and world.fake.calls["GET /v4/appointment/paginated"] == 1
    )


async def test_a_booking_that_timed_out_before_it_applied_fails_without_booking(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    world.fake.inject("POST", "/v4/booking", Fault("timeout"))
    with pytest.raises(WriteOutcomeUnknown) as caught:
        await world.backend.book(request_for(slot), meetings_limit=None)
    assert "may or may not have been applied" in caught.value.message
    assert world.fake.appointments == {} and world.fake.calls["POST /v4/booking"] == 1
    assert world.fake.calls["GET /v4/appointment/paginated"] == 1  # it looked before answering


async def test_other_writes_whose_response_was_dropped_are_confirmed_by_reading_back(world: World) -> None:
    meeting = await world.backend.book(
        request_for(await slot_at(world, world.solo, TUESDAY_9)), meetings_limit=None
    )
    later = await slot_at(world, world.solo, TUESDAY_9 + timedelta(hours=3))
    base = f"/v4/appointment/{meeting.meeting_id}"
    world.fake.inject("POST", f"{base}/reschedule", Fault("drop"))
    world.fake.inject("POST", f"{base}/cancel", Fault("drop"))
    world.fake.inject("PATCH", f"/v4/meeting-type/{world.solo}", Fault("drop"))
    assert (
        await world.backend.reschedule(meeting.meeting_id, later, notify_attendee=True)
    ).start == later.start
    assert (
        await world.backend.cancel(meeting.meeting_id, reason=None, notify_attendee=True)
    ).status == "cancelled"
    assert not (await world.backend.set_link_active(world.solo, active=False)).active
    assert world.fake.calls[f"POST {base}/reschedule"] == world.fake.calls[f"POST {base}/cancel"] == 1


# --- reschedule and cancel -----------------------------------------------------------------------


async def test_reschedule_posts_the_new_start_and_keeps_availability_checked(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    meeting = await world.backend.book(request_for(slot), meetings_limit=None)
    later = await slot_at(world, world.solo, TUESDAY_9 + timedelta(hours=2))
    await world.backend.reschedule(meeting.meeting_id, later, notify_attendee=True)
    assert bodies(world, f"/v4/appointment/{meeting.meeting_id}/reschedule") == [
        {"start": "2026-12-01T11:00:00+01:00", "ignoreAvailability": False}
    ]


async def test_rescheduling_onto_a_taken_slot_is_slot_unavailable(world: World) -> None:
    slot = await slot_at(world, world.solo, TUESDAY_9)
    later = await slot_at(world, world.solo, TUESDAY_9 + timedelta(hours=1))
    meeting = await world.backend.book(request_for(slot), meetings_limit=None)
    world.fake.seed_appointment(world.solo, later.start, "other@example.com")
    with pytest.raises(SlotUnavailable):
        await world.backend.reschedule(meeting.meeting_id, later, notify_attendee=True)


async def test_rescheduling_to_another_length_or_silently_is_not_supported(world: World) -> None:
    meeting = await world.backend.book(
        request_for(await slot_at(world, world.solo, TUESDAY_9)), meetings_limit=None
    )
    longer = await slot_at(world, world.solo, TUESDAY_9 + timedelta(hours=2), minutes=60)
    with pytest.raises(NotSupported):
        await world.backend.reschedule(meeting.meeting_id, longer, notify_attendee=True)
    with pytest.raises(NotSupported):
        await world.backend.reschedule(meeting.meeting_id, longer, notify_attendee=False)
    with pytest.raises(NotSupported):
        await world.backend.cancel(meeting.meeting_id, reason=None, notify_attendee=False)
    assert world.fake.calls[f"POST /v4/appointment/{meeting.meeting_id}/reschedule"] == 0


@pytest.mark.parametrize("empty_body", [False, True])
async def test_cancel_marks_the_meeting_cancelled_with_the_reason(world: World, empty_body: bool) -> None:
    world.fake.cancel_returns_empty = empty_body
    meeting = await world.backend.book(
        request_for(await slot_at(world, world.solo, TUESDAY_9)), meetings_limit=None
    )
    cancelled = await world.backend.cancel(meeting.meeting_id, reason="sick", notify_attendee=True)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "sick"
    assert bodies(world, f"/v4/appointment/{meeting.meeting_id}/cancel") == [
        {"reason": "sick", "cancelAll": True}
    ]
    again = await world.backend.cancel(meeting.meeting_id, reason=None, notify_attendee=True)
    assert (
        again.status == "cancelled"
        and world.fake.calls[f"POST /v4/appointment/{meeting.meeting_id}/cancel"] == 1
    )


async def test_an_unknown_provisional_booking_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.backend.get_meeting(f"{PROVISIONAL_PREFIX}unknown")


async def test_a_pending_booking_is_found_by_another_process_on_the_same_database(
    world: World, tmp_path: Path, clock: FakeClock
) -> None:
    shared = tmp_path / "shared.db"
    vetted = world.fake.add_meeting_type("Vetted", user_id=world.host, double_opt_in="enabled")
    slot = await slot_at(world, vetted, TUESDAY_9)
    first, second = ServerState(shared), ServerState(shared)  # two server processes' state
    booking = MeetergoBackend(client=world.client, clock=clock, time_zone="Europe/Berlin", records=first)
    pending = await booking.book(request_for(slot), meetings_limit=None)
    other = MeetergoBackend(client=world.client, clock=clock, time_zone="Europe/Berlin", records=second)
    assert (await other.get_meeting(pending.meeting_id)).status == "pending"
    cancelled = await other.cancel(pending.meeting_id, reason="no longer needed", notify_attendee=True)
    assert cancelled.status == "cancelled"
    assert (await booking.get_meeting(pending.meeting_id)).status == "cancelled"
    first.close()
    second.close()
