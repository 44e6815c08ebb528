"""The provider clients the export worker calls: write a meeting to the host's Google or Outlook
calendar (once, even when repeated), move it, remove it, find it by its UID; and an exported
meeting, read back by the import, never blocks time (so a meeting cancelled here is free at once,
before the worker has removed its copy)."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest

from tests.calendar_env import DENTIST, free_starts
from tests.conftest import FakeClock
from tests.fakes.microsoft_graph import DEFAULT
from tests.oauth_env import (  # the fixtures are found by their names
    Providers,
    Waits,
    connected,
    engine,
    public_dns,
)
from wix_meetings_mcp.bookings.calendar_event import meeting_uid
from wix_meetings_mcp.bookings.local.calendar_api import AccessRevoked, EventGone
from wix_meetings_mcp.bookings.local.exporters import ExportEvent
from wix_meetings_mcp.bookings.local.google_calendar import GoogleCalendar
from wix_meetings_mcp.bookings.local.graph_calendar import UID_PROPERTY
from wix_meetings_mcp.bookings.local.provider_http import ProviderHttp, ProviderLimits
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, Host, Location, Meeting
from wix_meetings_mcp.bookings.outbound import Outbound, OutboundError

MEETING = Meeting(
    meeting_id="m1",
    link_id="l1",
    link_name="Intro call",
    status="confirmed",
    start=DENTIST[0],
    end=DENTIST[1],
    attendee=Attendee(name="Ann", email="ann@example.org"),
    host=Host(host_id="h1", name="Host"),
    location=Location(kind="video"),
    join_url="https://video.example/ann",
    created_at=DENTIST[0] - timedelta(days=1),
)
EVENT = ExportEvent(uid=meeting_uid("m1"), sequence=0, meeting=MEETING, stamp=DENTIST[0])
MOVED = ExportEvent(
    uid=EVENT.uid,
    sequence=1,
    meeting=MEETING.model_copy(
        update={"start": DENTIST[0] + timedelta(hours=2), "end": DENTIST[1] + timedelta(hours=2)}
    ),
    stamp=DENTIST[0],
)


async def test_google_export_writes_our_uid_without_notifications_once_moves_and_removes_it(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    google = providers.google
    backend = engine(db_path, clock, http)
    client = await backend.calendar_client(await connected(backend, providers, "google"))

    event_id = await client.create(EVENT)
    assert await client.create(EVENT) == event_id  # a repeat after a lost answer: still one event
    stored = google.events[event_id]
    assert stored["iCalUID"] == "m1@meetings-mcp" and stored["extendedProperties"]["private"]
    assert stored["summary"] == "Intro call: Ann" and "attendees" not in stored
    assert (
        stored["description"] == "Ann: ann@example.org" and stored["location"] == "https://video.example/ann"
    )
    assert [c for c in google.calls if c.startswith("POST /calendar")] == [
        "POST /calendar/v3/calendars/primary/events?sendUpdates=none"
    ] * 2
    assert len(google.live()) == 1 and await client.find(EVENT.uid) == event_id

    await client.update(event_id, MOVED)
    assert google.events[event_id]["start"]["dateTime"] == "2026-12-01T11:00:00Z"
    clock.advance(minutes=16)
    await backend.refresh_calendars()
    assert MOVED.meeting.start in await free_starts(backend)  # our own copy blocks nothing

    await client.delete(event_id)
    await client.delete(event_id)  # already gone (410): done
    assert await client.find(EVENT.uid) is None
    with pytest.raises(EventGone):
        await client.update(event_id, MOVED)


async def test_outlook_export_tags_our_uid_as_transaction_id_and_property_and_writes_once(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    graph = providers.graph
    backend = engine(db_path, clock, http)
    client = await backend.calendar_client(await connected(backend, providers, "outlook"))

    event_id = await client.create(EVENT)
    assert await client.create(EVENT) == event_id
    stored = graph.calendars[DEFAULT][event_id]
    assert stored["transactionId"] == "m1@meetings-mcp" and "attendees" not in stored
    assert stored["start"] == {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"}
    assert graph.properties[event_id] == {UID_PROPERTY: "m1@meetings-mcp"}
    assert await client.find(EVENT.uid) == event_id

    clock.advance(minutes=16)
    await backend.refresh_calendars()
    assert EVENT.meeting.start in await free_starts(backend)  # read back through delta, and skipped

    await client.update(event_id, MOVED)
    assert graph.calendars[DEFAULT][event_id]["start"]["dateTime"] == "2026-12-01T11:00:00"
    await client.delete(event_id)
    await client.delete(event_id)  # already gone (404): done
    with pytest.raises(EventGone):
        await client.update(event_id, MOVED)


async def test_a_meeting_cancelled_here_is_free_at_once_though_its_export_is_still_in_outlook(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    client = await backend.calendar_client(
        await connected(backend, providers, "outlook", calendar_id="AAMkAD-work")
    )
    link = (await backend.list_links())[0]
    slot = next(
        s
        for s in await backend.find_slots(
            link, start=DENTIST[0], end=DENTIST[1], duration=timedelta(minutes=30)
        )
        if s.start == DENTIST[0]
    )
    meeting = await backend.book(
        BookingRequest(slot=slot, attendee=Attendee(name="Ann", email="ann@example.org")), meetings_limit=None
    )
    await client.create(ExportEvent(meeting_uid(meeting.meeting_id), 0, meeting, clock()))
    assert link.location == Location(kind="phone")

    await backend.cancel(meeting.meeting_id, reason=None, notify_attendee=False)
    clock.advance(minutes=16)
    await backend.refresh_calendars()

    assert DENTIST[0] in await free_starts(backend)
    assert len(providers.graph.events_of("AAMkAD-work")) == 1  # the copy the worker has yet to remove


@pytest.mark.parametrize(
    ("reason", "throttled"),
    [
        ("quotaExceeded", True),
        ("rateLimitExceeded", True),
        ("userRateLimitExceeded", True),
        ("forbiddenForNonOrganizer", False),
    ],
)
async def test_google_s_usage_limit_403s_are_backed_off_and_only_other_403s_withdraw_access(
    db_path: Path,
    clock: FakeClock,
    providers: Providers,
    http: httpx.AsyncClient,
    reason: str,
    throttled: bool,
) -> None:
    google = providers.google
    backend = engine(db_path, clock, http)
    client = await backend.calendar_client(await connected(backend, providers, "google"))
    google.calls.clear()
    google.auth.fail("list", *[reason] * 4)

    with pytest.raises(OutboundError if throttled else AccessRevoked):
        await client.find(EVENT.uid)
    looks = [c for c in google.calls if c.startswith("GET /calendar")]
    assert len(looks) == (4 if throttled else 1)  # backed off and tried again; a refusal is final


async def test_any_google_403_of_the_usage_limits_domain_is_throttling() -> None:
    answers: list[int] = []

    async def limited(request: httpx.Request) -> httpx.Response:
        answers.append(403)
        error = {"domain": "usageLimits", "reason": "someLimitNotListedYet", "message": "Slow down."}
        return httpx.Response(403, json={"error": {"errors": [error], "code": 403, "message": "Slow down."}})

    async def token(fresh: bool) -> str:
        return "access-token"

    async with httpx.AsyncClient(transport=httpx.MockTransport(limited)) as raw:
        http = ProviderHttp(
            outbound=Outbound(resolver=public_dns), http=raw, limits=ProviderLimits(), clock=FakeClock(),
            sleep=Waits(),
        )  # fmt: skip
        client = GoogleCalendar(
            http=http, api_url="https://www.google.test/calendar/v3", bearer=token, zone=UTC
        )
        with pytest.raises(OutboundError):
            await client.find(EVENT.uid)
    assert len(answers) == 4
