"""kill -9 a server in the middle of a booking storm, restart it, and find nothing lost or half-written.

Two processes share one database; agents book through both (with idempotency keys); one is killed
while dozens of its calls are in flight, three times over, and restarted each time. Afterwards every
booking a client was told about exists, SQLite's integrity check passes, every row is whole, no slot
holds two meetings, every kept idempotency result names a meeting that exists, only calls that never
got an answer left a key claimed, and an agent asking again finds the booking the dead process made.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.test_reliability_contention import (
    Served,
    bookable_slots,
    free_ports,
    mcp_client,
    overlapping_meetings,
    start_server,
    stop,
    wait_until_listening,
)

pytestmark = pytest.mark.slow

ROUNDS = 3
SLOTS_PER_ROUND = 40
CONTENDERS = 4  # different people per slot


def whole_rows(db: Path) -> list[str]:
    """Problems found in the stored meetings and idempotency records (empty when all is well)."""
    problems: list[str] = []
    with sqlite3.connect(db) as conn:
        meetings = conn.execute(
            "SELECT meeting_id, status, start_ts, end_ts, attendee_email, notes, guest_emails FROM meetings"
        ).fetchall()
        ids = {m[0] for m in meetings}
        for meeting_id, status, start, end, email, notes, guests in meetings:
            if status not in {"confirmed", "pending", "payment_required", "cancelled"} or not start < end:
                problems.append(f"meeting {meeting_id}: {status} {start}-{end}")
            if (
                not email
                or not isinstance(json.loads(notes), dict)
                or not isinstance(json.loads(guests), list)
            ):
                problems.append(f"meeting {meeting_id}: columns {email!r} {notes!r} {guests!r}")
        for scope, key, result in conn.execute("SELECT scope, key, result_json FROM idempotency"):
            if result:  # '' is a claim whose owner was killed before it finished
                meeting = json.loads(result).get("meeting")
                if meeting is not None and meeting["meeting_id"] not in ids:
                    problems.append(f"idempotency {scope}/{key} names a meeting that does not exist")
    return problems


Call = tuple[dict[str, Any], str]  # (slot from find_slots, attendee email)


@dataclass
class Storm:
    """One round: agents book through the victim and the survivor; the victim is killed midway."""

    victim: Served
    survivor: Served
    acknowledged: dict[str, tuple[str, str]]  # meeting_id -> (start, attendee email), across rounds
    answered_by_victim: set[str] = field(default_factory=set)
    # The client reads answers more slowly than the server writes them: kill early, while most of
    # the victim's calls are still queued or running.
    kill_after: int = 3

    async def book(self, client: Client, to_victim: bool, slot: dict[str, Any], email: str) -> None:
        args = {
            "slot_id": slot["slot_id"],
            "attendee": {"name": "Storm", "email": email},
            "idempotency_key": f"key-{email}",
        }
        try:
            result = await client.call_tool("book_meeting", args)
        except Exception:  # the victim died under this call: the client never heard back
            return
        if to_victim:
            self.answered_by_victim.add(email)
            if len(self.answered_by_victim) == self.kill_after:
                self.victim.proc.send_signal(signal.SIGKILL)
        if result.is_error:
            text = result.content[0].text  # type: ignore[union-attr]
            assert text.startswith("slot_unavailable: "), text
            return
        meeting = result.structured_content["meeting"]  # type: ignore[index]
        assert not result.structured_content["already_booked"]  # type: ignore[index]
        self.acknowledged[meeting["meeting_id"]] = (meeting["start"], email)

    async def through(self, served: Served, calls: list[Call]) -> None:
        to_victim = served is self.victim
        try:
            async with mcp_client(served.url) as client, anyio.create_task_group() as tg:
                for slot, email in calls:
                    tg.start_soon(self.book, client, to_victim, slot, email)
        except Exception:
            if not to_victim:
                raise
            # The victim's client fails with its server, and its calls still in flight with it.

    async def run(self, calls: list[Call]) -> list[Call]:
        """Fire the calls, half at each server; the victim's calls that got no answer."""
        mine, theirs = calls[::2], calls[1::2]
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.through, self.victim, mine)
                tg.start_soon(self.through, self.survivor, theirs)
        return [(slot, email) for slot, email in mine if email not in self.answered_by_victim]


async def retry_without_key(url: str, lost: list[Call]) -> Counter[str]:
    """What agents that never heard back get when they ask again (natural dedupe, no key)."""
    outcomes: Counter[str] = Counter()

    async def retry(client: Client, slot: dict[str, Any], email: str) -> None:
        args = {"slot_id": slot["slot_id"], "attendee": {"name": "Storm", "email": email}}
        result = await client.call_tool("book_meeting", args)
        if result.is_error:
            text = result.content[0].text  # type: ignore[union-attr]
            assert text.startswith("slot_unavailable: "), text
            outcomes["slot_unavailable"] += 1
            return
        content = result.structured_content
        assert content is not None and content["meeting"]["attendee"]["email"] == email
        outcomes["already_booked" if content["already_booked"] else "booked"] += 1

    async with mcp_client(url) as client, anyio.create_task_group() as tg:
        for slot, email in lost:
            tg.start_soon(retry, client, slot, email)
    return outcomes


async def test_killing_a_server_mid_storm_loses_no_acknowledged_booking(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    port_a, port_b = free_ports(2)
    victim = start_server(db, port_a, tmp_path / "a.log")
    survivor = start_server(db, port_b, tmp_path / "b.log")
    acknowledged: dict[str, tuple[str, str]] = {}
    lost: list[Call] = []
    fired = 0
    try:
        wait_until_listening([victim, survivor])
        async with mcp_client(survivor.url) as client:
            all_slots = await bookable_slots(client, ROUNDS * SLOTS_PER_ROUND)
        for round_ in range(ROUNDS):
            slots = all_slots[round_ * SLOTS_PER_ROUND : (round_ + 1) * SLOTS_PER_ROUND]
            calls = [
                (slot, f"r{round_}-s{i}-p{j}@example.com")
                for i, slot in enumerate(slots)
                for j in range(CONTENDERS)
            ]
            unanswered = await Storm(victim, survivor, acknowledged).run(calls)
            fired += len(calls)
            lost += unanswered
            assert victim.proc.wait(timeout=10) == -signal.SIGKILL
            assert unanswered, "the victim was idle when it was killed"
            victim = start_server(db, port_a, tmp_path / "a.log")  # restart on the same port
            wait_until_listening([victim])

        # The restarted process serves every acknowledged booking ...
        async with mcp_client(victim.url) as client:
            for meeting_id, (start, email) in acknowledged.items():
                got = await client.call_tool("get_meeting", {"meeting_id": meeting_id, "time_zone": "UTC"})
                assert not got.is_error, got.content
                meeting = got.structured_content["meeting"]  # type: ignore[index]
                assert (meeting["start"], meeting["attendee"]["email"]) == (start, email)
        # ... and an agent that never heard back finds its booking, if the victim wrote it.
        retried = await retry_without_key(victim.url, lost)
    finally:
        for served in (victim, survivor):
            stop(served)

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        live = conn.execute("SELECT meeting_id FROM meetings WHERE status != 'cancelled'").fetchall()
        open_claims = conn.execute("SELECT key FROM idempotency WHERE result_json = ''").fetchall()
    assert set(acknowledged) <= {m for (m,) in live}
    assert len(live) == ROUNDS * SLOTS_PER_ROUND
    assert overlapping_meetings(db) == 0
    assert whole_rows(db) == []
    # Only calls that never got an answer may have left a claim open (it lapses after CLAIM_LEASE).
    assert {k for (k,) in open_claims} <= {f"key-{email}" for _, email in lost}
    for log in tmp_path.glob("*.log"):
        assert "Traceback" not in log.read_text()
    print(
        f"\ncrash: {fired} calls, {ROUNDS} kill -9 survived, {len(acknowledged)} acknowledged bookings all "
        f"present ({len(live)} stored), {len(lost)} calls lost with the victim, {len(open_claims)} claims "
        f"left open, retried without key: {dict(retried)}"
    )
