"""The one "same attendee" rule: emails ignoring case, else phones as E.164 digits — in the shared
module, in meetergo's look-up after a lost write, and in book_meeting's "same booking repeated"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import Connect
from wix_meetings_mcp.bookings.attendees import phone_e164, same_attendee
from wix_meetings_mcp.bookings.meetergo._mapping import matches_attendee
from wix_meetings_mcp.bookings.meetergo._payloads import Appointment, AppointmentAttendee
from wix_meetings_mcp.bookings.model import Attendee


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+49 30 123456", "+4930123456"),
        ("0049 (30) 123-456", "+4930123456"),
        ("+1.415.555.2671", "+14155552671"),
        ("030 123456", "030123456"),  # national: no country code to add, digits kept
        ("call me", None),
        ("", None),
    ],
)
def test_phones_normalise_to_e164_digits(typed: str, e164: str | None) -> None:
    assert phone_e164(typed) == e164


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (("Ann@Example.COM", None), ("ann@example.com", None), True),
        (("ann@example.com", "+4930123456"), ("bo@example.com", "+4930123456"), False),  # emails decide
        ((None, "0049 30 123456"), (None, "+49 30 123-456"), True),
        (
            ("ann@example.com", "+49 30 123456"),
            (None, "0049 30 123456"),
            False,
        ),  # one email against none: not the same
        ((None, "+49 30 123456"), (None, "+49 30 123457"), False),
        ((None, None), (None, None), False),
    ],
)
def test_same_attendee(
    a: tuple[str | None, str | None], b: tuple[str | None, str | None], same: bool
) -> None:
    assert same_attendee(*a, *b) is same
    assert same_attendee(*b, *a) is same


def test_meetergo_finds_a_phone_only_attendee_typed_with_the_00_prefix() -> None:
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    stored = Appointment(
        id="a1", start=start, end=start, attendees=[AppointmentAttendee(phone="+4930123456")]
    )
    assert matches_attendee(stored, Attendee(name="Bo", phone="0049 30 123456"))
    assert not matches_attendee(stored, Attendee(name="Bo", phone="+49 30 999999"))


async def test_repeating_a_phone_only_booking_typed_otherwise_returns_the_same_meeting(
    connect: Connect,
) -> None:
    async with connect() as call:
        link_id = (await call("list_scheduling_links"))["links"][0]["link_id"]
        slot = (await call("find_slots", link_id=link_id))["slots"][0]["slot_id"]
        first = await call("book_meeting", slot_id=slot, attendee={"name": "Bo", "phone": "+49 30 123456"})
        again = await call("book_meeting", slot_id=slot, attendee={"name": "Bo", "phone": "0049 30 123456"})
        assert again["already_booked"] and again["meeting"]["meeting_id"] == first["meeting"]["meeting_id"]
