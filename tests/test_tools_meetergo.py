"""What only meetergo adds to the agent's loop through MCP (real adapter, fake meetergo): its call budget,
phone-only and opt-in meeting types, the calendar OAuth hand-off. The loop every backend shares is in
tests/contract/."""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from tests._meetergo import open_world
from tests.conftest import Caller, FakeClock
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings


async def test_an_agent_books_meetergo_meeting_types_within_the_call_budget(
    db_path: Path, clock: FakeClock
) -> None:
    async with open_world(clock) as world:
        voice = world.fake.add_meeting_type("Voice intake", user_id=world.host, allow_phone_only=True)
        optin = world.fake.add_meeting_type("Opt-in call", user_id=world.host, double_opt_in="enabled")
        settings = Settings(db=db_path, time_zone="Europe/Berlin", confirm="off")
        async with Client(build_server(settings, backend=world.backend, clock=clock)) as client:
            call = Caller(client)
            links = {x["name"]: x for x in (await call("list_scheduling_links"))["links"]}
            assert {"Intro call", "Voice intake", "Opt-in call"} <= set(links)
            solo = links["Intro call"]["link_id"]
            slots = (await call("find_slots", link_id=solo, from_date="2026-12-01"))["slots"]
            before = sum(world.fake.calls.values())
            await call("find_slots", link_id=solo, from_date="2026-12-01")
            assert sum(world.fake.calls.values()) - before == 1  # warm: availability only
            assert slots and slots[0]["start"].endswith("+01:00")

            phone_only = {"name": "Caller", "phone": "+4930123456"}
            refused = await call.error("book_meeting", slot_id=slots[0]["slot_id"], attendee=phone_only)
            assert refused.startswith("invalid_argument: ")
            # The voice link shares the host: its first slot is the same time as the intro call's.
            voice_slot = (await call("find_slots", link_id=voice, from_date="2026-12-01"))["slots"][0]
            booked = await call("book_meeting", slot_id=voice_slot["slot_id"], attendee=phone_only)
            assert booked["status"] == "confirmed"

            ada = {"name": "Ada Lovelace", "email": "ada@example.com"}
            optin_slot = (await call("find_slots", link_id=optin, from_date="2026-12-02"))["slots"][0]
            assert (await call("book_meeting", slot_id=optin_slot["slot_id"], attendee=ada))[
                "status"
            ] == "pending"

            started = await call(
                "connect_calendar", provider="google", redirect_url="https://example.com/back"
            )
            assert started["status"] == "authorization_required"
            assert started["authorization_url"].startswith("https://")
            assert isinstance((await call("list_calendar_connections"))["connections"], list)
