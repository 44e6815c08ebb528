"""Video conferencing on the embedded engine: a default account, hosts' own accounts that win over
it, unique rooms, and no video links at all without the default (the seed's rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import MONDAY_MORNING, Connect
from tests.test_tools_booking import ANN
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, Location, VideoAccount

ADMIN = {"toolsets": "booking,admin", "plan": "premium", "confirm": "off"}


async def video_link(call: Any, host_id: str | None = None) -> str:
    args: dict[str, Any] = {"name": "Video call", "locations": [{"kind": "video"}]}
    if host_id:
        args["host_ids"] = [host_id]
    return str((await call("create_scheduling_link", **args))["link"]["link_id"])


async def book_on(call: Any, link_id: str, day: str) -> dict[str, Any]:
    slot = (await call("find_slots", link_id=link_id, from_date=day))["slots"][0]
    return (await call("book_meeting", slot_id=slot["slot_id"], attendee=ANN))["meeting"]  # type: ignore[no-any-return]


async def test_the_hosts_own_account_wins_over_the_default(connect: Connect) -> None:
    async with connect(**ADMIN) as call:
        default_host = (await call("list_scheduling_links"))["links"][0]["host"]["host_id"]
        ana = (await call("create_host", name="Ana", email="ana@example.com"))["host"]["host_id"]
        await call(
            "connect_video_account",
            url="https://meet.example.com/business",
            password="1234",
            description="Dial in",
        )
        await call("connect_video_account", host_id=ana, url="https://meet.example.com/ana")
        assert (await call("get_account"))["features"]["video_ready"] is True
        business = await book_on(call, await video_link(call, default_host), "2026-12-01")
        own = await book_on(call, await video_link(call, ana), "2026-12-01")
    assert business["join_url"] == "https://meet.example.com/business"
    assert business["location"] == {"kind": "video", "password": "1234", "description": "Dial in"}
    assert own["join_url"] == "https://meet.example.com/ana"


async def test_without_the_default_account_no_meeting_gets_a_video_link(connect: Connect) -> None:
    async with connect(**ADMIN) as call:
        ana = (await call("create_host", name="Ana", email="ana@example.com"))["host"]["host_id"]
        await call("connect_video_account", url="https://meet.example.com/business")
        own = await call("connect_video_account", host_id=ana, url="https://meet.example.com/ana")
        assert "New video meetings get this join link" in own["next_step"]
        link = await video_link(call, ana)
        before = await book_on(call, link, "2026-12-01")
        removed = await call("disconnect_video_account")
        assert removed["status"] == "disconnected" and removed["account"]["url"].endswith("/business")
        after = await book_on(call, link, "2026-12-02")
        assert (await call("get_account"))["features"]["video_ready"] is False
        kept = await call("get_meeting", meeting_id=before["meeting_id"])
    assert before["join_url"] == "https://meet.example.com/ana"
    assert "join_url" not in after  # even for a host with an account of their own
    assert kept["meeting"]["join_url"] == "https://meet.example.com/ana"  # booked meetings keep theirs


async def test_a_reschedule_keeps_the_join_link(connect: Connect) -> None:
    async with connect(**ADMIN) as call:
        await call("connect_video_account", url="https://jitsi.example.org", unique_rooms=True)
        meeting = await book_on(call, await video_link(call), "2026-12-07")
        later = (await call("find_slots", link_id=meeting["link_id"], from_date="2026-12-08"))["slots"][0]
        moved = await call("reschedule_meeting", meeting_id=meeting["meeting_id"], slot_id=later["slot_id"])
    assert moved["meeting"]["join_url"] == meeting["join_url"]
    assert meeting["join_url"].startswith("https://jitsi.example.org/meet-")


async def test_unique_rooms_never_repeat_across_a_thousand_meetings(tmp_path: Path) -> None:
    backend = LocalBackend(
        db_path=tmp_path / "m.db", time_zone="UTC", plan="premium", clock=lambda: MONDAY_MORNING
    )
    link = (await backend.list_links())[0]
    link = await backend.update_link(link.link_id, location=Location(kind="video"), durations_minutes=(5,))
    await backend.connect_video_account(VideoAccount(url="https://jitsi.example.org/", unique_rooms=True))
    start = datetime(2026, 12, 1, tzinfo=UTC)
    slots = await backend.find_slots(
        link, start=start, end=start + timedelta(days=30), duration=timedelta(minutes=5)
    )
    rooms = set()
    for i, slot in enumerate(slots[:1000]):
        meeting = await backend.book(
            BookingRequest(slot=slot, attendee=Attendee(name=f"P{i}", email=f"p{i}@x.org")),
            meetings_limit=None,
        )
        assert meeting.join_url is not None
        rooms.add(meeting.join_url)
    backend.close()
    assert len(slots) >= 1000 and len(rooms) == 1000


async def test_the_free_plan_cannot_connect_a_video_account(connect: Connect) -> None:
    async with connect(toolsets="booking,admin") as call:
        refused = await call.error("connect_video_account", url="https://meet.example.com/x")
    assert refused.startswith("premium_required:") and "MEETINGS_PLAN=premium" in refused


async def test_removing_the_default_is_confirmed_first(connect: Connect) -> None:
    async with connect(toolsets="booking,admin", plan="premium", confirm="token") as call:
        await call("connect_video_account", url="https://meet.example.com/business")
        first = await call("disconnect_video_account")
        assert first["status"] == "confirmation_required" and "every video link goes" in first["preview"]
        assert (await call("get_account"))["features"]["video_ready"] is True
        done = await call("disconnect_video_account", confirmation_token=first["confirmation_token"])
    assert done["status"] == "disconnected"
