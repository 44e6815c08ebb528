"""Meetings exported into Google and Outlook calendars connected by OAuth, against the provider fakes,
on the SQLite file and on PostgreSQL (`engine_db`).

The engine books, moves and cancels; the export worker the server runs (built by the server's own
`export_worker`, driven here with `drain`) writes each change through the provider's API; what the
owner would see is then read from the fake's calendar. The import that follows never reads our own
copy back as busy time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest

from tests.calendar_env import book, slot
from tests.conftest import FakeClock
from tests.fakes.microsoft_graph import DEFAULT
from tests.oauth_env import (  # (its fixtures load as a plugin: tests/conftest.py)
    GOOGLE,
    OUTLOOK,
    Providers,
    connected,
    engine,
)
from wix_meetings_mcp.bookings.calendar_event import meeting_uid
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.model import CalendarConnection
from wix_meetings_mcp.server.app import export_worker
from wix_meetings_mcp.server.doctor import run_doctor
from wix_meetings_mcp.server.export_worker import ExportWorker
from wix_meetings_mcp.server.settings import Settings

PROVIDERS = ["google", "outlook"]


@pytest.fixture
async def backend(engine_db: str, clock: FakeClock, http: httpx.AsyncClient) -> AsyncIterator[LocalBackend]:
    made = engine(engine_db, clock, http)
    yield made
    made.close()


def settings(engine_db: str) -> Settings:
    """As the server is configured: both OAuth clients set (the worker serves only those providers)."""
    return Settings(
        db=engine_db, time_zone="Europe/Berlin", plan="premium",
        google_client_id=GOOGLE.client_id, google_client_secret=GOOGLE.client_secret,
        microsoft_client_id=OUTLOOK.client_id,
        microsoft_client_secret=OUTLOOK.client_secret,
    )  # fmt: skip


@pytest.fixture
def run(engine_db: str, clock: FakeClock, http: httpx.AsyncClient, backend: LocalBackend) -> ExportWorker:
    """The export worker as the server builds it, beside the engine it exports for."""
    return export_worker(settings(engine_db), clock, lambda: http, backend)


def events(providers: Providers, provider: str) -> list[dict[str, Any]]:
    """The events the owner sees in the connected calendar (not deleted)."""
    if provider == "google":
        return providers.google.live()
    return providers.graph.events_of(DEFAULT)


def uid_of(event: dict[str, Any], provider: str) -> str:
    """Our UID as the provider keeps it: Google's iCalUID, Graph's transactionId."""
    return str(event["iCalUID"] if provider == "google" else event["transactionId"])


def span(event: dict[str, Any]) -> tuple[datetime, datetime]:
    def at(value: dict[str, str]) -> datetime:
        moment = datetime.fromisoformat(value["dateTime"])
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)

    return at(event["start"]), at(event["end"])


def writes(providers: Providers, provider: str) -> list[str]:
    calls = providers.google.calls if provider == "google" else providers.graph.calls
    return [c for c in calls if c.split(" ")[0] in ("POST", "PATCH", "DELETE") and "/token" not in c]


async def connection(backend: LocalBackend) -> CalendarConnection:
    (found,) = await backend.list_calendar_connections()
    return found


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_booking_appears_in_the_calendar_a_reschedule_patches_it_and_a_cancel_deletes_it(
    backend: LocalBackend,
    run: ExportWorker,
    clock: FakeClock,
    providers: Providers,
    provider: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    earlier = await book(backend, 0)  # booked before the calendar was connected
    await connected(backend, providers, provider)
    assert (await connection(backend)).export_enabled  # on once the owner signed in, as on Wix
    assert await run.drain() == 1
    assert [uid_of(e, provider) for e in events(providers, provider)] == [meeting_uid(earlier.meeting_id)]

    meeting = await book(backend, 4)
    assert await run.drain() == 1
    (event,) = [
        e for e in events(providers, provider) if uid_of(e, provider) == meeting_uid(meeting.meeting_id)
    ]
    assert span(event) == (meeting.start, meeting.end)
    assert (event["summary"] if provider == "google" else event["subject"]) == f"{meeting.link_name}: Ann Lee"
    assert "attendees" not in event  # the provider invites nobody: our invitations went by mail

    clock.advance(minutes=16)
    assert await backend.refresh_calendars() == 1
    imported = await connection(backend)
    assert imported.status == "connected" and imported.busy_intervals == 0  # our copies block nothing

    moved = await backend.reschedule(meeting.meeting_id, await slot(backend, 8), notify_attendee=False)
    assert await run.drain() == 1
    (patched,) = [
        e for e in events(providers, provider) if uid_of(e, provider) == meeting_uid(meeting.meeting_id)
    ]
    assert patched["id"] == event["id"] and span(patched) == (moved.start, moved.end)
    assert len(events(providers, provider)) == 2

    await backend.cancel(meeting.meeting_id, reason=None, notify_attendee=False)
    assert await run.drain() == 1
    assert [uid_of(e, provider) for e in events(providers, provider)] == [meeting_uid(earlier.meeting_id)]
    kinds = [c.split(" ")[0] for c in writes(providers, provider)]
    assert kinds == ["POST", "POST", "PATCH", "DELETE"]
    assert all(token not in caplog.text for token in providers.tokens())


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_export_switched_off_writes_nothing_and_switching_it_on_catches_up(
    backend: LocalBackend,
    run: ExportWorker,
    providers: Providers,
    provider: str,
) -> None:
    connection_id = await connected(backend, providers, provider)
    off = await backend.update_calendar_sync(connection_id, import_enabled=None, export_enabled=False)
    assert off.export_enabled is False

    meeting = await book(backend, 0)
    assert await run.drain() == 0
    assert writes(providers, provider) == [] and events(providers, provider) == []

    await backend.update_calendar_sync(connection_id, import_enabled=None, export_enabled=True)
    assert await run.drain() == 1
    assert [uid_of(e, provider) for e in events(providers, provider)] == [meeting_uid(meeting.meeting_id)]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_disconnected_calendar_gets_no_export_of_later_bookings(
    backend: LocalBackend,
    run: ExportWorker,
    providers: Providers,
    provider: str,
) -> None:
    connection_id = await connected(backend, providers, provider)
    await backend.disconnect_calendar(connection_id)
    fake = providers.google if provider == "google" else providers.graph
    before = len(fake.calls)

    await book(backend, 0)
    assert await run.drain() == 0
    assert fake.calls[before:] == [] and events(providers, provider) == []
    # Nothing was tried and given up either: the calendar is still just disconnected.
    assert (await connection(backend)).status == "disconnected"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_event_deleted_in_the_calendar_is_written_again_by_the_next_change(
    backend: LocalBackend,
    run: ExportWorker,
    providers: Providers,
    provider: str,
) -> None:
    await connected(backend, providers, provider)
    meeting = await book(backend, 0)
    assert await run.drain() == 1
    (event,) = events(providers, provider)
    (providers.google if provider == "google" else providers.graph).delete_event(event["id"])

    moved = await backend.reschedule(meeting.meeting_id, await slot(backend, 3), notify_attendee=False)
    assert await run.drain() == 1
    (again,) = events(providers, provider)
    assert uid_of(again, provider) == meeting_uid(meeting.meeting_id) and span(again)[0] == moved.start


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_withdrawn_access_gives_the_export_up_and_the_doctor_says_to_sign_in_again(
    backend: LocalBackend,
    run: ExportWorker,
    engine_db: str,
    providers: Providers,
    provider: str,
) -> None:
    await connected(backend, providers, provider)
    (providers.google if provider == "google" else providers.graph).auth.revoke()

    await book(backend, 0)
    await book(backend, 3)
    assert await run.drain() == 0

    marked = await connection(backend)
    assert marked.status == "error" and marked.error_reason == "auth_failed"
    refreshes = [r for r in (providers.google if provider == "google" else providers.graph).auth.token_requests
                 if r["grant_type"] == "refresh_token"]  # fmt: skip
    assert len(refreshes) == 1  # the second job was not even tried with refused access
    lines: list[str] = []
    await anyio.to_thread.run_sync(lambda: run_doctor(settings(engine_db), emit=lines.append))  # own loop
    report = "\n".join(lines)
    assert "auth_failed: its access was refused" in report and "signs in anew" in report
    assert events(providers, provider) == []


async def test_a_provider_that_keeps_failing_is_retried_later_without_failing_the_booking(
    backend: LocalBackend,
    run: ExportWorker,
    clock: FakeClock,
    providers: Providers,
) -> None:
    await connected(backend, providers, "google")
    providers.google.auth.fail("insert", 503, 503, 503, 503)

    meeting = await book(backend, 0)
    assert meeting.status == "confirmed"
    assert await run.drain() == 0
    assert events(providers, "google") == []
    assert (await connection(backend)).status == "connected"  # a passing failure marks nothing

    clock.advance(seconds=31)  # past the first backoff
    assert await run.drain() == 1
    assert [uid_of(e, "google") for e in events(providers, "google")] == [meeting_uid(meeting.meeting_id)]


@pytest.mark.parametrize("reason", ["quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded"])
async def test_google_s_usage_limit_403s_are_throttling_retried_later_not_withdrawn_access(
    backend: LocalBackend, run: ExportWorker, clock: FakeClock, providers: Providers, reason: str
) -> None:
    await connected(backend, providers, "google")
    providers.google.auth.fail("insert", *[reason] * 4)

    meeting = await book(backend, 0)
    assert await run.drain() == 0
    assert len([c for c in writes(providers, "google") if c.startswith("POST")]) == 4  # backed off in the job
    assert (await connection(backend)).status == "connected"  # slowed down, not refused
    assert events(providers, "google") == []

    clock.advance(seconds=31)  # past the first backoff
    assert await run.drain() == 1
    assert [uid_of(e, "google") for e in events(providers, "google")] == [meeting_uid(meeting.meeting_id)]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_after_withdrawn_access_signing_in_again_exports_every_meeting_the_refusal_held_back(
    backend: LocalBackend, run: ExportWorker, providers: Providers, provider: str
) -> None:
    await connected(backend, providers, provider)
    (providers.google if provider == "google" else providers.graph).auth.revoke()
    first, second = await book(backend, 0), await book(backend, 3)
    assert await run.drain() == 0  # the first job was refused and given up; the second waits

    await connected(backend, providers, provider)  # the owner signs in again: a new connection
    assert await run.drain() == 2
    assert sorted(uid_of(e, provider) for e in events(providers, provider)) == sorted(
        meeting_uid(m.meeting_id) for m in (first, second)
    )


async def test_a_refused_export_is_queued_again_once_an_import_of_the_calendar_succeeds(
    backend: LocalBackend, run: ExportWorker, clock: FakeClock, providers: Providers
) -> None:
    await connected(backend, providers, "google")
    providers.google.auth.fail("insert", 401, 401)  # this write refused, even with a fresh token
    first = await book(backend, 0)
    assert await run.drain() == 0
    assert (await connection(backend)).error_reason == "auth_failed"
    second = await book(backend, 3)
    assert await run.drain() == 0  # nothing is sent while the credentials stand refused

    clock.advance(minutes=16)
    assert await backend.refresh_calendars() == 1  # reading the calendar works: connected again
    assert (await connection(backend)).status == "connected"
    assert await run.drain() == 2  # the refused job too, not only the one that waited
    assert sorted(uid_of(e, "google") for e in events(providers, "google")) == sorted(
        meeting_uid(m.meeting_id) for m in (first, second)
    )
