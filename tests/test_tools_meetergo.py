"""The same agent loop through MCP on the meetergo backend (real adapter, fake meetergo)."""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from tests._meetergo import open_world
from tests.conftest import Caller, FakeClock
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings


async def test_an_agent_books_reschedules_and_cancels_on_meetergo(
    db_path: Path, clock: FakeClock, mode: str
) -> None:
    async with open_world(clock) as world:
        voice = world.fake.add_meeting_type("Voice intake", user_id=world.host, allow_phone_only=True)
        optin = world.fake.add_meeting_type("Opt-in call", user_id=world.host, double_opt_in="enabled")
        settings = Settings(db=db_path, time_zone="Europe/Berlin", confirm="off")
        async with Client(build_server(settings, backend=world.backend, clock=clock), mode=mode) as client:  # type: ignore[arg-type]
            call = Caller(client)
            assert (await call("get_account"))["backend"] == "meetergo"
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
            voice_slot = (await call("find_slots", link_id=voice, from_date="2026-12-01"))["slots"][0][
                "slot_id"
            ]
            assert (await call("book_meeting", slot_id=voice_slot, attendee=phone_only))[
                "status"
            ] == "confirmed"

            ada = {"name": "Ada Lovelace", "email": "ada@example.com"}
            booked = await call(
                "book_meeting", slot_id=slots[3]["slot_id"], attendee=ada, idempotency_key="k-meetergo-1"
            )
            again = await call("book_meeting", slot_id=slots[3]["slot_id"], attendee=ada)
            assert (
                again["meeting"]["meeting_id"] == booked["meeting"]["meeting_id"] and again["already_booked"]
            )
            meeting_id = booked["meeting"]["meeting_id"]
            moved = await call("reschedule_meeting", meeting_id=meeting_id, slot_id=slots[5]["slot_id"])
            assert moved["meeting"]["start"] == slots[5]["start"]
            cancelled = await call("cancel_meeting", meeting_id=meeting_id, reason="conflict")
            assert cancelled["status"] == "cancelled"

            optin_slot = (await call("find_slots", link_id=optin, from_date="2026-12-02"))["slots"][0][
                "slot_id"
            ]
            assert (await call("book_meeting", slot_id=optin_slot, attendee=ada))["status"] == "pending"

            started = await call(
                "connect_calendar", provider="google", redirect_url="https://example.com/back"
            )
            assert started["status"] == "authorization_required" and started["authorization_url"].startswith(
                "https://"
            )
            assert isinstance((await call("list_calendar_connections"))["connections"], list)

            listed = await call("list_meetings", status="all")
            assert meeting_id in {m["meeting_id"] for m in listed["meetings"]}
            off = await call("deactivate_scheduling_link", link_id=solo)
            assert off["status"] == "deactivated" and off["link"]["active"] is False
            assert (await call.error("find_slots", link_id=solo)).startswith("link_inactive: ")
            assert (await call("activate_scheduling_link", link_id=solo))["link"]["active"] is True
