"""Google and Outlook calendars by OAuth on the local engine, against fakes of both providers.

The owner's round trip goes the way a browser goes: the agent gets `authorization_url` from
connect_calendar, the fake provider answers it with the redirect to our callback, and the page
server completes the connection; then busy events block slots, our own exports and free events do
not, refreshes follow the provider's sync cursor, and a revoked grant or a disconnect behave.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from mcp import Client

from tests.calendar_env import DENTIST, EXPORTED, TUESDAY, berlin_engine, free_starts
from tests.conftest import FakeClock, stored
from tests.fakes import google_calendar as g
from tests.oauth_env import (  # the fixtures are found by their names
    BASE,
    LATER,
    LUNCH,
    PUBLIC,
    Providers,
    Waits,
    connected,
    engine,
)
from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.calendar_sync import DueFeed
from wix_meetings_mcp.bookings.local.storage import open_store
from wix_meetings_mcp.bookings.model import ConnectCalendarRequest
from wix_meetings_mcp.server.app import Running, build_server
from wix_meetings_mcp.server.pages import Pages
from wix_meetings_mcp.server.settings import Settings


async def test_the_owner_s_round_trip_through_the_page_server_ends_connected_and_blocks_busy_times(
    engine_db: str,
    clock: FakeClock,
    providers: Providers,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    google = providers.google
    google.add_event(*DENTIST)
    google.add_event(*LUNCH, transparency="transparent")  # marked free: blocks nothing
    google.add_event(*EXPORTED, ical_uid="m123@meetings-mcp")  # a meeting we exported ourselves
    google.add_event(*LATER, status="cancelled")
    google.add_event(date(2026, 12, 3), date(2026, 12, 4))  # all day on Thursday
    backend = engine(engine_db, clock, http)
    running = Running()
    settings = Settings(
        db=engine_db, time_zone="Europe/Berlin", plan="premium", public_url=BASE, toolsets="all"
    )
    async with Client(build_server(settings, backend=backend, clock=clock, running=running)) as client:
        started = await client.call_tool(
            "connect_calendar", {"provider": "google", "redirect_url": "https://app.example/done"}
        )
        assert not started.is_error, started.content
        result = started.structured_content
        assert result is not None and result["status"] == "authorization_required"
        assert result["connection"]["status"] == "pending"
        url = result["authorization_url"]
        sent = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(g.AUTHORIZATION_URL + "?")
        assert sent["redirect_uri"] == f"{BASE}/oauth/google/callback"
        assert sent["access_type"] == "offline" and sent["code_challenge_method"] == "S256"
        assert sent["scope"] == "https://www.googleapis.com/auth/calendar.events"

        back = google.auth.authorize(url)  # the owner allows access; the browser follows the redirect
        assert back.startswith(f"{BASE}/oauth/google/callback?")
        assert running.deps is not None
        pages = httpx.ASGITransport(app=Pages(lambda: running.deps), client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=pages, base_url=BASE) as browser:
            landed = await browser.get(back.removeprefix(BASE))
        assert landed.status_code == 303
        assert landed.headers["location"].startswith("https://app.example/done?connection_id=")
        assert landed.headers["location"].endswith("&status=connected")

        listed = (await client.call_tool("list_calendar_connections", {})).structured_content
        assert listed is not None
        (connection,) = listed["connections"]
        assert connection["status"] == "connected" and connection["provider"] == "google"
        assert connection["busy_intervals"] == 2  # the dentist and Thursday
        slots = await client.call_tool(
            "find_slots", {"from_date": "2026-12-01", "to_date": "2026-12-03", "limit": 100}
        )
        starts = {s["start"] for s in (slots.structured_content or {})["slots"]}
        assert "2026-12-01T10:00:00+01:00" not in starts and "2026-12-01T09:30:00+01:00" in starts
        assert {
            "2026-12-01T12:00:00+01:00",
            "2026-12-01T14:00:00+01:00",
            "2026-12-01T16:00:00+01:00",
        } <= starts
        assert not any(s.startswith("2026-12-03") for s in starts)
        shown = [str(started.content), str(listed), str(slots.content)]

    backend.close()
    assert PUBLIC in providers.addresses  # every request went to the address the guard checked
    audit = str(stored(engine_db, "SELECT * FROM audit"))
    for token in providers.tokens():
        assert all(token not in text for text in [*shown, caplog.text, audit])
    assert g.CLIENT_SECRET not in caplog.text + audit + "".join(shown)


async def test_outlook_reads_the_chosen_calendar_and_skips_free_cancelled_and_own_events(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    graph = providers.graph
    for n in range(12):  # more than one page of the calendar view
        graph.add_event(
            TUESDAY + timedelta(hours=n),
            TUESDAY + timedelta(hours=n) + timedelta(minutes=5),
            calendar="AAMkAD-work",
            show_as="free",
        )
    graph.add_event(*DENTIST, calendar="AAMkAD-work")
    graph.add_event(*LUNCH, calendar="AAMkAD-work", cancelled=True)
    graph.add_event(*LATER)  # in the default calendar, which was not chosen
    backend = engine(db_path, clock, http)

    connection_id = await connected(backend, providers, "outlook", calendar_id="AAMkAD-work")

    (connection,) = await backend.list_calendar_connections()
    assert connection.connection_id == connection_id and connection.status == "connected"
    assert connection.busy_intervals == 1
    free = await free_starts(backend)
    assert DENTIST[0] not in free and LUNCH[0] in free and LATER[0] in free
    assert any("calendarView" in c and "skip=10" in c for c in graph.calls)
    assert not any("/delta" in c for c in graph.calls)  # v1.0 has no delta for other calendars


async def test_google_refreshes_follow_the_sync_token_and_a_410_starts_a_full_sync(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    google = providers.google
    dentist = google.add_event(*DENTIST)
    backend = engine(db_path, clock, http)
    await connected(backend, providers, "google")
    assert DENTIST[0] not in await free_starts(backend)

    google.delete_event(dentist)
    google.add_event(*LATER)
    google.add_event(*LUNCH, ical_uid="abc@meetings-mcp")
    clock.advance(minutes=16)
    assert await backend.refresh_calendars() == 1
    free = await free_starts(backend)
    assert DENTIST[0] in free and LATER[0] not in free and LUNCH[0] in free
    assert "syncToken=st-" in google.calls[-1] and "timeMin" not in google.calls[-1]

    google.expire_sync_tokens()
    google.add_event(*EXPORTED)
    clock.advance(minutes=16)
    assert await backend.refresh_calendars() == 1
    assert EXPORTED[0] not in await free_starts(backend)
    assert "timeMin=" in google.calls[-1]  # the full sync after the 410
    (connection,) = await backend.list_calendar_connections()
    assert connection.status == "connected" and connection.busy_intervals == 2


async def test_graph_refreshes_follow_the_delta_link_across_pages_and_restart_when_it_is_gone(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    graph = providers.graph
    graph.page_cap = 1
    dentist = graph.add_event(*DENTIST)
    graph.add_event(*LUNCH, show_as="tentative")
    backend = engine(db_path, clock, http)
    await connected(backend, providers, "outlook")
    assert {DENTIST[0], LUNCH[0]}.isdisjoint(await free_starts(backend))
    assert any("$skiptoken=" in c for c in graph.calls)

    graph.delete_event(dentist)
    graph.add_event(*LATER, show_as="oof")
    clock.advance(minutes=16)
    await backend.refresh_calendars()
    free = await free_starts(backend)
    assert DENTIST[0] in free and LATER[0] not in free and LUNCH[0] not in free
    assert any("$deltatoken=" in c for c in graph.calls)

    graph.expire_delta_tokens()
    clock.advance(minutes=16)
    before = len(graph.calls)
    await backend.refresh_calendars()
    assert (await backend.list_calendar_connections())[0].status == "connected"
    later = graph.calls[before:]
    assert "deltatoken" in later[0] and later[1].startswith("GET /v1.0/me/calendarView/delta?startDateTime=")
    assert LUNCH[0] not in await free_starts(backend)


async def test_an_expired_access_token_is_renewed_and_outlook_s_new_refresh_token_is_kept(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    graph = providers.graph
    backend = engine(db_path, clock, http)
    await connected(backend, providers, "outlook")
    for _ in range(2):  # the second renewal needs the refresh token the first one brought
        clock.advance(hours=2)
        graph.add_event(*LATER)
        await backend.refresh_calendars()
        (connection,) = await backend.list_calendar_connections()
        assert connection.status == "connected", connection.error_reason
    grants = [r["grant_type"] for r in graph.auth.token_requests]
    assert grants == ["authorization_code", "refresh_token", "refresh_token"]
    assert graph.auth.token_requests[1]["refresh_token"] != graph.auth.token_requests[2]["refresh_token"]


async def test_a_revoked_grant_turns_the_connection_error_and_keeps_its_busy_times(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    providers.google.add_event(*DENTIST)
    backend = engine(db_path, clock, http)
    await connected(backend, providers, "google")
    providers.google.auth.revoke()

    clock.advance(hours=2)
    assert await backend.refresh_calendars() == 1

    (connection,) = await backend.list_calendar_connections()
    assert connection.status == "error" and connection.error_reason == "revoked"
    assert DENTIST[0] not in await free_starts(backend)


@pytest.mark.parametrize("provider", ["google", "outlook"])
async def test_a_disconnected_calendar_stops_blocking_is_never_read_again_and_keeps_no_token(
    engine_db: str, clock: FakeClock, providers: Providers, http: httpx.AsyncClient, provider: str
) -> None:
    fake = providers.google if provider == "google" else providers.graph
    fake.add_event(*DENTIST)
    backend = engine(engine_db, clock, http)
    connection_id = await connected(backend, providers, provider)
    clock.advance(hours=2)  # the access token expired: the next request refreshes it
    assert await backend.refresh_calendars() == 1
    assert len(stored(engine_db, "SELECT * FROM oauth_events")) == 1
    calls = len(fake.calls)

    await backend.disconnect_calendar(connection_id)
    clock.advance(hours=1)

    assert await backend.refresh_calendars() == 0
    assert len(fake.calls) == calls
    assert DENTIST[0] in await free_starts(backend)
    assert stored(engine_db, "SELECT * FROM oauth_accounts") == []  # no token kept
    assert stored(engine_db, "SELECT * FROM oauth_events") == []
    everything = str(stored(engine_db, "SELECT * FROM calendar_connections"))
    assert all(token not in everything for token in providers.tokens())
    backend.close()


async def test_declining_access_turns_the_connection_error_with_the_reason(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    started = await backend.connect_calendar(ConnectCalendarRequest(provider="outlook"))
    assert started.authorization_url is not None
    query = parse_qs(urlsplit(providers.graph.auth.authorize(started.authorization_url, allow=False)).query)

    done = await backend.finish_authorization(
        "outlook", state=query["state"][0], code=None, error=query["error"][0]
    )

    assert done.connection.status == "error" and done.connection.error_reason == "access_denied"
    assert providers.graph.auth.token_requests == []


async def test_a_declined_sign_in_keeps_its_reason_through_later_refreshes(
    engine_db: str, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    backend = engine(engine_db, clock, http)
    started = await backend.connect_calendar(ConnectCalendarRequest(provider="outlook"))
    assert started.authorization_url is not None
    query = parse_qs(urlsplit(providers.graph.auth.authorize(started.authorization_url, allow=False)).query)
    await backend.finish_authorization("outlook", state=query["state"][0], code=None, error=query["error"][0])

    clock.advance(hours=1)
    assert await backend.refresh_calendars() == 0  # no refresh token: nothing to read, never claimed
    (connection,) = await backend.list_calendar_connections()
    assert connection.status == "error" and connection.error_reason == "access_denied"
    assert providers.graph.calls == []
    backend.close()


async def test_export_asked_of_a_calendar_whose_owner_has_not_signed_in_says_to_finish_signing_in(
    engine_db: str, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    backend = engine(engine_db, clock, http)
    pending = (await backend.connect_calendar(ConnectCalendarRequest(provider="google"))).connection
    declined = await backend.connect_calendar(ConnectCalendarRequest(provider="outlook"))
    assert pending is not None and declined.connection is not None and declined.authorization_url is not None
    query = parse_qs(urlsplit(providers.graph.auth.authorize(declined.authorization_url, allow=False)).query)
    await backend.finish_authorization("outlook", state=query["state"][0], code=None, error=query["error"][0])

    with pytest.raises(InvalidArgument) as waiting:
        await backend.update_calendar_sync(pending.connection_id, import_enabled=None, export_enabled=True)
    assert "waiting for its owner to finish signing in" in waiting.value.message
    assert "authorization_url" in (waiting.value.next_step or "")
    with pytest.raises(InvalidArgument) as refused:
        await backend.update_calendar_sync(
            declined.connection.connection_id, import_enabled=None, export_enabled=True
        )
    assert "declined or did not complete signing in" in refused.value.message
    assert "connect_calendar again" in (refused.value.next_step or "")
    assert all("iCal" not in e.value.message for e in (waiting, refused))
    assert not any(c.export_enabled for c in await backend.list_calendar_connections())
    backend.close()


@pytest.mark.parametrize("tamper", ["other_provider", "forged", "replayed", "expired", "other_secret"])
async def test_a_callback_whose_state_this_server_did_not_issue_or_that_was_used_stores_nothing(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient, tamper: str
) -> None:
    backend = engine(db_path, clock, http)
    started = await backend.connect_calendar(ConnectCalendarRequest(provider="google"))
    assert started.authorization_url is not None
    query = {
        k: v[0]
        for k, v in parse_qs(
            urlsplit(providers.google.auth.authorize(started.authorization_url)).query
        ).items()
    }
    state, code, provider = query["state"], query["code"], "google"
    if tamper == "other_provider":
        provider = "outlook"
    elif tamper == "forged":
        body, tag = state.split(".")
        state = f"{body[:-2]}AA.{tag}"
    elif tamper == "replayed":
        await backend.finish_authorization("google", state=state, code=code, error=None)
    elif tamper == "expired":
        clock.advance(minutes=11)
    else:
        from wix_meetings_mcp.bookings.local.oauth import StateSigner

        connection_id = started.connection.connection_id if started.connection else ""
        state = StateSigner(b"x" * 32).sign(connection_id, "nonce", clock() + timedelta(minutes=5))
    exchanges = len(providers.google.auth.token_requests)

    with pytest.raises(InvalidArgument):
        await backend.finish_authorization(provider, state=state, code=code, error=None)  # type: ignore[arg-type]

    assert len(providers.google.auth.token_requests) == exchanges
    (connection,) = await backend.list_calendar_connections()
    assert connection.status == ("connected" if tamper == "replayed" else "pending")


async def test_a_bad_state_is_a_400_page(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    settings = Settings(db=db_path, time_zone="Europe/Berlin", plan="premium", public_url=BASE)
    running = Running()
    async with Client(build_server(settings, backend=backend, clock=clock, running=running)):
        pages = httpx.ASGITransport(app=Pages(lambda: running.deps), client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=pages, base_url=BASE) as browser:
            refused = await browser.get("/oauth/google/callback?state=abc.def&code=xyz")
            unknown = await browser.get("/oauth/yahoo/callback?state=abc.def&code=xyz")
    assert refused.status_code == 400 and "not valid" in refused.text
    assert unknown.status_code == 404
    assert providers.google.auth.token_requests == []


async def test_throttled_and_failing_token_and_list_calls_are_retried_within_the_budget(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    google, graph = providers.google, providers.graph
    google.add_event(*DENTIST)
    google.auth.fail("token", 503, 429)
    google.auth.fail("list", 429, 403, 500)
    waits = Waits()
    backend = engine(db_path, clock, http, waits=waits, deadline=0.2)

    await connected(backend, providers, "google")

    assert DENTIST[0] not in await free_starts(backend)
    assert len(waits.seconds) == 5 and all(0.25 <= s <= 8 for s in waits.seconds)

    graph.add_event(*LATER)
    graph.auth.fail("token", (429, {"Retry-After": "7"}))
    graph.auth.fail("delta", (429, {"Retry-After": "3"}), "stall")
    waits.seconds.clear()
    await connected(backend, providers, "outlook")
    assert waits.seconds[:2] == [7.0, 3.0]  # the provider's Retry-After, then backoff after the stall
    assert LATER[0] not in await free_starts(backend)


async def test_a_provider_that_keeps_failing_leaves_the_connection_error_with_its_busy_times(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    providers.google.add_event(*DENTIST)
    backend = engine(db_path, clock, http, deadline=0.2)
    await connected(backend, providers, "google")

    providers.google.auth.fail("list", "stall", "stall", "stall", "stall")
    clock.advance(minutes=16)
    await backend.refresh_calendars()
    (connection,) = await backend.list_calendar_connections()
    assert connection.status == "error" and connection.error_reason == "timeout"
    assert DENTIST[0] not in await free_starts(backend)

    providers.google.auth.fail("list", 503, 503, 503, 503)
    clock.advance(minutes=16)
    await backend.refresh_calendars()
    assert (await backend.list_calendar_connections())[0].error_reason == "unreachable"

    clock.advance(minutes=16)
    await backend.refresh_calendars()
    assert (await backend.list_calendar_connections())[0].status == "connected"


async def test_google_s_calendar_usage_limits_403_is_retried_at_the_next_refresh_not_taken_as_revoked(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    providers.google.add_event(*DENTIST)
    backend = engine(db_path, clock, http)
    await connected(backend, providers, "google")

    providers.google.auth.fail("list", *["quotaExceeded"] * 4)
    clock.advance(minutes=16)
    await backend.refresh_calendars()
    (connection,) = await backend.list_calendar_connections()
    assert connection.status == "error" and connection.error_reason == "unreachable"  # not `revoked`
    assert DENTIST[0] not in await free_starts(backend)

    clock.advance(minutes=16)
    await backend.refresh_calendars()
    assert (await backend.list_calendar_connections())[0].status == "connected"


async def test_a_pending_connection_is_not_refreshed_nor_reported_stale(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    backend = engine(db_path, clock, http)
    await backend.connect_calendar(ConnectCalendarRequest(provider="google"))
    clock.advance(hours=1)
    assert await backend.refresh_calendars() == 0
    host = (await backend.list_calendar_connections())[0].host_id
    assert await backend.import_age(host) is None
    assert providers.google.calls == []


ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"


async def ical_feed(backend: LocalBackend, path: Path) -> str:
    """An Outlook calendar connected by its secret iCal address (a file here); its connection id."""
    path.write_bytes(ICS)
    made = await backend.connect_calendar(ConnectCalendarRequest(provider="outlook", ics_url=path.as_uri()))
    assert made.connection is not None
    return made.connection.connection_id


async def test_a_process_without_the_oauth_client_leaves_oauth_calendars_alone_and_refreshes_the_rest(
    engine_db: str,
    tmp_path: Path,
    clock: FakeClock,
    providers: Providers,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configured = engine(engine_db, clock, http)
    google = await connected(configured, providers, "google")
    feed = await ical_feed(configured, tmp_path / "work.ics")
    plain = berlin_engine(engine_db, clock, http)  # the same database, served without OAuth settings
    calls = len(providers.google.calls)

    clock.advance(hours=1)
    with caplog.at_level(logging.INFO):
        assert await plain.refresh_calendars() == 1  # the iCal feed; the Google calendar is not its to read

    assert (await plain.last_refreshes())[feed][1] == clock()
    assert len(providers.google.calls) == calls
    assert google not in caplog.text  # nothing logged about a calendar it did not touch
    assert {c.connection_id: c.status for c in await plain.list_calendar_connections()}[google] == "connected"
    assert (
        await configured.refresh_calendars() == 1
    )  # no claim left behind: the process with the client reads it
    assert (await configured.last_refreshes())[google][1] == clock()
    plain.close()
    configured.close()


async def test_a_process_with_the_client_but_no_public_address_still_refreshes_oauth_calendars(
    db_path: Path, clock: FakeClock, providers: Providers, http: httpx.AsyncClient
) -> None:
    signed_in = engine(db_path, clock, http)
    await connected(signed_in, providers, "google")
    signed_in.close()
    providers.google.add_event(*DENTIST)
    worker = engine(db_path, clock, http, public_url=None)  # e.g. a replica that serves no pages

    clock.advance(hours=2)  # the access token expired too: the refresh token gets a new one
    assert await worker.refresh_calendars() == 1
    (connection,) = await worker.list_calendar_connections()
    assert connection.status == "connected"
    assert DENTIST[0] not in await free_starts(worker)
    worker.close()


async def test_a_feed_whose_refresh_breaks_unexpectedly_does_not_stop_the_others(
    db_path: Path, tmp_path: Path, clock: FakeClock, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    class OneFeedBreaks(LocalBackend):
        broken = ""

        async def _refresh(self, feed: DueFeed, now: datetime) -> None:
            if feed.connection_id == self.broken:
                raise RuntimeError("a bug in one feed's refresh")
            await super()._refresh(feed, now)

    backend = OneFeedBreaks(
        store=open_store(db_path, ZoneInfo("Europe/Berlin")), time_zone="Europe/Berlin", plan="premium",
        clock=clock, http=http,
    )  # fmt: skip
    backend.broken = await ical_feed(backend, tmp_path / "first.ics")
    second = await ical_feed(backend, tmp_path / "second.ics")

    clock.advance(hours=1)
    assert await backend.refresh_calendars() == 2
    assert (await backend.last_refreshes())[second][1] == clock()
    assert f"calendar {backend.broken} could not be refreshed" in caplog.text
    backend.close()


async def test_google_takes_no_calendar_id(db_path: Path, clock: FakeClock, http: httpx.AsyncClient) -> None:
    backend = engine(db_path, clock, http)
    with pytest.raises(InvalidArgument):
        await backend.connect_calendar(ConnectCalendarRequest(provider="google", calendar_id="work"))
    assert await backend.list_calendar_connections() == []


OAUTH_SETTINGS: dict[str, Any] = {
    "google_client_id": g.CLIENT_ID,
    "google_client_secret": g.CLIENT_SECRET,
    "google_authorization_url": g.AUTHORIZATION_URL,
    "google_token_url": g.TOKEN_URL,
    "google_api_url": g.API_URL,
}


async def test_the_settings_configure_the_client_and_the_provider_addresses(
    db_path: Path, clock: FakeClock
) -> None:
    settings = Settings(
        db=db_path, time_zone="Europe/Berlin", plan="premium", public_url=BASE, **OAUTH_SETTINGS
    )
    async with Client(build_server(settings, clock=clock)) as client:
        started = (await client.call_tool("connect_calendar", {"provider": "google"})).structured_content
        outlook = await client.call_tool("connect_calendar", {"provider": "outlook"})
    assert started is not None and started["authorization_url"].startswith(g.AUTHORIZATION_URL)
    assert f"client_id={g.CLIENT_ID}" in started["authorization_url"]
    text = outlook.content[0].text  # type: ignore[union-attr]
    assert outlook.is_error and text.startswith("not_supported: ")
    assert "MEETINGS_MICROSOFT_CLIENT_ID and MEETINGS_MICROSOFT_CLIENT_SECRET" in text and "ics_url" in text


async def test_without_a_public_address_oauth_says_to_set_one(db_path: Path, clock: FakeClock) -> None:
    settings = Settings(db=db_path, time_zone="Europe/Berlin", plan="premium", **OAUTH_SETTINGS)
    async with Client(build_server(settings, clock=clock)) as client:
        refused = await client.call_tool("connect_calendar", {"provider": "google"})
    text = refused.content[0].text  # type: ignore[union-attr]
    assert refused.is_error and text.startswith("not_supported: ") and "MEETINGS_PUBLIC_URL" in text


def test_a_client_id_without_its_secret_is_refused_at_start_up(db_path: Path) -> None:
    with pytest.raises(ValueError, match="MEETINGS_GOOGLE_CLIENT_ID and MEETINGS_GOOGLE_CLIENT_SECRET"):
        Settings(db=db_path, google_client_id=g.CLIENT_ID)
