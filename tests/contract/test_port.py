"""What every adapter promises at the port (bookings/port.py), where tools/ relies on it.

Each test runs once per backend (`local`, `wix`, `meetergo`); see conftest.py for the sites.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.contract.conftest import Site
from wix_meetings_mcp.bookings.errors import NotFound, SlotUnavailable
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, MeetingQuery, Slot

BERLIN = ZoneInfo("Europe/Berlin")
HALF_HOUR = timedelta(minutes=30)
ANN = Attendee(name="Ann Lee", email="ann@example.com")
BO = Attendee(name="Bo Chen", email="bo@example.com")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Berlin wall-clock time in December 2026 (1 December is a Tuesday; the clock starts Monday 09:00)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BERLIN)


async def slot_at(site: Site, start: datetime) -> Slot:
    link = await site.backend.get_link(site.link_id)
    midnight = start.replace(hour=0, minute=0)
    offered = await site.backend.find_slots(
        link, start=midnight, end=midnight + timedelta(days=1), duration=HALF_HOUR
    )
    return next(s for s in offered if s.start == start)


async def book(site: Site, start: datetime, who: Attendee = ANN) -> str:
    meeting = await site.backend.book(
        BookingRequest(slot=await slot_at(site, start), attendee=who), meetings_limit=None
    )
    assert meeting.start == start and meeting.start.utcoffset() is not None
    assert meeting.created_at.tzinfo is not None
    return meeting.meeting_id


async def test_find_slots_offers_aware_sorted_slots_inside_the_range_and_none_in_the_past(site: Site) -> None:
    link = await site.backend.get_link(site.link_id)
    monday = at(1, 0) - timedelta(days=1)
    slots = await site.backend.find_slots(link, start=monday, end=at(2, 0), duration=HALF_HOUR)
    assert slots == sorted(slots, key=lambda s: s.start)
    assert all(s.start.utcoffset() is not None and s.end - s.start == HALF_HOUR for s in slots)
    assert {(s.link_id, s.host_id) for s in slots} == {(link.link_id, link.host.host_id)}
    # Now is Monday 09:00, so 09:00 itself is gone; 09:00-17:00 on a 30-minute grid gives 16 a day.
    assert slots[0].start == monday.replace(hour=9, minute=30) and slots[-1].start == at(1, 16, 30)
    assert len(slots) == 15 + 16


async def test_is_slot_free_rechecks_a_slot_and_ignores_the_meeting_being_moved(site: Site) -> None:
    slot = await slot_at(site, at(1, 11))
    assert await site.backend.is_slot_free(slot)
    meeting_id = await book(site, at(1, 11))
    assert not await site.backend.is_slot_free(slot)
    assert await site.backend.is_slot_free(slot, ignore_meeting_id=meeting_id)


async def test_booking_a_taken_slot_raises_slot_unavailable_and_keeps_one_meeting(site: Site) -> None:
    slot = await slot_at(site, at(1, 10))
    await site.backend.book(BookingRequest(slot=slot, attendee=ANN), meetings_limit=None)
    with pytest.raises(SlotUnavailable):
        await site.backend.book(BookingRequest(slot=slot, attendee=BO), meetings_limit=None)
    assert await site.stored_meetings() == 1


async def test_unknown_ids_are_not_found(site: Site) -> None:
    with pytest.raises(NotFound):
        await site.backend.get_link("no-such-link")
    with pytest.raises(NotFound):
        await site.backend.get_meeting("no-such-meeting")
    with pytest.raises(NotFound):
        await site.backend.cancel("no-such-meeting", reason=None, notify_attendee=True)
    with pytest.raises(NotFound):
        await site.backend.reschedule("no-such-meeting", await slot_at(site, at(2, 10)), notify_attendee=True)
    with pytest.raises(NotFound):
        await site.backend.set_link_active("no-such-link", active=False)


async def test_cancelling_twice_leaves_one_cancelled_meeting(site: Site) -> None:
    meeting_id = await book(site, at(3, 10))
    cancelled = await site.backend.cancel(meeting_id, reason="Ill", notify_attendee=True)
    assert (cancelled.meeting_id, cancelled.status, cancelled.cancel_reason) == (
        meeting_id,
        "cancelled",
        "Ill",
    )
    again = await site.backend.cancel(meeting_id, reason=None, notify_attendee=True)
    assert again.status == "cancelled" and (await site.backend.get_meeting(meeting_id)).status == "cancelled"
    assert await site.stored_meetings() == 1
    assert await site.backend.is_slot_free(await slot_at(site, at(3, 10)))


async def test_list_meetings_filters_by_status_attendee_and_range_and_pages_with_a_cursor(site: Site) -> None:
    first = await book(site, at(1, 9))
    second = await book(site, at(2, 9), BO)
    third = await book(site, at(3, 9))
    await site.backend.cancel(third, reason=None, notify_attendee=True)

    async def ids(**query: object) -> list[str]:
        page = await site.backend.list_meetings(MeetingQuery.model_validate(query))
        return [m.meeting_id for m in page.meetings]

    assert await ids() == [first, second]  # upcoming by default
    assert await ids(status="cancelled") == [third]
    assert await ids(status="all", attendee_email="ann@example.com") == [first, third]
    assert await ids(status="all", start=at(2, 0), end=at(3, 0)) == [second]
    assert await ids(status="all", link_id=site.link_id) == [first, second, third]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        page = await site.backend.list_meetings(MeetingQuery(status="all", limit=2, cursor=cursor))
        seen += [m.meeting_id for m in page.meetings]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [first, second, third]
    site.clock.advance(days=1, hours=2)  # Tuesday 11:00: the first meeting is over
    assert await ids(status="past") == [first]
    assert await ids() == [second]


async def test_the_attendee_filter_ignores_the_emails_case(site: Site) -> None:
    site.needs("case_insensitive_email_filter")
    mine = await book(site, at(2, 9), Attendee(name="Ann Lee", email="Ann.Lee@Example.com"))
    await book(site, at(2, 10), BO)
    page = await site.backend.list_meetings(MeetingQuery(status="all", attendee_email="ann.lee@example.COM"))
    assert [m.meeting_id for m in page.meetings] == [mine]
