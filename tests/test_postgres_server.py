"""The whole server on PostgreSQL: replicas share the signing secret, idempotency keys, spent
confirmation tokens and the audit trail through one database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import Caller, FakeClock
from tests.mail_server import mail_server
from tests.test_tools_booking import ANN
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.pg_state import PgAuditTrail, PgRateLimiter
from wix_meetings_mcp.server.settings import Settings


def replica(url: str, clock: FakeClock, **overrides: str) -> Client:
    settings = Settings(db=url, time_zone="Europe/Berlin", plan="premium", confirm="token", **overrides)
    return Client(build_server(settings, clock=clock))


async def test_two_replicas_share_slot_ids_idempotency_tokens_and_the_audit_trail(
    postgres_url: str, clock: FakeClock
) -> None:
    async with replica(postgres_url, clock) as one, replica(postgres_url, clock) as two:
        a, b = Caller(one), Caller(two)
        slot = (await a("find_slots", from_date="2026-12-03"))["slots"][0]
        key = "retry-after-a-lost-answer"
        booked = await b(
            "book_meeting", slot_id=slot["slot_id"], attendee=ANN, idempotency_key=key
        )  # minted by a
        again = await a("book_meeting", slot_id=slot["slot_id"], attendee=ANN, idempotency_key=key)
        assert again == booked
        meeting_id = booked["meeting"]["meeting_id"]
        token = (await a("cancel_meeting", meeting_id=meeting_id))["confirmation_token"]
        done = await b("cancel_meeting", meeting_id=meeting_id, confirmation_token=token)
        assert done["status"] == "cancelled"
        assert len((await a("list_meetings", status="all"))["meetings"]) == 1
    trail = PgAuditTrail(postgres_url, clock)
    tools = [entry.tool for entry in trail.entries(10)]
    trail.close()
    assert tools.count("book_meeting") == 2 and tools.count("cancel_meeting") == 2


def test_migrate_and_doctor_know_postgresql(postgres_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETINGS_")} | {
        "MEETINGS_DB": postgres_url
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wix_meetings_mcp", *args], env=env, cwd=tmp_path,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    first, again, doctor = run("migrate"), run("migrate"), run("doctor")
    assert first.returncode == 0 and "server schema at version 2 (2 applied now)" in first.stdout
    assert "engine schema at version" in first.stdout and "(0 applied now)" in again.stdout
    assert doctor.returncode == 0, doctor.stdout
    assert "(PostgreSQL)" in doctor.stdout and "migrations pending" not in doctor.stdout


async def test_invitations_are_sent_from_the_postgresql_outbox(postgres_url: str, clock: FakeClock) -> None:
    with mail_server() as server:
        settings = Settings(
            db=postgres_url,
            time_zone="Europe/Berlin",
            smtp_url=server.url(),
            mail_from="bookings@example.com",
            host_email="host@example.com",
        )
        async with Client(build_server(settings, clock=clock, mail_tls=server.client_tls)) as client:
            call = Caller(client)
            slot = (await call("find_slots", from_date="2026-12-03"))["slots"][0]
            booked = await call("book_meeting", slot_id=slot["slot_id"], attendee=ANN)
            assert booked["notification"] == "queued"
            with anyio.fail_after(10):
                while len(server.inbox.messages) < 2:
                    await anyio.sleep(0.01)
    assert {str(m["To"]) for m in server.inbox.messages} == {ANN["email"], "host@example.com"}


async def test_replicas_share_one_rate_limit_per_token(postgres_url: str) -> None:
    now = [1000.0]
    one, two = (PgRateLimiter(postgres_url, 3, clock=lambda: now[0]) for _ in range(2))
    try:
        waits = [await limiter.admit("token:abc") for limiter in (one, two, one, two)]
        assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] == pytest.approx(20.0)  # 3 a minute, across both
        assert await two.admit("token:other") == 0.0  # another token has its own bucket
        now[0] += 20
        assert await two.admit("token:abc") == 0.0  # refilled one
    finally:
        one.close()
        two.close()


async def test_one_idempotency_key_raced_on_two_replicas_books_once(
    postgres_url: str, clock: FakeClock
) -> None:
    async with replica(postgres_url, clock) as one, replica(postgres_url, clock) as two:
        slots = (await Caller(one)("find_slots", from_date="2026-12-03"))["slots"]
        results: list[Any] = []

        async def book(client: Client, slot_id: str) -> None:
            # The same key with the same arguments from both replicas at once: one books, one waits
            # for it and returns its result (or is told it is still running), never a second meeting.
            results.append(
                await client.call_tool(
                    "book_meeting", {"slot_id": slot_id, "attendee": ANN, "idempotency_key": "raced-key-1"}
                )
            )

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(book, one, slots[0]["slot_id"])
                tg.start_soon(book, two, slots[0]["slot_id"])
        listed = await Caller(one)("list_meetings", status="all")
    assert len(listed["meetings"]) == 1
    ids = {r.structured_content["meeting"]["meeting_id"] for r in results if not r.is_error}
    assert ids == {listed["meetings"][0]["meeting_id"]}
    assert all(r.content[0].text.startswith("rate_limited:") for r in results if r.is_error)
