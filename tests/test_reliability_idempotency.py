"""Retries: every write replayed with one idempotency_key has exactly one effect, also concurrently.

A counting wrapper around the real local engine shows how often each write reached the backend.
Writes without an idempotency_key (activate/deactivate a link, connect a calendar) are safe to
repeat by nature, and that is pinned here too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import Caller, FakeClock
from tests.test_tools_booking import ANN
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.settings import Settings
from wix_meetings_mcp.server.state import ServerState
from wix_meetings_mcp.tools import idempotency

WRITES = ("book", "reschedule", "cancel", "set_link_active", "connect_calendar")


class Counting:
    """The local engine, counting the writes that reach it; `delay` widens race windows."""

    def __init__(self, inner: LocalBackend, delay: float = 0.0) -> None:
        self.inner = inner
        self.delay = delay
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in WRITES:
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            await anyio.sleep(self.delay)
            return await attr(*args, **kwargs)

        return counted


@asynccontextmanager
async def serve(
    db_path: Path, clock: FakeClock, delay: float = 0.0, **settings: Any
) -> AsyncIterator[tuple[Caller, Counting]]:
    backend = Counting(
        LocalBackend(db_path=db_path, time_zone="Europe/Berlin", plan="premium", clock=clock), delay
    )
    server = build_server(
        Settings(db=db_path, time_zone="Europe/Berlin", plan="premium", **({"confirm": "off"} | settings)),
        backend=backend,  # type: ignore[arg-type]
        clock=clock,
    )
    try:
        async with Client(server) as client:
            yield Caller(client), backend
    finally:
        backend.inner.close()


async def slots(call: Caller, n: int = 3, day: str = "2026-12-02") -> list[str]:
    link = (await call("list_scheduling_links"))["links"][0]["link_id"]
    found = (await call("find_slots", link_id=link, from_date=day))["slots"]
    return [s["slot_id"] for s in found[:n]]


async def booked(call: Caller, slot_id: str, email: str = "ann@example.com") -> str:
    result = await call("book_meeting", slot_id=slot_id, attendee={**ANN, "email": email})
    return str(result["meeting"]["meeting_id"])


async def test_book_replayed_three_times_books_once_even_after_the_meeting_changed(
    db_path: Path, clock: FakeClock
) -> None:
    async with serve(db_path, clock) as (call, backend):
        slot = (await slots(call))[0]
        args = {"slot_id": slot, "attendee": ANN, "idempotency_key": "book-0001"}
        first = await call("book_meeting", **args)
        # Cancelled in between: without the key, a retry would book the (free again) slot anew.
        await call("cancel_meeting", meeting_id=first["meeting"]["meeting_id"], override_policy=True)
        replays = [await call("book_meeting", **args) for _ in range(3)]
        assert replays == [first] * 3
        assert backend.calls["book"] == 1
        assert len((await call("list_meetings", status="all"))["meetings"]) == 1


async def test_reschedule_replayed_three_times_moves_once(db_path: Path, clock: FakeClock) -> None:
    async with serve(db_path, clock) as (call, backend):
        a, b, c = await slots(call)
        meeting_id = await booked(call, a)
        args = {"meeting_id": meeting_id, "slot_id": b, "idempotency_key": "move-0001"}
        first = await call("reschedule_meeting", **args)
        moved_on = await call("reschedule_meeting", meeting_id=meeting_id, slot_id=c)  # no key: a new move
        replays = [await call("reschedule_meeting", **args) for _ in range(3)]
        assert replays == [first] * 3  # the first answer, not a move back to b
        assert backend.calls["reschedule"] == 2
        now = (await call("get_meeting", meeting_id=meeting_id))["meeting"]
        assert now["start"] == moved_on["meeting"]["start"] != first["meeting"]["start"]
        conflict = await call.error("reschedule_meeting", **{**args, "slot_id": c})
        assert conflict.startswith("idempotency_conflict: ")


async def test_cancel_replayed_three_times_cancels_once(db_path: Path, clock: FakeClock) -> None:
    async with serve(db_path, clock) as (call, backend):
        meeting_id = await booked(call, (await slots(call))[0])
        args = {
            "meeting_id": meeting_id,
            "reason": "ill",
            "override_policy": True,
            "idempotency_key": "cancel-01",
        }
        results = [await call("cancel_meeting", **args) for _ in range(4)]
        assert results == [results[0]] * 4 and results[0]["status"] == "cancelled"
        assert backend.calls["cancel"] == 1
        conflict = await call.error("cancel_meeting", **{**args, "reason": "other"})
        assert conflict.startswith("idempotency_conflict: ")


async def test_cancel_replays_through_the_confirmation_token_flow(db_path: Path, clock: FakeClock) -> None:
    async with serve(db_path, clock, confirm="token") as (call, backend):
        meeting_id = await booked(call, (await slots(call))[0])
        args = {"meeting_id": meeting_id, "override_policy": True, "idempotency_key": "cancel-02"}
        asked = await call("cancel_meeting", **args)
        assert asked["status"] == "confirmation_required" and backend.calls["cancel"] == 0
        token = {"confirmation_token": asked["confirmation_token"]}
        results = [await call("cancel_meeting", **args, **token) for _ in range(3)]
        assert [r["status"] for r in results] == ["cancelled"] * 3
        assert results == [results[0]] * 3 and backend.calls["cancel"] == 1


@pytest.mark.parametrize("tool", ["book_meeting", "reschedule_meeting", "cancel_meeting"])
async def test_a_key_expires_after_a_day_for_every_keyed_write(
    db_path: Path, clock: FakeClock, tool: str
) -> None:
    async with serve(db_path, clock) as (call, _):
        a, b, c = await slots(call, day="2026-12-04")
        meeting_id = await booked(call, a)
        first, other = {
            "book_meeting": ({"slot_id": b, "attendee": ANN}, {"slot_id": c, "attendee": ANN}),
            "reschedule_meeting": ({"meeting_id": meeting_id, "slot_id": b}, {"meeting_id": meeting_id, "slot_id": c}),
            "cancel_meeting": ({"meeting_id": meeting_id, "reason": "one"}, {"meeting_id": meeting_id, "reason": "two"}),
        }[tool]  # fmt: skip
        key = {"idempotency_key": f"{tool}-expiring"}
        await call(tool, **first, **key)
        clock.advance(hours=23, minutes=59)
        assert (await call.error(tool, **other, **key)).startswith("idempotency_conflict: ")
        clock.advance(minutes=2)  # 24 hours and a minute later the key is free again
        await call(tool, **other, **key)


async def test_a_failed_write_keeps_no_result_so_its_retry_runs(db_path: Path, clock: FakeClock) -> None:
    async with serve(db_path, clock) as (call, backend):
        slot = (await slots(call))[0]
        holder = await booked(call, slot, "bo@example.com")
        args = {"slot_id": slot, "attendee": ANN, "idempotency_key": "after-fail"}
        assert (await call.error("book_meeting", **args)).startswith("slot_unavailable: ")
        await call("cancel_meeting", meeting_id=holder, override_policy=True)
        assert (await call("book_meeting", **args))["status"] == "confirmed"
        assert (await call("book_meeting", **args))["already_booked"] is False  # the stored first success
        assert backend.calls["book"] == 2


@pytest.mark.parametrize("tool", ["book_meeting", "reschedule_meeting"])
async def test_concurrent_calls_with_one_key_in_two_servers_run_once(
    db_path: Path, clock: FakeClock, tool: str
) -> None:
    """Two servers on one database (as two processes would be), five racing retries of one call."""
    async with (
        serve(db_path, clock, delay=0.05) as (one, one_backend),
        serve(db_path, clock, delay=0.05) as (two, two_backend),
    ):
        a, b, _ = await slots(one)
        meeting_id = await booked(one, a)
        args = (
            {"slot_id": b, "attendee": {**ANN, "email": "racer@example.com"}}
            if tool == "book_meeting"
            else {"meeting_id": meeting_id, "slot_id": b}
        ) | {"idempotency_key": f"{tool}-race"}
        results: list[dict[str, Any]] = []

        async def attempt(call: Caller) -> None:
            results.append(await call(tool, **args))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for i in range(5):
                    tg.start_soon(attempt, (one, two)[i % 2])
        method = "book" if tool == "book_meeting" else "reschedule"
        assert one_backend.calls[method] + two_backend.calls[method] - (tool == "book_meeting") == 1
        assert results == [results[0]] * 5  # every retry saw the one real answer
        if tool == "book_meeting":
            assert results[0]["already_booked"] is False


async def test_a_claim_left_by_a_dead_process_answers_rate_limited_then_lapses(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "WAIT_FOR_OWNER", 0.2)
    async with serve(db_path, clock) as (call, backend):
        slot = (await slots(call))[0]
        args = {"slot_id": slot, "attendee": ANN, "idempotency_key": "orphaned-claim"}
        digest = idempotency.args_hash(
            {"slot_id": slot, "attendee": {**ANN, "phone": None, "time_zone": None, "language": None,
             "guest_emails": []}, "notes": None, "invite_title": None, "invite_description": None,
             "notify_attendee": True}
        )  # fmt: skip
        state = ServerState(db_path)  # a process that claimed the key, then was killed
        assert await state.claim("book_meeting", "orphaned-claim", digest, now=clock()) == "claimed"
        state.close()
        busy = await call.error("book_meeting", **args)
        assert busy.startswith("rate_limited: ") and "same idempotency_key" in busy
        assert backend.calls["book"] == 0
        clock.advance(minutes=3)  # past the claim's lease: the owner is taken for dead
        assert (await call("book_meeting", **args))["status"] == "confirmed"
        assert backend.calls["book"] == 1


async def test_writes_without_a_key_are_safe_to_repeat(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    feed = tmp_path / "busy.ics"
    feed.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nEND:VCALENDAR\n")
    async with serve(db_path, clock) as (call, _):
        link = (await call("list_scheduling_links"))["links"][0]["link_id"]
        off = [await call("deactivate_scheduling_link", link_id=link) for _ in range(3)]
        assert [r["link"]["active"] for r in off] == [False] * 3
        on = [await call("activate_scheduling_link", link_id=link) for _ in range(3)]
        assert on == [on[0]] * 3 and on[0]["link"]["active"] is True
        connected = [
            await call("connect_calendar", provider="google", ics_url=feed.as_uri()) for _ in range(3)
        ]
        assert len({c["connection_id"] for c in connected}) == 1
        assert len((await call("list_calendar_connections"))["connections"]) == 1
