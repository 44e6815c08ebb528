"""Bad input and refusals: every failure is a coded result, never a crash or a bare SDK error."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

import wix_meetings_mcp.bookings.errors as errors
from tests.conftest import Caller, Connect, FakeClock
from tests.test_tools_booking import ANN, first_link
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings
from wix_meetings_mcp.tools.errors import from_booking_error


async def a_slot(call: Any) -> str:
    return str((await call("find_slots", link_id=await first_link(call)))["slots"][0]["slot_id"])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"time_zone": "../../etc/passwd"}, "unknown time zone"),
        ({"from_date": "2026-12-10", "to_date": "2026-12-01"}, "before from_date"),
        ({"from_date": "2026-13-40"}, "from_date"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"duration_minutes": 45}, "duration_minutes must be one of [30]"),
        ({"part_of_day": "night"}, "part_of_day"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"from_date": "2026-01-01", "to_date": "2027-12-31"}, "at most 92 days"),
        ({"from_date": "0001-01-01"}, "outside the dates"),
        ({"from_date": "9999-12-31", "time_zone": "Pacific/Kiritimati"}, "outside the dates"),
    ],
)
async def test_bad_find_slots_arguments_are_invalid_argument(
    connect: Connect, args: dict[str, Any], field: str
) -> None:
    async with connect() as call:
        text = await call.error("find_slots", link_id=await first_link(call), **args)
    assert text.startswith("invalid_argument: ")
    assert field in text


async def test_an_unknown_link_is_not_found(connect: Connect) -> None:
    async with connect() as call:
        assert (await call.error("find_slots", link_id="nope")).startswith("not_found: ")
        assert (await call.error("get_meeting", meeting_id="nope")).startswith("not_found: ")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # signature changed
        lambda s: "x" + s,  # payload changed
        lambda s: "garbage",
        lambda s: s[:-2],  # truncated
    ],
)
async def test_a_tampered_slot_id_is_invalid_slot(connect: Connect, mangle: Any) -> None:
    async with connect() as call:
        text = await call.error("book_meeting", slot_id=mangle(await a_slot(call)), attendee=ANN)
        assert text.startswith("invalid_slot: ")
        assert (await call("list_meetings"))["meetings"] == []


async def test_a_slot_id_from_another_server_is_invalid_slot(
    connect: Connect, tmp_path: Path, clock: FakeClock
) -> None:
    other = build_server(Settings(db=tmp_path / "other.db", time_zone="Europe/Berlin"), clock=clock)
    async with Client(other) as client:
        foreign_call = Caller(client)
        foreign = await a_slot(foreign_call)
    async with connect() as call:
        assert (await call.error("book_meeting", slot_id=foreign, attendee=ANN)).startswith("invalid_slot: ")


@pytest.mark.parametrize(
    ("attendee", "expected"),
    [
        ({"name": "No Contact"}, "email or a phone"),
        ({"name": "", "email": "a@b.co"}, "attendee.name"),
        ({"name": "x" * 100_000, "email": "a@b.co"}, "attendee.name"),
        ({"name": "Bad", "email": "not-an-email"}, "attendee.email"),
        ({"name": "Bad", "phone": "call me maybe"}, "attendee.phone"),
        ({"name": "Zone", "email": "a@b.co", "time_zone": "Nowhere/Land"}, "unknown time zone"),
        (
            {"name": "Many", "email": "a@b.co", "guest_emails": [f"g{i}@b.co" for i in range(6)]},
            "guest_emails",
        ),
    ],
)
async def test_bad_attendees_are_invalid_argument(
    connect: Connect, attendee: dict[str, Any], expected: str
) -> None:
    async with connect() as call:
        text = await call.error("book_meeting", slot_id=await a_slot(call), attendee=attendee)
        assert text.startswith("invalid_argument: ")
        assert expected in text
        assert len(text) < 600  # the rejected value is never echoed back
        assert (await call("list_meetings"))["meetings"] == []


async def test_huge_and_hostile_strings_are_refused_with_a_code(connect: Connect) -> None:
    async with connect() as call:
        for tool, args in [
            ("find_slots", {"link_id": "x" * 1_000_000}),
            ("get_meeting", {"meeting_id": "'; DROP TABLE meetings; --"}),
            ("book_meeting", {"slot_id": "\x00\x01" * 300, "attendee": ANN}),
            ("book_meeting", {"slot_id": "s", "attendee": ANN, "notes": {"k": "v" * 3000}}),
            ("list_meetings", {"status": {"$ne": 1}}),
        ]:
            text = await call.error(tool, **args)
            assert text.split(":")[0] in {"invalid_argument", "not_found", "invalid_slot"}, text
        assert (await call("get_account"))["plan"]["meetings_used"] == 0


async def test_a_past_slot_is_unavailable(connect: Connect, clock: FakeClock) -> None:
    async with connect() as call:
        slot = await a_slot(call)
        clock.advance(days=2)
        assert (await call.error("book_meeting", slot_id=slot, attendee=ANN)).startswith("slot_unavailable: ")


async def test_an_unknown_tool_is_a_coded_not_found(connect: Connect) -> None:
    async with connect() as call:
        assert (await call.error("delete_everything")).startswith("not_found: ")


async def test_an_unexpected_crash_is_internal_error_without_details(
    db_path: Path, clock: FakeClock, mode: str
) -> None:
    class Broken:
        name = "local"

        async def get_account(self) -> Any:
            raise RuntimeError("secret-db-password-123 leaked in a stack trace")

    server = build_server(Settings(db=db_path), backend=Broken(), clock=clock)  # type: ignore[arg-type]
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        text = await Caller(client).error("get_account")
    assert text.startswith("internal_error: ")
    assert "secret-db-password" not in text and "Error executing tool" not in text


def test_every_domain_error_has_a_contract_code() -> None:
    contract = {
        "invalid_argument", "not_found", "invalid_slot", "slot_unavailable", "link_inactive", "plan_limit_reached",
        "premium_required", "policy_violation", "confirmation_required", "idempotency_conflict", "not_supported",
        "auth_failed", "rate_limited", "upstream_unavailable",
    }  # fmt: skip
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.BookingError)
    ]
    assert {c.code for c in classes if c is not errors.BookingError} == contract


async def test_premium_features_are_refused_on_the_free_plan(connect: Connect, tmp_path: Path) -> None:
    async with connect() as call:
        text = await call.error("connect_calendar", provider="google", ics_url=(tmp_path / "x.ics").as_uri())
        assert text.startswith("premium_required: ")
        assert (await call("list_calendar_connections"))["connections"] == []


async def test_oauth_only_calendar_requests_on_local_say_what_to_do_instead(connect: Connect) -> None:
    async with connect(plan="premium") as call:
        text = await call.error("connect_calendar", provider="outlook")
    assert text.startswith("not_supported: ")
    assert "iCal" in text or "ICS" in text


@pytest.mark.parametrize(
    "kind",
    [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.BookingError)],
)
def test_every_domain_error_is_translated_to_its_coded_result(kind: type[errors.BookingError]) -> None:
    result = from_booking_error(kind("what happened"))
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and text.startswith(f"{kind.code}: what happened")
