"""LocalBackend behaviour of its own: provisioning, the stored meeting, filters and paging, the limit inside
the write, overlaps and races, links and hours, calendar feeds. What every backend promises is in
tests/contract/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import FakeClock
from wix_meetings_mcp.bookings.errors import (
    InvalidArgument,
    InvalidSlot,
    NotFound,
    NotSupported,
    PlanLimitReached,
    SlotUnavailable,
)
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.model import (
    Attendee,
    BookingRequest,
    ConnectCalendarRequest,
    Link,
    Location,
    MeetingQuery,
    Policy,
    Price,
    Slot,
)

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = "2026-06-01"
HALF_HOUR = timedelta(minutes=30)


def berlin(hhmm: str, day: str = MONDAY) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _monday_1_june(clock: FakeClock) -> None:
    """These tests live in June 2026, Monday 1 June 07:00 in Berlin."""
    clock.now = berlin("07:00")


@pytest.fixture
def open_backend(tmp_path: Path, clock: FakeClock) -> Callable[..., LocalBackend]:
    def open_(plan: str = "premium", zone: str = "Europe/Berlin") -> LocalBackend:
        return LocalBackend(db_path=tmp_path / "meetings.db", time_zone=zone, plan=plan, clock=clock)  # type: ignore[arg-type]

    return open_


@pytest.fixture
async def backend(open_backend: Callable[..., LocalBackend]) -> AsyncIterator[LocalBackend]:
    engine = open_backend()
    yield engine
    engine.close()


async def the_link(backend: LocalBackend) -> Link:
    return (await backend.list_links())[0]


def slot_of(link: Link, hhmm: str, day: str = MONDAY, minutes: int = 30) -> Slot:
    start = berlin(hhmm, day)
    return Slot(
        link_id=link.link_id,
        host_id=link.host.host_id,
        start=start,
        end=start + timedelta(minutes=minutes),
        location_kind=link.location.kind,
    )


def request_for(slot: Slot, name: str = "Ada", email: str | None = "ada@example.com") -> BookingRequest:
    return BookingRequest(slot=slot, attendee=Attendee(name=name, email=email), notes={"topic": "intro"})


# --- provisioning --------------------------------------------------------------------------------


async def test_a_fresh_database_is_provisioned_like_provision_meetings_app(backend: LocalBackend) -> None:
    links = await backend.list_links(include_inactive=True)
    assert len(links) == 1
    link = links[0]
    assert (link.name, link.slug, link.active, link.durations_minutes) == (
        "30 Minute Meeting",
        "30-minute-meeting",
        True,
        (30,),
    )
    assert link.location == Location(kind="phone")
    assert link.price is None and link.booking_url is None
    assert link.policy == Policy(cancellation_window=timedelta(hours=24), min_notice=None, max_advance=None)
    assert (link.host.host_id, link.host.name) == ("host_1", "Host")
    week = await backend.find_slots(
        link, start=berlin("00:00"), end=berlin("00:00", "2026-06-08"), duration=HALF_HOUR
    )
    per_day = {
        day: [s for s in week if s.start.date().isoformat() == day]
        for day in {s.start.date().isoformat() for s in week}
    }
    assert sorted(per_day) == ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05"]
    assert all(len(slots) == 16 for slots in per_day.values())
    assert per_day[MONDAY][0].start == berlin("09:00") and per_day[MONDAY][-1].end == berlin("17:00")


async def test_the_free_account_reports_its_plan_features_and_usage(
    open_backend: Callable[..., LocalBackend],
) -> None:
    backend = open_backend(plan="free")
    account = await backend.get_account()
    assert account.backend == "local"
    assert (account.business.name, account.business.time_zone) == ("My Business", "Europe/Berlin")
    assert (account.plan.name, account.plan.premium, account.plan.meetings_limit) == ("free", False, 3)
    assert not (account.features.external_calendars or account.features.video_conferencing)
    assert not account.features.paid_meetings
    assert account.meetings_used == 0
    backend.close()


async def test_reopening_keeps_one_provisioning_and_configuration_wins(
    open_backend: Callable[..., LocalBackend],
) -> None:
    first = open_backend(plan="free")
    link = await the_link(first)
    first.close()
    second = open_backend(plan="premium", zone="America/New_York")
    account = await second.get_account()
    assert [ln.link_id for ln in await second.list_links(include_inactive=True)] == [link.link_id]
    assert account.plan.premium and account.plan.meetings_limit is None
    assert account.features.external_calendars and account.business.time_zone == "America/New_York"
    second.close()


def test_an_unknown_time_zone_is_an_invalid_argument(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(InvalidArgument):
        LocalBackend(db_path=tmp_path / "x.db", time_zone="Mars/Olympus", plan="free", clock=clock)


# --- the booking life cycle ----------------------------------------------------------------------


async def test_a_meeting_is_stored_as_booked_and_a_cancelled_one_stays_as_it_was(
    backend: LocalBackend, clock: FakeClock
) -> None:
    link = await the_link(backend)
    meeting = await backend.book(request_for(slot_of(link, "10:00")), meetings_limit=None)
    assert meeting.status == "confirmed" and meeting.payment_url is None
    assert (meeting.start, meeting.end) == (berlin("10:00"), berlin("10:30"))
    assert meeting.link_name == "30 Minute Meeting" and meeting.host.host_id == "host_1"
    assert meeting.notes == {"topic": "intro"} and meeting.created_at == clock.now
    assert await backend.get_meeting(meeting.meeting_id) == meeting

    moved = await backend.reschedule(meeting.meeting_id, slot_of(link, "14:00"), notify_attendee=True)
    assert moved == meeting.model_copy(update={"start": berlin("14:00"), "end": berlin("14:30")})

    cancelled = await backend.cancel(meeting.meeting_id, reason="Ill", notify_attendee=False)
    again = await backend.cancel(meeting.meeting_id, reason="other", notify_attendee=False)
    assert again == cancelled and again.cancel_reason == "Ill"
    with pytest.raises(InvalidArgument):
        await backend.reschedule(meeting.meeting_id, slot_of(link, "15:00"), notify_attendee=True)


async def test_rescheduling_into_a_slightly_later_overlapping_time_ignores_the_meeting_itself(
    backend: LocalBackend,
) -> None:
    link = await the_link(backend)
    meeting = await backend.book(request_for(slot_of(link, "10:00", minutes=60)), meetings_limit=None)
    moved = await backend.reschedule(
        meeting.meeting_id, slot_of(link, "10:30", minutes=60), notify_attendee=True
    )
    assert moved.start == berlin("10:30")


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, "confirmed"),
        ({"requires_approval": True}, "pending"),
        ({"price": Price(amount=Decimal("50"), currency="EUR", deposit=Decimal("10"))}, "payment_required"),
    ],
)
async def test_the_status_of_a_new_meeting_follows_the_link(
    backend: LocalBackend, changes: dict[str, object], status: str
) -> None:
    link = await backend.update_link((await the_link(backend)).link_id, **changes)
    meeting = await backend.book(request_for(slot_of(link, "09:00")), meetings_limit=None)
    assert meeting.status == status and meeting.payment_url is None


async def test_a_slot_of_another_host_is_an_invalid_slot(backend: LocalBackend) -> None:
    link = await the_link(backend)
    forged = slot_of(link, "09:00").model_copy(update={"host_id": "host_9"})
    with pytest.raises(InvalidSlot):
        await backend.book(request_for(forged), meetings_limit=None)
    assert not await backend.is_slot_free(forged)


async def test_a_past_slot_is_not_free(backend: LocalBackend, clock: FakeClock) -> None:
    link = await the_link(backend)
    clock.now = berlin("12:00")
    assert not await backend.is_slot_free(slot_of(link, "11:30"))
    assert await backend.is_slot_free(slot_of(link, "12:30"))


# --- listing -------------------------------------------------------------------------------------


@pytest.fixture
async def five_meetings(backend: LocalBackend, clock: FakeClock) -> list[str]:
    link = await the_link(backend)
    ids = []
    for i, hhmm in enumerate(["09:00", "10:00", "11:00", "12:00", "13:00"]):
        email = "Bob@Example.com" if i % 2 else "ada@example.com"
        ids.append(
            (
                await backend.book(request_for(slot_of(link, hhmm), email=email), meetings_limit=None)
            ).meeting_id
        )
    await backend.cancel(ids[4], reason=None, notify_attendee=False)
    clock.now = berlin("11:15")  # 09:00 and 10:00 are past, 11:00 is running
    return ids


@pytest.mark.parametrize(
    ("status", "expected"),
    [("upcoming", [2, 3]), ("past", [1, 0]), ("cancelled", [4]), ("all", [0, 1, 2, 3, 4])],
)
async def test_list_meetings_filters_by_status(
    backend: LocalBackend, five_meetings: list[str], status: str, expected: list[int]
) -> None:
    page = await backend.list_meetings(MeetingQuery(status=status))
    assert [m.meeting_id for m in page.meetings] == [five_meetings[i] for i in expected]
    assert page.next_cursor is None


@pytest.mark.parametrize(("status", "expected"), [("all", [0, 1, 2, 3, 4]), ("past", [1, 0])])
async def test_cursor_paging_walks_every_meeting_once(
    backend: LocalBackend, five_meetings: list[str], status: str, expected: list[int]
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await backend.list_meetings(MeetingQuery(status=status, limit=2, cursor=cursor))
        seen += [m.meeting_id for m in page.meetings]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [five_meetings[i] for i in expected]


async def test_list_meetings_filters_by_email_link_and_range(
    backend: LocalBackend, five_meetings: list[str]
) -> None:
    link = await the_link(backend)
    by_email = await backend.list_meetings(MeetingQuery(status="all", attendee_email="bob@EXAMPLE.com"))
    assert [m.meeting_id for m in by_email.meetings] == [five_meetings[1], five_meetings[3]]
    in_range = await backend.list_meetings(
        MeetingQuery(status="all", start=berlin("10:00"), end=berlin("12:00"))
    )
    assert [m.meeting_id for m in in_range.meetings] == five_meetings[1:3]
    other = await backend.create_link(name="Other")
    assert (await backend.list_meetings(MeetingQuery(status="all", link_id=other.link_id))).meetings == ()
    assert len((await backend.list_meetings(MeetingQuery(status="all", link_id=link.link_id))).meetings) == 5


async def test_a_malformed_cursor_is_an_invalid_argument(backend: LocalBackend) -> None:
    with pytest.raises(InvalidArgument):
        await backend.list_meetings(MeetingQuery(cursor="not-a-cursor"))


# --- plan limit and conflicts --------------------------------------------------------------------


async def test_the_plan_limit_is_checked_inside_book_and_cancelled_meetings_do_not_count(
    open_backend: Callable[..., LocalBackend],
) -> None:
    backend = open_backend(plan="free")
    link = await the_link(backend)
    first = await backend.book(request_for(slot_of(link, "09:00")), meetings_limit=3)
    await backend.book(request_for(slot_of(link, "10:00")), meetings_limit=3)
    await backend.book(request_for(slot_of(link, "11:00")), meetings_limit=3)
    assert (await backend.get_account()).meetings_used == 3
    with pytest.raises(PlanLimitReached) as caught:
        await backend.book(request_for(slot_of(link, "12:00")), meetings_limit=3)
    assert caught.value.context["limit"] == 3
    assert len((await backend.list_meetings(MeetingQuery(status="all"))).meetings) == 3
    await backend.cancel(first.meeting_id, reason=None, notify_attendee=False)
    await backend.book(request_for(slot_of(link, "12:00")), meetings_limit=3)
    assert (await backend.get_account()).meetings_used == 3
    backend.close()


async def test_an_overlapping_booking_is_slot_unavailable(backend: LocalBackend) -> None:
    link = await the_link(backend)
    await backend.book(request_for(slot_of(link, "10:00")), meetings_limit=None)
    with pytest.raises(SlotUnavailable):
        await backend.book(request_for(slot_of(link, "10:00")), meetings_limit=None)
    with pytest.raises(SlotUnavailable):
        await backend.book(request_for(slot_of(link, "09:30", minutes=60)), meetings_limit=None)
    await backend.book(request_for(slot_of(link, "10:30")), meetings_limit=None)  # touching is fine


async def test_the_buffer_is_respected_across_two_links_of_one_host(backend: LocalBackend) -> None:
    buffered = await backend.create_link(name="Buffered", buffer_minutes=15)
    plain = await the_link(backend)
    await backend.book(request_for(slot_of(buffered, "10:00")), meetings_limit=None)
    offered = await backend.find_slots(plain, start=berlin("09:00"), end=berlin("12:00"), duration=HALF_HOUR)
    assert [s.start.strftime("%H:%M") for s in offered] == ["09:00", "11:00", "11:30"]
    with pytest.raises(SlotUnavailable):
        await backend.book(request_for(slot_of(plain, "10:30")), meetings_limit=None)
    await backend.book(request_for(slot_of(plain, "10:45")), meetings_limit=None)
    with pytest.raises(SlotUnavailable):  # the buffered link keeps its buffer after a plain meeting
        await backend.book(request_for(slot_of(buffered, "11:20")), meetings_limit=None)


async def test_meetings_of_another_host_do_not_block(backend: LocalBackend) -> None:
    host = await backend.create_host(name="Grace")
    theirs = await backend.create_link(name="Grace's call", host_id=host.host_id)
    mine = await the_link(backend)
    await backend.book(request_for(slot_of(theirs, "10:00")), meetings_limit=None)
    assert await backend.is_slot_free(slot_of(mine, "10:00"))


async def test_twenty_tasks_racing_for_one_slot_book_exactly_one_meeting(backend: LocalBackend) -> None:
    link = await the_link(backend)
    slot = slot_of(link, "10:00")
    results = await asyncio.gather(
        *(backend.book(request_for(slot, name=f"guest {i}"), meetings_limit=None) for i in range(20)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, SlotUnavailable) for r in results if isinstance(r, BaseException))
    assert len((await backend.list_meetings(MeetingQuery(status="all"))).meetings) == 1


# --- links and hours -----------------------------------------------------------------------------


async def test_deactivating_a_link_hides_it_and_keeps_the_redirect(backend: LocalBackend) -> None:
    link = await the_link(backend)
    off = await backend.set_link_active(link.link_id, active=False, redirect_url="https://example.com/away")
    assert (off.active, off.redirect_url) == (False, "https://example.com/away")
    assert await backend.list_links() == []
    assert await backend.list_links(include_inactive=True) == [off]
    again = await backend.set_link_active(link.link_id, active=False)  # no redirect_url: keep it
    assert again.redirect_url == "https://example.com/away"
    on = await backend.set_link_active(link.link_id, active=True)
    assert (on.active, on.redirect_url) == (True, "https://example.com/away")  # kept for next time, as on Wix
    assert await backend.get_link(link.link_id) == on


async def test_create_and_update_link_validate_their_fields(backend: LocalBackend) -> None:
    link = await backend.create_link(
        name="Deep Dive!", durations_minutes=(60, 90), location=Location(kind="video")
    )
    assert (link.slug, link.duration_minutes, link.location.kind) == ("deep-dive", 60, "video")
    again = await backend.create_link(name="Deep Dive")
    assert again.slug == "deep-dive-2"
    updated = await backend.update_link(link.link_id, durations_minutes=(45,), buffer_minutes=10)
    assert (updated.durations_minutes, updated.buffer_minutes) == ((45,), 10)
    with pytest.raises(InvalidArgument):
        await backend.update_link(link.link_id, durations_minutes=())
    with pytest.raises(InvalidArgument):
        await backend.update_link(link.link_id, slug="deep-dive-2")
    with pytest.raises(InvalidArgument):
        await backend.update_link(link.link_id, colour="red")
    with pytest.raises(NotFound):
        await backend.create_link(name="Nobody's", host_id="host_404")


async def test_working_hours_can_be_replaced(backend: LocalBackend) -> None:
    link = await the_link(backend)
    await backend.set_working_hours(link.host.host_id, {0: [(time(8), time(9)), (time(18), time(19))]})
    slots = await backend.find_slots(
        link, start=berlin("00:00"), end=berlin("00:00", "2026-06-03"), duration=HALF_HOUR
    )
    assert [s.start.strftime("%d %H:%M") for s in slots] == ["01 08:00", "01 08:30", "01 18:00", "01 18:30"]
    with pytest.raises(InvalidArgument):
        await backend.set_working_hours(link.host.host_id, {7: [(time(8), time(9))]})
    with pytest.raises(InvalidArgument):
        await backend.set_working_hours(link.host.host_id, {0: [(time(9), time(8))]})
    with pytest.raises(NotFound):
        await backend.set_working_hours("host_404", {0: [(time(8), time(9))]})


# --- calendar connections ------------------------------------------------------------------------


def feed(*events: tuple[str, str]) -> str:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:e{i}\r\nDTSTART;TZID=Europe/Berlin:{a}\r\nDTEND;TZID=Europe/Berlin:{b}\r\nEND:VEVENT\r\n"
        for i, (a, b) in enumerate(events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n"


@pytest.mark.parametrize("provider", ["google", "outlook", "apple"])
async def test_connecting_without_an_ics_url_explains_how_to_get_one(
    backend: LocalBackend, provider: str
) -> None:
    with pytest.raises(NotSupported) as caught:
        await backend.connect_calendar(
            ConnectCalendarRequest(provider=provider, email="me@x.org", password="pw-123")
        )
    error = caught.value
    assert error.next_step is not None and "ics_url" in error.next_step
    assert {"google": "Secret address in iCal format", "outlook": "ICS link", "apple": "https://"}[
        provider
    ] in (error.next_step)
    assert "pw-123" not in f"{error.message} {error.next_step} {error.context}"


async def test_reconnecting_refreshes_busy_times_without_duplicating_them(
    backend: LocalBackend, tmp_path: Path
) -> None:
    path = tmp_path / "secret-token-42.ics"
    path.write_text(feed(("20260601T100000", "20260601T110000"), ("20260602T100000", "20260602T110000")))
    url = path.as_uri()
    first = await backend.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=url))
    assert first.connection is not None and first.connection.busy_intervals == 2
    link = await the_link(backend)
    assert not await backend.is_slot_free(slot_of(link, "10:00"))

    path.write_text(feed(("20260602T100000", "20260602T110000")))
    second = await backend.connect_calendar(ConnectCalendarRequest(provider="google", ics_url=url))
    assert second.connection is not None
    assert (second.connection.connection_id, second.connection.busy_intervals) == (
        first.connection.connection_id,
        1,
    )
    connections = await backend.list_calendar_connections()
    assert [
        (c.provider, c.status, c.import_enabled, c.export_enabled, c.busy_intervals) for c in connections
    ] == [("google", "connected", True, False, 1)]
    assert await backend.is_slot_free(slot_of(link, "10:00"))
    assert not await backend.is_slot_free(slot_of(link, "10:00", day="2026-06-02"))
    with pytest.raises(SlotUnavailable):  # book re-checks imported busy times atomically too
        await backend.book(request_for(slot_of(link, "10:30", day="2026-06-02")), meetings_limit=None)

    returned = [
        first.model_dump_json(),
        second.model_dump_json(),
        *(c.model_dump_json() for c in connections),
    ]
    assert not any("secret-token-42" in text for text in returned)
    assert await backend.list_calendar_connections("host_1") == connections
    with pytest.raises(NotFound):
        await backend.list_calendar_connections("host_404")


async def test_a_missing_feed_file_is_an_invalid_argument_without_the_address(
    backend: LocalBackend, tmp_path: Path
) -> None:
    url = (tmp_path / "secret-token-42.ics").as_uri()
    with pytest.raises(InvalidArgument) as caught:
        await backend.connect_calendar(ConnectCalendarRequest(provider="outlook", ics_url=url))
    assert "secret-token-42" not in f"{caught.value.message} {caught.value.next_step}"


async def test_connecting_for_an_unknown_host_is_not_found(backend: LocalBackend) -> None:
    with pytest.raises(NotFound):
        await backend.connect_calendar(
            ConnectCalendarRequest(provider="google", host_id="host_404", ics_url="x")
        )
