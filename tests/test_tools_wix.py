"""What only Wix adds to the agent's loop through MCP (real adapter, fake Wix): call budgets, the booking
form's notes, payment links and the calendar OAuth hand-off. The loop every backend shares is in
tests/contract/."""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from tests.conftest import Caller, FakeClock
from tests.fakes.wix_setup import wix_world
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings

ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}


async def test_an_agent_books_on_wix_within_its_call_budget(tmp_path: Path, clock: FakeClock) -> None:
    async with wix_world(clock=clock) as world:
        paid = world.fake.add_service(world.host, "Paid consult", price="80", deposit="20")
        settings = Settings(db=tmp_path / "state.db", confirm="off")
        async with Client(build_server(settings, backend=world.backend, clock=clock)) as client:
            call = Caller(client)
            account = await call("get_account")
            assert account["backend"] == "wix" and account["business"]["time_zone"] == "Europe/Berlin"
            intro = world.link["id"]

            await call("find_slots", link_id=intro, from_date="2026-12-01")
            before = len(world.fake.calls)
            slots = (await call("find_slots", link_id=intro, from_date="2026-12-01"))["slots"]
            assert len(world.fake.calls) - before == 1  # warm: one Wix call
            assert slots[0]["start"].endswith("+01:00")

            before = len(world.fake.calls)
            booked = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ADA)
            assert booked["status"] == "confirmed"
            # Re-check the slot, Get Service (a cached service never decides a write), Create
            # Booking, Confirm Or Decline Booking (Wix decides the status): the plan is known.
            assert len(world.fake.calls) - before <= 4, world.fake.calls[before:]

            noted = await call("book_meeting", slot_id=slots[1]["slot_id"], attendee=ADA,
                               notes={"add_your_message": "Hi", "utm_source": "ad"})  # fmt: skip
            assert noted["unsaved_notes"] == ["utm_source"]
            assert noted["meeting"]["notes"] == {"add_your_message": "Hi"}

            paid_slot = (await call("find_slots", link_id=paid["id"], from_date="2026-12-03"))["slots"][0]
            charged = await call("book_meeting", slot_id=paid_slot["slot_id"], attendee=ADA)
            assert charged["status"] == "payment_required" and charged["payment_url"].startswith("https://")

            started = await call(
                "connect_calendar", provider="google", redirect_url="https://example.com/done"
            )
            assert started["status"] == "authorization_required" and started["authorization_url"]
            assert world.fake.api_key not in str(started)
            assert isinstance((await call("list_calendar_connections"))["connections"], list)
