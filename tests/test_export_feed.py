"""Each host's export feed: their meetings as a secret iCal address served beside the pages, one
event per active meeting with the invitations' UID and SEQUENCE; rotating the secret retires the
old address (404). On the SQLite file and on PostgreSQL (`engine_db`)."""

from __future__ import annotations

from datetime import datetime

import httpx
import icalendar
from mcp import Client

from tests.conftest import Caller, FakeClock
from wix_meetings_mcp.server.app import build_server, open_deps
from wix_meetings_mcp.server.pages import Pages
from wix_meetings_mcp.server.settings import Settings

BASE = "https://meet.example.com"
ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}


def events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


async def test_the_export_feed_follows_bookings_moves_and_cancellations_until_rotated(
    engine_db: str, clock: FakeClock
) -> None:
    settings = Settings(
        db=engine_db, time_zone="Europe/Berlin", public_url=BASE, confirm="off", toolsets="all"
    )
    async with (
        Client(build_server(settings, clock=clock)) as client,
        open_deps(settings, clock=clock) as deps,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=Pages(lambda: deps)), base_url=BASE) as web,
    ):
        call = Caller(client)
        url = (await call("list_calendar_connections"))["export_feed_url"]
        assert url.startswith(f"{BASE}/feeds/") and url.endswith(".ics")
        assert (await call("list_calendar_connections"))["export_feed_url"] == url  # stable
        empty = await web.get(url)
        assert empty.status_code == 200 and empty.headers["content-type"].startswith("text/calendar")
        assert events(empty.content) == {}

        slots = (await call("find_slots", from_date="2026-12-01"))["slots"]
        booked = (await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ADA))["meeting"]
        other = (await call("book_meeting", slot_id=slots[3]["slot_id"], attendee=ADA))["meeting"]
        uid = f"{booked['meeting_id']}@meetings-mcp"
        first = events((await web.get(url)).content)
        assert set(first) == {uid, f"{other['meeting_id']}@meetings-mcp"}
        assert first[uid]["sequence"] == 0 and "Ada Lovelace" in str(first[uid]["summary"])
        assert first[uid].decoded("dtstart") == datetime.fromisoformat(slots[0]["start"])

        await call("reschedule_meeting", meeting_id=booked["meeting_id"], slot_id=slots[1]["slot_id"])
        moved = events((await web.get(url)).content)[uid]
        assert moved["sequence"] == 1
        assert moved.decoded("dtstart") == datetime.fromisoformat(slots[1]["start"])

        await call("cancel_meeting", meeting_id=other["meeting_id"])
        assert set(events((await web.get(url)).content)) == {uid}  # cancelled: dropped from the feed

        rotated = await call("rotate_export_feed")
        assert rotated["export_feed_url"] != url
        assert (await web.get(url)).status_code == 404
        assert set(events((await web.get(rotated["export_feed_url"])).content)) == {uid}
        assert (await call("list_calendar_connections"))["export_feed_url"] == rotated["export_feed_url"]
        assert (await web.get(f"{BASE}/feeds/guess.ics")).status_code == 404


async def test_without_a_public_address_there_is_no_export_feed_url(engine_db: str, clock: FakeClock) -> None:
    settings = Settings(db=engine_db, time_zone="Europe/Berlin", toolsets="all")
    async with Client(build_server(settings, clock=clock)) as client:
        call = Caller(client)
        assert "export_feed_url" not in await call("list_calendar_connections")
        rotated = await call("rotate_export_feed")
        assert "export_feed_url" not in rotated and "MEETINGS_PUBLIC_URL" in rotated["next_step"]
