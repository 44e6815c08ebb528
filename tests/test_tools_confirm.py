"""Destructive calls: elicitation when the client can ask, else the confirmation-token two-step."""

from __future__ import annotations

from typing import Any

from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult

from tests.conftest import Connect, FakeClock
from tests.test_tools_booking import ANN, first_link


class Answer:
    """An elicitation callback that records each question and answers as told."""

    def __init__(self, confirm: bool) -> None:
        self.confirm = confirm
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)  # type: ignore[union-attr]
        if not self.confirm:
            return ElicitResult(action="decline")
        return ElicitResult(action="accept", content={"confirm": True})


async def book(call: Any, day: str = "2026-12-03") -> dict[str, Any]:
    slot = (await call("find_slots", link_id=await first_link(call), from_date=day))["slots"][0]["slot_id"]
    return (await call("book_meeting", slot_id=slot, attendee=ANN))["meeting"]  # type: ignore[no-any-return]


async def test_cancel_without_elicitation_returns_a_token_and_writes_nothing(connect: Connect) -> None:
    async with connect() as call:
        meeting = await book(call)
        first = await call("cancel_meeting", meeting_id=meeting["meeting_id"], reason="ill")
        assert first["status"] == "confirmation_required"
        assert first["preview"].startswith(
            'Cancel the meeting with "Ann Lee" on Thursday 3 December, 9:00 to 9:30 AM, Berlin time'
        )
        assert first["expires_at"] == "2026-11-30T08:10:00Z"
        assert (await call("get_meeting", meeting_id=meeting["meeting_id"]))["meeting"][
            "status"
        ] == "confirmed"
        done = await call(
            "cancel_meeting",
            meeting_id=meeting["meeting_id"],
            reason="ill",
            confirmation_token=first["confirmation_token"],
        )
        assert done["status"] == "cancelled" and done["meeting"]["status"] == "cancelled"


async def test_a_token_is_bound_to_its_arguments(connect: Connect) -> None:
    async with connect() as call:
        meeting = await book(call)
        other = await book(call, day="2026-12-04")
        token = (await call("cancel_meeting", meeting_id=meeting["meeting_id"]))["confirmation_token"]
        for args in (
            {"meeting_id": other["meeting_id"]},
            {"meeting_id": meeting["meeting_id"], "reason": "other"},
        ):
            refused = await call.error("cancel_meeting", confirmation_token=token, **args)
            assert refused.startswith("confirmation_required: ")
        forged = await call.error(
            "cancel_meeting", meeting_id=meeting["meeting_id"], confirmation_token=token[:-2] + "AA"
        )
        assert forged.startswith("confirmation_required: ")
        statuses = {m["status"] for m in (await call("list_meetings", status="all"))["meetings"]}
        assert statuses == {"confirmed"}


async def test_a_token_expires_after_ten_minutes(connect: Connect, clock: FakeClock) -> None:
    async with connect() as call:
        meeting = await book(call)
        token = (await call("cancel_meeting", meeting_id=meeting["meeting_id"]))["confirmation_token"]
        clock.advance(minutes=11)
        refused = await call.error(
            "cancel_meeting", meeting_id=meeting["meeting_id"], confirmation_token=token
        )
        assert refused.startswith("confirmation_required: ") and "expired" in refused


async def test_cancel_asks_the_user_through_elicitation_when_the_client_can(connect: Connect) -> None:
    yes = Answer(confirm=True)
    async with connect(elicitation_callback=yes) as call:
        meeting = await book(call)
        done = await call("cancel_meeting", meeting_id=meeting["meeting_id"])
    assert done["status"] == "cancelled"
    assert len(yes.questions) == 1 and "Ann Lee" in yes.questions[0]


async def test_a_declined_elicitation_leaves_the_meeting(connect: Connect) -> None:
    no = Answer(confirm=False)
    async with connect(elicitation_callback=no) as call:
        meeting = await book(call)
        result = await call("cancel_meeting", meeting_id=meeting["meeting_id"])
        assert result["status"] == "declined"
        assert (await call("get_meeting", meeting_id=meeting["meeting_id"]))["meeting"][
            "status"
        ] == "confirmed"


async def test_the_policy_is_checked_before_the_user_is_asked(connect: Connect, clock: FakeClock) -> None:
    yes = Answer(confirm=True)
    async with connect(elicitation_callback=yes) as call:
        meeting = await book(call, day="2026-12-01")
        clock.advance(hours=20)  # 5 hours before the start
        refused = await call.error("cancel_meeting", meeting_id=meeting["meeting_id"])
        assert refused.startswith("policy_violation: ")
        assert yes.questions == []
        done = await call("cancel_meeting", meeting_id=meeting["meeting_id"], override_policy=True)
        assert done["status"] == "cancelled"


async def test_confirm_off_cancels_at_once_and_repeating_is_safe(connect: Connect) -> None:
    async with connect(confirm="off") as call:
        meeting = await book(call)
        first = await call("cancel_meeting", meeting_id=meeting["meeting_id"])
        second = await call("cancel_meeting", meeting_id=meeting["meeting_id"])
    assert first["status"] == second["status"] == "cancelled"
    assert second["meeting"] == first["meeting"]


async def test_token_mode_ignores_the_clients_elicitation(connect: Connect) -> None:
    yes = Answer(confirm=True)
    async with connect(confirm="token", elicitation_callback=yes) as call:
        meeting = await book(call)
        first = await call("cancel_meeting", meeting_id=meeting["meeting_id"])
    assert first["status"] == "confirmation_required" and yes.questions == []


async def test_deactivating_a_link_stops_booking_until_it_is_activated(connect: Connect) -> None:
    async with connect() as call:
        link = await first_link(call)
        slot = (await call("find_slots", link_id=link))["slots"][0]["slot_id"]
        first = await call(
            "deactivate_scheduling_link", link_id=link, redirect_url="https://example.com/closed"
        )
        assert first["status"] == "confirmation_required"
        assert (await call("list_scheduling_links"))["links"][0]["active"] is True
        done = await call(
            "deactivate_scheduling_link", link_id=link, redirect_url="https://example.com/closed",
            confirmation_token=first["confirmation_token"],
        )  # fmt: skip
        assert done["status"] == "deactivated" and done["link"]["active"] is False
        assert done["link"]["redirect_url"] == "https://example.com/closed"
        assert (await call("list_scheduling_links"))["links"] == []
        assert len((await call("list_scheduling_links", include_inactive=True))["links"]) == 1
        for tool, args in (
            ("find_slots", {"link_id": link}),
            ("book_meeting", {"slot_id": slot, "attendee": ANN}),
        ):
            refused = await call.error(tool, **args)
            assert refused.startswith("link_inactive: ") and "https://example.com/closed" in refused
        again = await call("activate_scheduling_link", link_id=link)
        assert again["link"]["active"] is True
        assert (await call("book_meeting", slot_id=slot, attendee=ANN))["status"] == "confirmed"


async def test_an_accept_without_content_is_a_no_not_an_internal_error(connect: Connect) -> None:
    async def accept_empty(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="accept")

    async with connect(elicitation_callback=accept_empty) as call:
        meeting = await book(call)
        answer = await call("cancel_meeting", meeting_id=meeting["meeting_id"])
        assert answer["status"] == "declined"
        assert "did not confirm" in answer["next_step"]
        assert (await call("get_meeting", meeting_id=meeting["meeting_id"]))["meeting"][
            "status"
        ] == "confirmed"
