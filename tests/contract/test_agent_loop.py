"""What an agent sees on every backend, through the real tools over MCP: the booking loop and its guardrails.

Each test runs once per backend (`local`, `wix`, `meetergo`); see conftest.py for the sites.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Caller
from tests.contract.conftest import OpenSite, Site

ANN = {"name": "Ann Lee", "email": "ann@example.com"}
BO = {"name": "Bo Chen", "email": "bo@example.com"}


async def slots_on(call: Caller, link_id: str, day: str) -> list[dict[str, Any]]:
    result = await call("find_slots", link_id=link_id, from_date=day, to_date=day, limit=20)
    return list(result["slots"])


async def meeting_ids(call: Caller, **query: Any) -> list[str]:
    return [m["meeting_id"] for m in (await call("list_meetings", **query))["meetings"]]


async def test_an_offered_slot_books_and_is_then_no_longer_offered(site: Site) -> None:
    async with site.connect() as call:
        slots = await slots_on(call, site.link_id, "2026-12-01")
        assert slots[0]["start"] == "2026-12-01T09:00:00+01:00"
        booked = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN)
        meeting = booked["meeting"]
        assert booked["status"] == "confirmed" and booked["already_booked"] is False
        assert (meeting["start"], meeting["end"]) == (slots[0]["start"], slots[0]["end"])
        assert meeting["link_id"] == site.link_id and meeting["attendee"]["email"] == ANN["email"]
        got = (await call("get_meeting", meeting_id=meeting["meeting_id"]))["meeting"]
        assert (got["start"], got["status"]) == (meeting["start"], "confirmed")
        assert await meeting_ids(call) == [meeting["meeting_id"]]
        assert meeting["start"] not in [s["start"] for s in await slots_on(call, site.link_id, "2026-12-01")]
    assert await site.stored_meetings() == 1


async def test_a_taken_slot_is_unavailable_to_others_and_gives_its_holder_the_existing_meeting(
    site: Site,
) -> None:
    async with site.connect() as call:
        slot = (await slots_on(call, site.link_id, "2026-12-01"))[0]["slot_id"]
        first = await call("book_meeting", slot_id=slot, attendee=ANN)
        taken = await call.error("book_meeting", slot_id=slot, attendee=BO)
        assert taken.startswith("slot_unavailable: ") and "find_slots" in taken
        assert "ann" not in taken.lower() and "lee" not in taken.lower()  # nothing about who holds it
        again = await call("book_meeting", slot_id=slot, attendee={**ANN, "email": "ANN@Example.com"})
    assert again["already_booked"] is True and again["status"] == "confirmed"
    assert again["meeting"]["meeting_id"] == first["meeting"]["meeting_id"]
    assert await site.stored_meetings() == 1


async def test_reschedule_moves_the_meeting_frees_the_old_time_and_never_onto_a_taken_one(site: Site) -> None:
    async with site.connect() as call:
        slots = await slots_on(call, site.link_id, "2026-12-02")
        meeting = (await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN))["meeting"]
        await call("book_meeting", slot_id=slots[1]["slot_id"], attendee=BO)
        refused = await call.error(
            "reschedule_meeting", meeting_id=meeting["meeting_id"], slot_id=slots[1]["slot_id"]
        )
        assert refused.startswith("slot_unavailable: ")
        moved = await call(
            "reschedule_meeting", meeting_id=meeting["meeting_id"], slot_id=slots[3]["slot_id"]
        )
        assert moved["meeting"]["meeting_id"] == meeting["meeting_id"]
        assert moved["meeting"]["start"] == slots[3]["start"] and moved["meeting"]["status"] == "confirmed"
        got = (await call("get_meeting", meeting_id=meeting["meeting_id"]))["meeting"]
        assert got["start"] == slots[3]["start"]
        offered = [s["start"] for s in await slots_on(call, site.link_id, "2026-12-02")]
        assert slots[0]["start"] in offered and slots[3]["start"] not in offered
    assert await site.stored_meetings() == 2


async def test_inside_the_24_hour_window_changes_are_refused_unless_the_policy_is_overridden(
    site: Site,
) -> None:
    site.needs("cancellation_window")
    async with site.connect() as call:
        first, second = (await slots_on(call, site.link_id, "2026-12-01"))[:2]
        later = (await slots_on(call, site.link_id, "2026-12-03"))[0]
        to_cancel = (await call("book_meeting", slot_id=first["slot_id"], attendee=ANN))["meeting"][
            "meeting_id"
        ]
        to_move = (await call("book_meeting", slot_id=second["slot_id"], attendee=BO))["meeting"][
            "meeting_id"
        ]
        site.clock.advance(hours=20)  # 05:00 in Berlin: four hours before the first start
        for tool, args in (
            ("cancel_meeting", {"meeting_id": to_cancel}),
            ("reschedule_meeting", {"meeting_id": to_move, "slot_id": later["slot_id"]}),
        ):
            refused = await call.error(tool, **args)
            assert refused.startswith("policy_violation: ") and "override_policy" in refused
        kept = (await call("get_meeting", meeting_id=to_cancel))["meeting"]
        assert (kept["status"], kept["start"]) == ("confirmed", first["start"])
        assert (await call("get_meeting", meeting_id=to_move))["meeting"]["start"] == second["start"]

        done = await call("cancel_meeting", meeting_id=to_cancel, reason="owner asked", override_policy=True)
        assert done["status"] == "cancelled" and done["meeting"]["status"] == "cancelled"
        assert (await call("get_meeting", meeting_id=to_cancel))["meeting"]["status"] == "cancelled"
        assert await meeting_ids(call, status="cancelled") == [to_cancel]
        moved = await call(
            "reschedule_meeting", meeting_id=to_move, slot_id=later["slot_id"], override_policy=True
        )
        assert moved["meeting"]["start"] == later["start"] and moved["meeting"]["meeting_id"] == to_move


async def test_a_deactivated_link_refuses_bookings_until_it_is_activated(site: Site) -> None:
    async with site.connect() as call:
        slot = (await slots_on(call, site.link_id, "2026-12-01"))[0]["slot_id"]
        off = await call("deactivate_scheduling_link", link_id=site.link_id)
        assert off["status"] == "deactivated" and off["link"]["active"] is False
        listed = (await call("list_scheduling_links"))["links"]
        assert site.link_id not in [x["link_id"] for x in listed]
        everything = (await call("list_scheduling_links", include_inactive=True))["links"]
        assert {x["link_id"]: x["active"] for x in everything}[site.link_id] is False
        refused = await call.error("book_meeting", slot_id=slot, attendee=ANN)
        assert refused.startswith("link_inactive: ")
        assert (await call.error("find_slots", link_id=site.link_id)).startswith("link_inactive: ")
        assert await site.stored_meetings() == 0
        on = await call("activate_scheduling_link", link_id=site.link_id)
        assert on["link"]["active"] is True
        assert (await call("book_meeting", slot_id=slot, attendee=ANN))["status"] == "confirmed"


async def test_a_premium_site_has_no_meeting_limit_and_counts_live_meetings(site: Site) -> None:
    async with site.connect() as call:
        slots = await slots_on(call, site.link_id, "2026-12-02")
        booked = [
            (
                await call(
                    "book_meeting",
                    slot_id=slots[i]["slot_id"],
                    attendee={"name": f"P{i}", "email": f"p{i}@x.org"},
                )
            )
            for i in range(4)
        ]
        await call("cancel_meeting", meeting_id=booked[0]["meeting"]["meeting_id"])
        account = await call("get_account")
    assert account["backend"] == site.name and account["business"]["time_zone"] == "Europe/Berlin"
    plan = account["plan"]
    assert plan["premium"] is True and plan.get("meetings_limit") is None
    assert plan["meetings_used"] == 3  # past and upcoming count, cancelled ones do not


async def test_the_fourth_meeting_on_the_free_plan_is_refused_before_anything_is_written(
    open_site: OpenSite,
) -> None:
    async with open_site(plan="free") as site, site.connect() as call:
        account = await call("get_account")
        assert account["plan"] == {"name": "free", "premium": False, "meetings_used": 0, "meetings_limit": 3}
        slots = await slots_on(call, site.link_id, "2026-12-02")
        ids = [
            (
                await call(
                    "book_meeting",
                    slot_id=slots[i]["slot_id"],
                    attendee={"name": f"P{i}", "email": f"p{i}@x.org"},
                )
            )["meeting"]["meeting_id"]
            for i in range(3)
        ]
        refused = await call.error("book_meeting", slot_id=slots[3]["slot_id"], attendee=ANN)
        assert refused.startswith("plan_limit_reached: ") and "3" in refused
        dry = await call.error("book_meeting", slot_id=slots[3]["slot_id"], attendee=ANN, dry_run=True)
        assert dry.startswith("plan_limit_reached: ")
        assert await site.stored_meetings() == 3
        assert (await call("get_account"))["plan"]["meetings_used"] == 3
        # A cancelled meeting frees its place on the plan.
        await call("cancel_meeting", meeting_id=ids[0])
        assert (await call("get_account"))["plan"]["meetings_used"] == 2
        assert (await call("book_meeting", slot_id=slots[3]["slot_id"], attendee=ANN))[
            "status"
        ] == "confirmed"


async def test_premium_features_on_a_free_plan_are_premium_required(open_site: OpenSite) -> None:
    async with open_site(plan="free") as site:
        gated = [await site.add_link_with("paid"), await site.add_link_with("video")]
        async with site.connect() as call:
            features = (await call("get_account"))["features"]
            assert not any(features.values()), features
            connect = await call.error(
                "connect_calendar", provider="google", redirect_url="https://example.com/back"
            )
            assert connect.startswith("premium_required: ")
            for link_id in gated:
                slot = (await slots_on(call, link_id, "2026-12-02"))[0]["slot_id"]
                refused = await call.error("book_meeting", slot_id=slot, attendee=ANN)
                assert refused.startswith("premium_required: "), refused
    assert await site.stored_meetings() == 0


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_result_and_one_meeting(
    site: Site,
) -> None:
    async with site.connect() as call:
        slots = await slots_on(call, site.link_id, "2026-12-01")
        key = "booking-7f3a9c2e"
        first = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN, idempotency_key=key)
        replay = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN, idempotency_key=key)
        assert replay == first and replay["already_booked"] is False
        conflict = await call.error(
            "book_meeting", slot_id=slots[1]["slot_id"], attendee=ANN, idempotency_key=key
        )
        assert conflict.startswith("idempotency_conflict: ")
        assert await meeting_ids(call) == [first["meeting"]["meeting_id"]]
    assert await site.stored_meetings() == 1


async def test_a_booking_whose_answer_was_lost_is_never_duplicated(site: Site) -> None:
    async with site.connect() as call:
        slot = (await slots_on(call, site.link_id, "2026-12-01"))[0]["slot_id"]
        site.lose_next_booking_answer()
        result = await call.raw("book_meeting", slot_id=slot, attendee=ANN)
        if result.is_error:
            text = result.content[0].text  # type: ignore[union-attr]
            assert text.startswith("upstream_unavailable: ") and "check" in text, text
            assert "list_meetings" in text and "never just repeat" in text
        else:
            assert result.structured_content is not None
            assert result.structured_content["status"] == "confirmed"
        assert await site.stored_meetings() == 1
        # The agent checks, then tries again: it gets the one meeting, never a second.
        (meeting_id,) = await meeting_ids(call)
        retry = await call("book_meeting", slot_id=slot, attendee=ANN)
        assert retry["already_booked"] is True and retry["meeting"]["meeting_id"] == meeting_id
        if not result.is_error:
            assert result.structured_content is not None
            assert result.structured_content["meeting"]["meeting_id"] == meeting_id
    assert await site.stored_meetings() == 1
