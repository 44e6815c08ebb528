"""Link configurations (paid, approval, video, phone-only, notice) and calendar connections, via MCP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.conftest import Connect, FakeClock
from tests.test_tools_booking import ANN
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.model import Location, Policy, Price


async def make_link(db_path: Path, clock: FakeClock, **fields: Any) -> str:
    """Create a link straight in the engine, as an admin would, before the agent connects."""
    backend = LocalBackend(db_path=db_path, time_zone="Europe/Berlin", plan="premium", clock=clock)
    try:
        return (await backend.create_link(name=fields.pop("name", "Special"), **fields)).link_id
    finally:
        backend.close()


async def first_slot(call: Any, link_id: str, **args: Any) -> str:
    return str((await call("find_slots", link_id=link_id, **args))["slots"][0]["slot_id"])


async def test_a_paid_link_needs_premium_and_then_asks_for_payment(
    connect: Connect, db_path: Path, clock: FakeClock
) -> None:
    link = await make_link(
        db_path, clock, price=Price(amount=Decimal("50"), currency="EUR", deposit=Decimal("10"))
    )
    async with connect() as call:
        refused = await call.error("book_meeting", slot_id=await first_slot(call, link), attendee=ANN)
        assert refused.startswith("premium_required: ")
    async with connect(plan="premium") as call:
        listed = {x["link_id"]: x for x in (await call("list_scheduling_links"))["links"]}
        assert listed[link]["price"] == {"amount": "50", "currency": "EUR", "deposit": "10"}
        booked = await call("book_meeting", slot_id=await first_slot(call, link), attendee=ANN)
        assert booked["status"] == "payment_required"
        assert booked["meeting"]["status"] == "payment_required"


async def test_a_link_with_approval_books_as_pending(
    connect: Connect, db_path: Path, clock: FakeClock
) -> None:
    link = await make_link(db_path, clock, requires_approval=True)
    async with connect() as call:
        booked = await call("book_meeting", slot_id=await first_slot(call, link), attendee=ANN)
    assert booked["status"] == "pending"


async def test_video_meetings_need_premium(connect: Connect, db_path: Path, clock: FakeClock) -> None:
    link = await make_link(db_path, clock, location=Location(kind="video"))
    async with connect() as call:
        refused = await call.error("book_meeting", slot_id=await first_slot(call, link), attendee=ANN)
    assert refused.startswith("premium_required: ") and "video" in refused


async def test_phone_only_booking_follows_the_link(connect: Connect, db_path: Path, clock: FakeClock) -> None:
    link = await make_link(db_path, clock, phone_only_allowed=False)
    async with connect() as call:
        caller = {"name": "Voice Caller", "phone": "+49 30 1234567"}
        refused = await call.error("book_meeting", slot_id=await first_slot(call, link), attendee=caller)
        assert refused.startswith("invalid_argument: ") and "email" in refused
        default = (await call("list_scheduling_links"))["links"]
        provisioned = next(x["link_id"] for x in default if x["link_id"] != link)
        booked = await call("book_meeting", slot_id=await first_slot(call, provisioned), attendee=caller)
        assert booked["meeting"]["attendee"]["phone"] == "+49 30 1234567"


async def test_minimum_notice_hides_near_slots_and_refuses_stale_ones(
    connect: Connect, db_path: Path, clock: FakeClock
) -> None:
    link = await make_link(db_path, clock)
    async with connect() as call:
        near = await first_slot(call, link)
    backend = LocalBackend(db_path=db_path, time_zone="Europe/Berlin", plan="free", clock=clock)
    await backend.update_link(link, policy=Policy(min_notice=timedelta(hours=48)))
    backend.close()
    async with connect() as call:
        first = (await call("find_slots", link_id=link))["slots"][0]["start"]
        assert first == "2026-12-02T09:00:00+01:00"
        refused = await call.error("book_meeting", slot_id=near, attendee=ANN)
        assert refused.startswith("policy_violation: ") and "2 days" in refused


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:dentist
DTSTART;TZID=Europe/Berlin:20261201T100000
DTEND;TZID=Europe/Berlin:20261201T110000
SUMMARY:Dentist
END:VEVENT
BEGIN:VEVENT
UID:standup
DTSTART;TZID=Europe/Berlin:20261130T130000
DTEND;TZID=Europe/Berlin:20261130T133000
RRULE:FREQ=DAILY;COUNT=10
SUMMARY:Standup
END:VEVENT
END:VCALENDAR
"""


async def test_a_connected_ics_calendar_blocks_slots(connect: Connect, tmp_path: Path) -> None:
    feed = tmp_path / "secret-calendar.ics"
    feed.write_text(ICS)
    async with connect(plan="premium") as call:
        link = (await call("list_scheduling_links"))["links"][0]["link_id"]
        before = {
            s["start"]
            for s in (await call("find_slots", link_id=link, from_date="2026-12-01", to_date="2026-12-01"))[
                "slots"
            ]
        }
        connected = await call("connect_calendar", provider="google", ics_url=feed.as_uri())
        assert connected["status"] == "connected" and connected["connection_id"]
        after = {
            s["start"]
            for s in (await call("find_slots", link_id=link, from_date="2026-12-01", to_date="2026-12-01"))[
                "slots"
            ]
        }
        blocked = before - after
        assert blocked == {
            "2026-12-01T10:00:00+01:00",
            "2026-12-01T10:30:00+01:00",
            "2026-12-01T13:00:00+01:00",
        }
        connections = (await call("list_calendar_connections"))["connections"]
        assert [c["provider"] for c in connections] == ["google"]
        assert "secret-calendar" not in str(connected) + str(connections)
