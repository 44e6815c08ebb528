"""What an agent sees on every backend, through the real tools over MCP: the booking loop and its guardrails.

Each test runs once per backend (`local`, `wix`, `meetergo`); see conftest.py for the sites. A test walks
one stretch of the loop in one session, as an agent would: a server per step would cost more than the steps.
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


async def test_a_slot_books_once_whoever_asks_however_often_and_whatever_the_network_loses(
    site: Site,
) -> None:
    async with site.connect() as call:
        slots = await slots_on(call, site.link_id, "2026-12-01")
        assert slots[0]["start"] == "2026-12-01T09:00:00+01:00"
        slot, key = slots[0]["slot_id"], "booking-7f3a9c2e"

        # find -> book
        booked = await call("book_meeting", slot_id=slot, attendee=ANN, idempotency_key=key)
        meeting = booked["meeting"]
        assert booked["status"] == "confirmed" and booked["already_booked"] is False
        assert (meeting["start"], meeting["end"]) == (slots[0]["start"], slots[0]["end"])
        assert meeting["link_id"] == site.link_id and meeting["attendee"]["email"] == ANN["email"]
        got = (await call("get_meeting", meeting_id=meeting["meeting_id"]))["meeting"]
        assert (got["start"], got["status"]) == (meeting["start"], "confirmed")
        assert meeting["start"] not in [s["start"] for s in await slots_on(call, site.link_id, "2026-12-01")]

        # the same idempotency key: the first result; with other arguments: a conflict
        assert await call("book_meeting", slot_id=slot, attendee=ANN, idempotency_key=key) == booked
        conflict = await call.error(
            "book_meeting", slot_id=slots[1]["slot_id"], attendee=ANN, idempotency_key=key
        )
        assert conflict.startswith("idempotency_conflict: ")

        # another person: slot_unavailable, and nothing about who holds it
        taken = await call.error("book_meeting", slot_id=slot, attendee=BO)
        assert taken.startswith("slot_unavailable: ") and "find_slots" in taken
        assert "ann" not in taken.lower() and "lee" not in taken.lower()

        # the same person again, without a key: the existing meeting
        again = await call("book_meeting", slot_id=slot, attendee={**ANN, "email": "ANN@Example.com"})
        assert again["already_booked"] is True and again["meeting"]["meeting_id"] == meeting["meeting_id"]
        assert await meeting_ids(call) == [meeting["meeting_id"]]
        assert await site.stored_meetings() == 1

        # the write is applied and its answer lost: the meeting, or upstream_unavailable saying to check
        site.lose_next_booking_answer()
        lost = await call.raw("book_meeting", slot_id=slots[1]["slot_id"], attendee=BO)
        if lost.is_error:
            text = lost.content[0].text  # type: ignore[union-attr]
            assert text.startswith("upstream_unavailable: ") and "list_meetings" in text, text
            assert "never just repeat" in text
        else:
            assert lost.structured_content is not None and lost.structured_content["status"] == "confirmed"
        assert await site.stored_meetings() == 2
        # The agent checks, then tries again: it gets that one meeting, never a second.
        (bos,) = [
            m for m in (await call("list_meetings"))["meetings"] if m["attendee"]["email"] == BO["email"]
        ]
        retry = await call("book_meeting", slot_id=slots[1]["slot_id"], attendee=BO)
        assert retry["already_booked"] is True and retry["meeting"]["meeting_id"] == bos["meeting_id"]
        if not lost.is_error:
            assert lost.structured_content is not None
            assert lost.structured_content["meeting"]["meeting_id"] == bos["meeting_id"]
    assert await site.stored_meetings() == 2


async def test_reschedule_frees_the_old_time_the_account_counts_live_meetings_and_links_switch_off_and_on(
    site: Site,
) -> None:
    async with site.connect() as call:
        slots = await slots_on(call, site.link_id, "2026-12-02")
        meeting = (await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN))["meeting"]
        other = (await call("book_meeting", slot_id=slots[1]["slot_id"], attendee=BO))["meeting"]

        # reschedule: never onto a taken slot; the old time is offered again
        refused = await call.error(
            "reschedule_meeting", meeting_id=meeting["meeting_id"], slot_id=slots[1]["slot_id"]
        )
        assert refused.startswith("slot_unavailable: ")
        moved = await call(
            "reschedule_meeting", meeting_id=meeting["meeting_id"], slot_id=slots[3]["slot_id"]
        )
        assert moved["meeting"]["meeting_id"] == meeting["meeting_id"]
        assert moved["meeting"]["start"] == slots[3]["start"] and moved["meeting"]["status"] == "confirmed"
        got = await call("get_meeting", meeting_id=meeting["meeting_id"])
        assert got["meeting"]["start"] == slots[3]["start"]
        offered = [s["start"] for s in await slots_on(call, site.link_id, "2026-12-02")]
        assert slots[0]["start"] in offered and slots[3]["start"] not in offered

        # a premium account: no limit; past and upcoming count, cancelled ones do not
        cancelled = await call("cancel_meeting", meeting_id=other["meeting_id"])  # days ahead: no window
        assert cancelled["status"] == "cancelled"
        account = await call("get_account")
        assert account["backend"] == site.name and account["business"]["time_zone"] == "Europe/Berlin"
        plan = account["plan"]
        assert plan["premium"] is True and plan.get("meetings_limit") is None and plan["meetings_used"] == 1

        # a deactivated link refuses bookings (also of slots offered before) until it is activated
        off = await call("deactivate_scheduling_link", link_id=site.link_id)
        assert off["status"] == "deactivated" and off["link"]["active"] is False
        listed = (await call("list_scheduling_links"))["links"]
        assert site.link_id not in [x["link_id"] for x in listed]
        everything = (await call("list_scheduling_links", include_inactive=True))["links"]
        assert {x["link_id"]: x["active"] for x in everything}[site.link_id] is False
        refused = await call.error("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN)
        assert refused.startswith("link_inactive: ")
        assert (await call.error("find_slots", link_id=site.link_id)).startswith("link_inactive: ")
        assert await site.stored_meetings() == 2
        on = await call("activate_scheduling_link", link_id=site.link_id)
        assert on["link"]["active"] is True
        assert (await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANN))[
            "status"
        ] == "confirmed"
    assert await site.stored_meetings() == 3


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


async def test_a_free_plan_gates_premium_features_and_refuses_the_fourth_meeting_before_writing(
    open_site: OpenSite,
) -> None:
    async with open_site(plan="free") as site:
        gated = [await site.add_link_with("paid"), await site.add_link_with("video")]
        async with site.connect() as call:
            account = await call("get_account")
            assert account["plan"] == {
                "name": "free",
                "premium": False,
                "meetings_used": 0,
                "meetings_limit": 3,
            }
            assert not any(account["features"].values()), account["features"]

            # premium gates: external calendars, paid and video meetings
            connect = await call.error(
                "connect_calendar", provider="google", redirect_url="https://example.com/back"
            )
            assert connect.startswith("premium_required: ")
            for link_id in gated:
                slot = (await slots_on(call, link_id, "2026-12-02"))[0]["slot_id"]
                refused = await call.error("book_meeting", slot_id=slot, attendee=ANN)
                assert refused.startswith("premium_required: "), refused
            assert await site.stored_meetings() == 0

            # the plan limit: three meetings, the fourth refused before anything is written
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
            fourth = await call("book_meeting", slot_id=slots[3]["slot_id"], attendee=ANN)
            assert fourth["status"] == "confirmed"
