"""What an agent sees and pays for: byte budgets of tools/list and results, and the everyday tasks
where it used to guess (zones, filters, hidden links, stale ids, unknown arguments)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import Connect, FakeClock
from tests.test_tools_booking import ANN, first_link
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

TOOLS_LIST_BUDGET = 12 * 1024  # the default toolsets' tools/list, output schemas and annotations included
MODEL_READ_BUDGET = 7 * 1024  # names, descriptions and input schemas: what a model reads
FIND_SLOTS_PAGE_BUDGET = int(2.5 * 1024)  # a default find_slots page, as text


def wire(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


async def test_the_default_tool_list_stays_within_its_byte_budgets(db_path: Path, clock: FakeClock) -> None:
    server = build_server(Settings(db=db_path, time_zone="Europe/Berlin"), clock=clock)
    async with Client(server) as client:
        listing = (await client.list_tools()).model_dump(by_alias=True, mode="json", exclude_none=True)
        link = (await client.call_tool("list_scheduling_links", {})).structured_content
        assert link is not None
        page = await client.call_tool("find_slots", {"link_id": link["links"][0]["link_id"]})
    model_read = sum(
        wire({k: t[k] for k in ("name", "description", "inputSchema")}) for t in listing["tools"]
    )
    assert wire(listing) <= TOOLS_LIST_BUDGET
    assert model_read <= MODEL_READ_BUDGET
    assert all(
        field.get("description")
        for t in listing["tools"]
        for field in t["inputSchema"].get("properties", {}).values()
    )
    assert len(page.content[0].text) <= FIND_SLOTS_PAGE_BUDGET  # type: ignore[union-attr]
    assert len(page.structured_content["slots"]) == 10  # type: ignore[index]


async def test_a_booking_for_someone_abroad_reads_right_to_both_sides(connect: Connect) -> None:
    async with connect() as call:
        slot = (await call("find_slots", time_zone="America/New_York", from_date="2026-12-01"))["slots"][0]
        assert slot["when"] == "Tuesday 1 December, 3:00 AM" and slot["start"] == "2026-12-01T03:00:00-05:00"
        booked = await call(
            "book_meeting", slot_id=slot["slot_id"], attendee=ANN, time_zone="America/New_York"
        )
    meeting = booked["meeting"]
    assert meeting["when"] == "Tuesday 1 December, 3:00 to 3:30 AM, New York time"
    assert meeting["host_when"] == "Tuesday 1 December, 9:00 to 9:30 AM, Berlin time"
    assert "–" not in meeting["when"] and "/" not in meeting["when"]


@pytest.mark.parametrize(
    ("zone", "fix"),
    [("EST", "America/New_York"), ("PST8PDT", "America/Los_Angeles"), ("CET", "Europe/Berlin")],
)
async def test_zone_abbreviations_are_refused_with_the_city_to_use(
    connect: Connect, zone: str, fix: str
) -> None:
    async with connect() as call:
        refused = await call.error("find_slots", time_zone=zone)
        assert refused.startswith("invalid_argument:") and fix in refused
        assert (await call("find_slots", time_zone="Etc/GMT-5"))[
            "time_zone"
        ] == "Etc/GMT-5"  # Etc/* stays valid


async def test_utc_and_etc_zones_are_spoken_as_utc(connect: Connect) -> None:
    async with connect() as call:
        slot = (await call("find_slots", from_date="2026-12-01"))["slots"][0]
        booked = await call("book_meeting", slot_id=slot["slot_id"], attendee=ANN, time_zone="Etc/GMT-5")
        utc = await call("get_meeting", meeting_id=booked["meeting"]["meeting_id"], time_zone="UTC")
    assert booked["meeting"]["when"].endswith(", UTC plus 5")
    assert utc["meeting"]["when"] == "Tuesday 1 December, 8:00 to 8:30 AM, UTC"


async def test_a_filter_that_empties_a_day_is_named_in_the_hint(connect: Connect) -> None:
    async with connect() as call:
        evening = await call(
            "find_slots", from_date="2026-12-01", to_date="2026-12-01", part_of_day="evening"
        )
        window = await call(
            "find_slots", from_date="2026-12-01", to_date="2026-12-01", earliest="10:00", latest="11:00"
        )
    assert (
        evening["slots"] == []
        and "part_of_day=evening" in evening["hint"]
        and "16 times are free" in evening["hint"]
    )
    assert [s["when"] for s in window["slots"]] == [
        "Tuesday 1 December, 10:00 AM",
        "Tuesday 1 December, 10:30 AM",
    ]


async def test_slot_ids_are_short_distinct_and_checked_against_expected_start(connect: Connect) -> None:
    async with connect() as call:
        slots = (await call("find_slots", from_date="2026-12-01"))["slots"]
        ids = [s["slot_id"] for s in slots]
        assert all(len(i) <= 24 for i in ids) and len(set(ids)) == len(ids)
        wrong = await call.error(
            "book_meeting", slot_id=ids[1], attendee=ANN, expected_start=slots[0]["start"]
        )
        assert wrong.startswith("invalid_slot:") and "expected_start" in wrong
        right = await call("book_meeting", slot_id=ids[0], attendee=ANN, expected_start=slots[0]["start"])
    assert right["status"] == "confirmed"


async def test_inactive_links_are_announced_and_one_active_link_needs_no_id(connect: Connect) -> None:
    async with connect(
        confirm="off", toolsets="booking,admin", public_url="https://meet.example.com"
    ) as call:
        assert "hint" not in await call("list_scheduling_links")
        first = await first_link(call)
        assert (await call("find_slots"))["link_id"] == first  # the only active link
        second = (await call("create_scheduling_link", name="Deep dive", durations_minutes=[60]))["link"][
            "link_id"
        ]
        ambiguous = await call.error("find_slots")
        assert ambiguous.startswith("invalid_argument: link_id is needed") and second in ambiguous
        await call("deactivate_scheduling_link", link_id=second)
        listed = await call("list_scheduling_links")
    assert "1 inactive link is not shown" in listed["hint"] and "include_inactive" in listed["hint"]


async def test_a_changed_argument_on_the_confirmed_call_is_named(connect: Connect) -> None:
    async with connect(confirm="token") as call:
        slot = (await call("find_slots", from_date="2026-12-03"))["slots"][0]
        meeting = (await call("book_meeting", slot_id=slot["slot_id"], attendee=ANN))["meeting"]
        token = (await call("cancel_meeting", meeting_id=meeting["meeting_id"], reason="ill"))[
            "confirmation_token"
        ]
        refused = await call.error(
            "cancel_meeting", meeting_id=meeting["meeting_id"], reason="sick", confirmation_token=token
        )
    assert (
        refused.startswith("confirmation_required:")
        and "reason" in refused
        and "meeting_id" not in refused.split(".")[0]
    )


async def test_errors_teach_the_next_call(connect: Connect) -> None:
    async with connect() as call:
        unknown = await call.error("find_slots", date="2026-12-01")
        bad_date = await call.error("find_slots", from_date="1st of December")
        missing = await call.error("get_meeting", meeting_id="nope")
    assert (
        unknown.startswith("invalid_argument: find_slots has no argument 'date'") and "from_date" in unknown
    )
    assert "YYYY-MM-DD" in bad_date
    assert missing.startswith("not_found:") and "list_meetings" in missing


async def test_results_carry_no_nulls_and_at_most_one_untrusted_marker(connect: Connect) -> None:
    async with connect() as call:
        slot = (await call("find_slots"))["slots"][0]
        booked = await call.raw("book_meeting", slot_id=slot["slot_id"], attendee=ANN)
        listed = await call.raw("list_meetings")
    for result in (booked, listed):
        text = result.content[0].text  # type: ignore[union-attr]
        assert "null" not in text and text.count("untrusted") <= 1
        assert "null" not in json.dumps(result.structured_content)
