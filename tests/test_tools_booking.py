"""The booking tools on the local engine through MCP: account, links, slots, rendering, keys, dry runs, lists.

The loop every backend shares (book, conflicts, reschedule, policies, plan) is in tests/contract/.
"""

from __future__ import annotations

from datetime import datetime

from tests.conftest import Connect, FakeClock

ANN = {"name": "Ann Lee", "email": "ann@example.com"}


async def first_link(call: object) -> str:
    links = await call("list_scheduling_links")  # type: ignore[operator]
    return str(links["links"][0]["link_id"])


async def test_get_account_shows_business_zone_plan_and_limits(connect: Connect) -> None:
    async with connect() as call:
        account = await call("get_account")
    assert account["backend"] == "local"
    assert account["business"]["time_zone"] == "Europe/Berlin"
    assert account["now"] == "2026-11-30T09:00:00+01:00"
    assert account["plan"] == {"name": "free", "premium": False, "meetings_used": 0, "meetings_limit": 3}
    assert account["features"] == {
        "external_calendars": False,
        "video_conferencing": False,
        "paid_meetings": False,
        "video_ready": False,
    }


async def test_fresh_database_has_one_active_thirty_minute_link(connect: Connect) -> None:
    async with connect() as call:
        links = (await call("list_scheduling_links"))["links"]
    assert len(links) == 1
    link = links[0]
    assert (link["active"], link["duration_minutes"], link["durations_minutes"]) == (True, 30, [30])
    assert link["cancellation_window_hours"] == 24
    assert set(link["host"]) == {"host_id", "name"}


async def test_find_slots_defaults_to_the_next_seven_days_in_business_hours(connect: Connect) -> None:
    async with connect() as call:
        result = await call("find_slots", link_id=await first_link(call), limit=100)
    assert result["time_zone"] == "Europe/Berlin"
    starts = [datetime.fromisoformat(s["start"]) for s in result["slots"]]
    assert all(s.utcoffset() is not None for s in starts)
    # now is 09:00 Monday, so 09:00 itself is gone; Mon–Fri 09:00–17:00 gives 16 slots a day.
    assert result["slots"][0]["start"] == "2026-11-30T09:30:00+01:00"
    assert {s.weekday() for s in starts} <= {0, 1, 2, 3, 4}
    assert all(9 <= s.hour < 17 for s in starts)
    assert len(starts) == 15 + 4 * 16 and "next_cursor" not in result


async def test_find_slots_renders_in_the_requested_zone_and_filters_part_of_day(connect: Connect) -> None:
    async with connect() as call:
        link = await first_link(call)
        result = await call(
            "find_slots", link_id=link, from_date="2026-12-01", to_date="2026-12-01",
            time_zone="America/New_York", part_of_day="morning", limit=100,
        )  # fmt: skip
    assert result["time_zone"] == "America/New_York"
    starts = [s["start"] for s in result["slots"]]
    # Berlin 09:00–17:00 on 1 December is 03:00–11:00 in New York (last start 10:30); the New York
    # day ends at 06:00 Berlin on 2 December, before its business hours.
    assert starts[0] == "2026-12-01T03:00:00-05:00"
    assert starts[-1] == "2026-12-01T10:30:00-05:00"
    assert all(s.endswith("-05:00") for s in starts)


async def test_find_slots_pages_with_a_cursor_without_repeats(connect: Connect) -> None:
    async with connect() as call:
        link = await first_link(call)
        seen: list[str] = []
        cursor = None
        while True:
            page = await call("find_slots", link_id=link, limit=7, **({"cursor": cursor} if cursor else {}))
            seen += [s["start"] for s in page["slots"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        everything = await call("find_slots", link_id=link, limit=100)
    assert seen == [s["start"] for s in everything["slots"]]


async def test_booking_a_slot_confirms_it_with_a_spoken_when(connect: Connect) -> None:
    async with connect() as call:
        slots = await call("find_slots", link_id=await first_link(call), from_date="2026-12-01")
        booked = await call("book_meeting", slot_id=slots["slots"][0]["slot_id"], attendee=ANN)
        meeting = booked["meeting"]
        assert booked["status"] == "confirmed" and booked["already_booked"] is False
        assert meeting["start"] == "2026-12-01T09:00:00+01:00"
        assert meeting["when"] == "Tuesday 1 December, 9:00 to 9:30 AM, Berlin time"
        assert "host_when" not in meeting  # shown in the business zone already
        assert meeting["attendee"]["email"] == "ann@example.com"
        assert "untrusted" in booked
        again = await call("get_meeting", meeting_id=meeting["meeting_id"])
        assert again["meeting"] == meeting


async def test_the_meeting_is_shown_in_the_attendees_zone(connect: Connect) -> None:
    async with connect() as call:
        slots = await call("find_slots", link_id=await first_link(call), from_date="2026-12-01")
        booked = await call(
            "book_meeting",
            slot_id=slots["slots"][0]["slot_id"],
            attendee={**ANN, "time_zone": "Asia/Kathmandu"},
        )
    assert booked["meeting"]["start"] == "2026-12-01T13:45:00+05:45"
    assert booked["meeting"]["when"] == "Tuesday 1 December, 1:45 to 2:15 PM, Kathmandu time"
    assert booked["meeting"]["host_when"] == "Tuesday 1 December, 9:00 to 9:30 AM, Berlin time"


async def test_idempotency_keys_expire_after_a_day(connect: Connect, clock: FakeClock) -> None:
    async with connect() as call:
        link = await first_link(call)
        key = "reused-key-after-a-day"
        await call("book_meeting", slot_id=(await call("find_slots", link_id=link))["slots"][0]["slot_id"],
                   attendee=ANN, idempotency_key=key)  # fmt: skip
        clock.advance(hours=25)
        later = (await call("find_slots", link_id=link))["slots"][0]["slot_id"]
        fresh = await call("book_meeting", slot_id=later, attendee=ANN, idempotency_key=key)
        assert fresh["already_booked"] is False
        assert len((await call("list_meetings", status="all"))["meetings"]) == 2


async def test_dry_run_checks_everything_and_writes_nothing(connect: Connect) -> None:
    async with connect() as call:
        slot = (await call("find_slots", link_id=await first_link(call)))["slots"][0]["slot_id"]
        result = await call("book_meeting", slot_id=slot, attendee=ANN, dry_run=True)
        assert result["status"] == "dry_run" and "meeting" not in result
        assert (await call("list_meetings"))["meetings"] == []


async def test_list_meetings_filters_by_status_dates_and_email(connect: Connect, clock: FakeClock) -> None:
    async with connect(plan="premium") as call:
        link = await first_link(call)
        slots = (
            await call("find_slots", link_id=link, from_date="2026-12-01", to_date="2026-12-02", limit=100)
        )["slots"]
        a = (await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN))["meeting"]
        b = (
            await call(
                "book_meeting", slot_id=slots[-1]["slot_id"], attendee={"name": "Bo", "email": "bo@x.org"}
            )
        )["meeting"]
        only_dec_2 = await call("list_meetings", from_date="2026-12-02", to_date="2026-12-02")
        assert [m["meeting_id"] for m in only_dec_2["meetings"]] == [b["meeting_id"]]
        by_email = await call("list_meetings", attendee_email="ANN@example.com")
        assert [m["meeting_id"] for m in by_email["meetings"]] == [a["meeting_id"]]
        clock.advance(days=1, hours=2)  # Dec 1 10:00 Berlin: a's meeting is over
        assert [m["meeting_id"] for m in (await call("list_meetings", status="past"))["meetings"]] == [
            a["meeting_id"]
        ]
        assert [m["meeting_id"] for m in (await call("list_meetings"))["meetings"]] == [b["meeting_id"]]
        paged = await call("list_meetings", status="all", limit=1)
        assert len(paged["meetings"]) == 1 and paged["next_cursor"]
        rest = await call("list_meetings", status="all", limit=1, cursor=paged["next_cursor"])
        assert rest["meetings"][0]["meeting_id"] != paged["meetings"][0]["meeting_id"]
