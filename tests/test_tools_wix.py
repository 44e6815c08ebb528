"""The same agent loop through MCP on the Wix backend (real adapter, fake Wix), with call budgets."""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from tests.conftest import Caller
from tests.fakes.wix_setup import wix_world
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings


async def test_an_agent_runs_the_whole_loop_on_wix(tmp_path: Path, mode: str) -> None:
    async with wix_world() as world:
        paid = world.fake.add_service(world.host, "Paid consult", price="80", deposit="20")
        settings = Settings(db=tmp_path / "state.db", confirm="token")
        server = build_server(settings, backend=world.backend, clock=world.clock)
        async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
            call = Caller(client)
            account = await call("get_account")
            assert account["backend"] == "wix" and account["business"]["time_zone"] == "Europe/Berlin"
            links = {x["name"]: x for x in (await call("list_scheduling_links"))["links"]}
            intro = links["Intro call"]["link_id"]

            await call("find_slots", link_id=intro, from_date="2026-12-01")
            before = len(world.fake.calls)
            slots = (await call("find_slots", link_id=intro, from_date="2026-12-01"))["slots"]
            assert len(world.fake.calls) - before == 1  # warm: one Wix call
            assert slots[0]["start"].endswith("+01:00")

            ada = {"name": "Ada Lovelace", "email": "ada@example.com"}
            before = len(world.fake.calls)
            booked = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ada)
            assert booked["status"] == "confirmed"
            # Re-check the slot, Get Service (a cached service never decides a write), Create
            # Booking, Confirm Or Decline Booking (Wix decides the status): the plan is known.
            assert len(world.fake.calls) - before <= 4, world.fake.calls[before:]
            meeting_id = booked["meeting"]["meeting_id"]
            assert (await call("get_meeting", meeting_id=meeting_id))["meeting"]["start"] == slots[0]["start"]
            again = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ada)
            assert again["already_booked"] and again["meeting"]["meeting_id"] == meeting_id
            noted = await call("book_meeting", slot_id=slots[1]["slot_id"], attendee=ada,
                               notes={"add_your_message": "Hi", "utm_source": "ad"})  # fmt: skip
            assert noted["unsaved_notes"] == ["utm_source"]
            assert noted["meeting"]["notes"] == {"add_your_message": "Hi"}

            moved = await call("reschedule_meeting", meeting_id=meeting_id, slot_id=slots[3]["slot_id"])
            assert moved["meeting"]["start"] == slots[3]["start"]
            world.clock.advance(hours=20)  # inside the 24-hour window of the 1 December meeting
            refused = await call.error("cancel_meeting", meeting_id=meeting_id)
            assert refused.startswith("policy_violation: ")
            first = await call("cancel_meeting", meeting_id=meeting_id, override_policy=True)
            token = first["confirmation_token"]
            done = await call(
                "cancel_meeting", meeting_id=meeting_id, override_policy=True, confirmation_token=token
            )
            assert done["status"] == "cancelled"

            paid_slot = (await call("find_slots", link_id=paid.get("id") or links["Paid consult"]["link_id"],
                                    from_date="2026-12-03"))["slots"][0]["slot_id"]  # fmt: skip
            charged = await call("book_meeting", slot_id=paid_slot, attendee=ada)
            assert charged["status"] == "payment_required" and charged["payment_url"].startswith("https://")

            started = await call(
                "connect_calendar", provider="google", redirect_url="https://example.com/done"
            )
            assert started["status"] == "authorization_required" and started["authorization_url"]
            assert world.fake.api_key not in str(started)
            assert isinstance((await call("list_calendar_connections"))["connections"], list)

            listed = await call("list_meetings", status="all")
            assert {m["meeting_id"] for m in listed["meetings"]} >= {
                meeting_id,
                charged["meeting"]["meeting_id"],
            }
            token = (await call("deactivate_scheduling_link", link_id=intro))["confirmation_token"]
            off = await call("deactivate_scheduling_link", link_id=intro, confirmation_token=token)
            assert off["link"]["active"] is False
            assert (await call.error("find_slots", link_id=intro)).startswith("link_inactive: ")
            assert (await call("activate_scheduling_link", link_id=intro))["link"]["active"] is True


async def test_wix_premium_errors_become_premium_required(tmp_path: Path) -> None:
    async with wix_world(premium=False) as world:
        server = build_server(Settings(db=tmp_path / "state.db"), backend=world.backend, clock=world.clock)
        async with Client(server) as client:
            text = await Caller(client).error("connect_calendar", provider="outlook")
    assert text.startswith("premium_required: ")
