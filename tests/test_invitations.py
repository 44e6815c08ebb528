"""Invitations on the local backend, as they arrive at a real SMTP server on loopback.

A booking, reschedule and cancellation each email the attendee (and guests) and the host, with an
iCalendar part that calendars apply to one event; sending goes through the outbox and never holds
up or fails the write; the password never leaves TLS nor shows up anywhere.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest
from icalendar import Calendar
from mcp import Client

from tests.conftest import Caller, FakeClock
from tests.mail_server import PASSWORD, MailServer, mail_server
from wix_meetings_mcp.bookings.local import LocalBackend
from wix_meetings_mcp.bookings.local.outbox import Outbox
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest
from wix_meetings_mcp.server import smtp
from wix_meetings_mcp.server.app import build_server
from wix_meetings_mcp.server.doctor import run_doctor
from wix_meetings_mcp.server.invitations import compose
from wix_meetings_mcp.server.sender import LEASE, OutboxSender
from wix_meetings_mcp.server.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")
HOST = "host@example.com"
ANA = {"name": "Ana Lopez", "email": "ana@example.com", "guest_emails": ["ben@example.com"]}


@pytest.fixture
def server() -> Iterator[MailServer]:
    with mail_server() as running:
        yield running


def mail_settings(db_path: Path, server: MailServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db": db_path,
        "time_zone": "Europe/Berlin",
        "smtp_url": server.url(),
        "mail_from": "bookings@example.com",
        "host_email": HOST,
        "confirm": "off",
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def connected(settings: Settings, clock: FakeClock, server: MailServer) -> AsyncIterator[Caller]:
    app = build_server(settings, clock=clock, mail_tls=server.client_tls)
    async with Client(app) as client:  # type: ignore[arg-type]
        yield Caller(client)


async def arrived(server: MailServer, count: int) -> list[EmailMessage]:
    with anyio.fail_after(10):
        while len(server.inbox.messages) < count:
            await anyio.sleep(0.01)
    return server.inbox.messages[:count]


def event_of(message: EmailMessage) -> tuple[str, Any]:
    """(method parameter of the MIME part, the VEVENT) of the message's text/calendar part."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    cal = Calendar.from_ical(part.get_content())
    assert str(cal["METHOD"]) == part.get_param("method")
    return str(part.get_param("method")), next(iter(cal.walk("VEVENT")))


def to_whom(messages: list[EmailMessage]) -> dict[str, EmailMessage]:
    return {str(m["To"]): m for m in messages}


async def first_slot(call: Caller) -> dict[str, Any]:
    slots = await call("find_slots", from_date="2026-12-01", to_date="2026-12-01")
    return dict(slots["slots"][0])


async def test_a_booking_sends_a_request_at_the_booked_time_to_attendee_guest_and_host(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    async with connected(mail_settings(db_path, server), clock, server) as call:
        slot = await first_slot(call)
        booked = await call("book_meeting", slot_id=slot["slot_id"], attendee=ANA)
        assert booked["notification"] == "queued"
        mails = to_whom(await arrived(server, 3))

    assert set(mails) == {"ana@example.com", "ben@example.com", HOST}
    meeting = booked["meeting"]
    for message in mails.values():
        method, event = event_of(message)
        assert method == "REQUEST"
        assert str(event["UID"]) == f"{meeting['meeting_id']}@meetings-mcp"
        assert event["SEQUENCE"] == 0
        start = event.decoded("DTSTART")
        assert start == datetime.fromisoformat(slot["start"]) and start.tzinfo.key == "Europe/Berlin"
        assert event.decoded("DTEND") == datetime.fromisoformat(slot["end"])
        assert str(event["ORGANIZER"]) == f"mailto:{HOST}"
        assert {str(a) for a in event["ATTENDEE"]} == {"mailto:ana@example.com", "mailto:ben@example.com"}
        assert str(event["LOCATION"]) == "Phone call"
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert meeting["when"] in text  # the sentence the agent reads aloud
        assert message.get_body(("html",)) is not None
    assert len({m["Message-ID"] for m in mails.values()}) == 3
    assert "Ana Lopez" in mails[HOST].get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_reschedule_keeps_the_uid_with_a_higher_sequence_and_a_cancel_sends_cancel(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    async with connected(mail_settings(db_path, server), clock, server) as call:
        slots = (await call("find_slots", from_date="2026-12-01", to_date="2026-12-01"))["slots"]
        booked = await call(
            "book_meeting", slot_id=slots[0]["slot_id"], attendee={"name": "Ana", "email": "ana@example.com"}
        )
        meeting_id = booked["meeting"]["meeting_id"]
        await arrived(server, 2)
        moved = await call("reschedule_meeting", meeting_id=meeting_id, slot_id=slots[3]["slot_id"])
        assert moved["notification"] == "queued"
        updates = to_whom((await arrived(server, 4))[2:])
        cancelled = await call("cancel_meeting", meeting_id=meeting_id, reason="Travel")
        assert cancelled["notification"] == "queued"
        cancels = to_whom((await arrived(server, 6))[4:])

    for message in updates.values():
        method, event = event_of(message)
        assert (method, str(event["UID"]), event["SEQUENCE"]) == ("REQUEST", f"{meeting_id}@meetings-mcp", 1)
        assert event.decoded("DTSTART") == datetime.fromisoformat(slots[3]["start"])
        assert str(message["Subject"]).startswith("Updated invitation")
    for message in cancels.values():
        method, event = event_of(message)
        assert (method, str(event["UID"]), event["SEQUENCE"]) == ("CANCEL", f"{meeting_id}@meetings-mcp", 2)
        assert str(event["STATUS"]) == "CANCELLED"
        assert "Reason: Travel" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert set(updates) == set(cancels) == {"ana@example.com", HOST}


async def test_notify_attendee_false_sends_nothing_and_says_off(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    async with connected(mail_settings(db_path, server), clock, server) as call:
        slots = (await call("find_slots", from_date="2026-12-01", to_date="2026-12-01"))["slots"]
        quiet = await call("book_meeting", slot_id=slots[0]["slot_id"], attendee=ANA, notify_attendee=False)
        assert quiet["notification"] == "off"
        loud = await call(
            "book_meeting", slot_id=slots[2]["slot_id"], attendee={"name": "Cy", "email": "cy@example.com"}
        )
        messages = await arrived(server, 2)  # the second booking's, which was queued after the first
        cancelled = await call(
            "cancel_meeting", meeting_id=quiet["meeting"]["meeting_id"], notify_attendee=False
        )
        assert cancelled["notification"] == "off"
        await call("cancel_meeting", meeting_id=loud["meeting"]["meeting_id"])
        messages = await arrived(server, 4)

    uids = {str(event_of(m)[1]["UID"]) for m in messages}
    assert uids == {f"{loud['meeting']['meeting_id']}@meetings-mcp"}
    with sqlite3.connect(db_path) as db:
        queued = db.execute("SELECT meeting_id FROM outbox").fetchall()
    assert {row[0] for row in queued} == {loud["meeting"]["meeting_id"]}


async def test_without_a_mail_server_results_say_not_configured_and_the_preview_claims_nothing(
    connect: Any,
) -> None:
    async with connect(confirm="token") as call:
        slot = await first_slot(call)
        booked = await call("book_meeting", slot_id=slot["slot_id"], attendee=ANA)
        assert booked["notification"] == "not_configured"
        preview = await call("cancel_meeting", meeting_id=booked["meeting"]["meeting_id"])
        assert "will be notified" not in preview["preview"]
        assert "will not be notified" in preview["preview"]


# --- the sender: claims, crashes, retries ------------------------------------------------------


async def queued_backend(db_path: Path, clock: FakeClock, bookings: int = 1) -> LocalBackend:
    backend = LocalBackend(
        db_path=db_path, time_zone="Europe/Berlin", plan="premium", clock=clock, host_email=HOST, mail=True
    )
    link = (await backend.list_links())[0]
    day = datetime(2026, 12, 1, 9, tzinfo=BERLIN)
    slots = await backend.find_slots(
        link, start=day, end=day + timedelta(days=1), duration=timedelta(minutes=30)
    )
    for i in range(bookings):
        person = Attendee(name=f"P{i}", email=f"p{i}@example.com")
        meeting = await backend.book(BookingRequest(slot=slots[i], attendee=person), meetings_limit=None)
        assert meeting.notification == "queued"
    return backend


def sender_for(db_path: Path, server: MailServer, clock: FakeClock, **kw: Any) -> OutboxSender:
    target = smtp.smtp_target(server.url(**kw))
    return OutboxSender(
        Outbox(db_path), target, sender="bookings@example.com", clock=clock, tls_context=server.client_tls
    )


async def test_a_crash_between_claim_and_send_is_retried_with_the_same_message_id(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    backend = await queued_backend(db_path, clock)
    crashed = Outbox(db_path)
    claimed = crashed.claim(clock(), lease=LEASE)  # this sender dies before sending
    assert len(claimed) == 2
    sender = sender_for(db_path, server, clock)
    assert await sender.drain() == 0  # the claim holds
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await sender.drain() == 2
    sent_ids = {str(m["Message-ID"]) for m in server.inbox.messages}
    assert sent_ids == {f"<{c.message_key}@example.com>" for c in claimed}
    backend.close()
    crashed.close()


async def test_a_crash_after_sending_resends_a_duplicate_recognisable_by_its_message_id(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    await queued_backend(db_path, clock)
    crashed = Outbox(db_path)
    first = crashed.claim(clock(), lease=LEASE, limit=1)[0]
    message = compose(first.notice, sender="bookings@example.com", message_key=first.message_key, now=clock())
    await smtp.send(smtp.smtp_target(server.url()), message, tls_context=server.client_tls)  # then dies
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await sender_for(db_path, server, clock).drain() == 2
    ids = [str(m["Message-ID"]) for m in server.inbox.messages]
    assert len(ids) == 3 and ids.count(str(message["Message-ID"])) == 2
    crashed.close()


async def test_two_senders_on_one_database_never_both_send_a_row(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    await queued_backend(db_path, clock, bookings=6)  # 12 messages
    one, two = sender_for(db_path, server, clock), sender_for(db_path, server, clock)
    counts: list[int] = []

    async def run(sender: OutboxSender) -> None:
        counts.append(await sender.drain())

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run, one)
            tasks.start_soon(run, two)
    ids = [str(m["Message-ID"]) for m in server.inbox.messages]
    assert len(ids) == 12 and len(set(ids)) == 12 and sum(counts) == 12
    assert Outbox(db_path).counts() == {"sent": 12}


async def test_a_temporary_refusal_is_retried_after_a_backoff(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    await queued_backend(db_path, clock)
    server.inbox.refuse_next = 1
    sender = sender_for(db_path, server, clock)
    assert await sender.drain() == 1  # one of the two went through
    assert await sender.drain() == 0  # the other waits for its backoff
    clock.advance(seconds=31)
    assert await sender.drain() == 1
    assert Outbox(db_path).counts() == {"sent": 2}


# --- credentials ---------------------------------------------------------------------------------


async def test_credentials_are_never_sent_without_tls(db_path: Path, clock: FakeClock, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    with mail_server(starttls=False) as plain:
        await queued_backend(db_path, clock)
        assert await sender_for(db_path, plain, clock).drain() == 0
        assert plain.inbox.messages == [] and plain.inbox.logins == []
    with sqlite3.connect(db_path) as db:
        errors = [row[0] for row in db.execute("SELECT last_error FROM outbox")]
    assert errors and all("no TLS" in e for e in errors)
    assert PASSWORD not in caplog.text


async def test_the_password_appears_in_no_log_result_audit_row_or_error(
    db_path: Path, clock: FakeClock, server: MailServer, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wrong-" + PASSWORD
    settings = mail_settings(db_path, server, smtp_url=server.url(password=wrong))
    assert wrong not in repr(settings) and wrong not in str(settings.model_dump())
    async with connected(settings, clock, server) as call:
        slot = await first_slot(call)
        booked = await call("book_meeting", slot_id=slot["slot_id"], attendee=ANA)
        with anyio.fail_after(10):
            while not server.inbox.logins:
                await anyio.sleep(0.01)
    lines: list[str] = []
    await anyio.to_thread.run_sync(
        lambda: run_doctor(settings, emit=lines.append, mail_tls=server.client_tls)
    )
    assert any(line.startswith("ok   mail server: smtp://mailer@127.0.0.1") for line in lines), lines
    assert server.inbox.messages == []  # the server refused the login
    everything = caplog.text + str(booked) + "\n".join(lines) + db_path.read_bytes().decode("latin-1")
    wal = db_path.with_name(db_path.name + "-wal")
    everything += wal.read_bytes().decode("latin-1") if wal.exists() else ""
    assert wrong not in everything


@pytest.mark.parametrize(
    "url",
    [
        "http://mailer:pw@127.0.0.1",
        "smtp://mailer@127.0.0.1",
        "smtp://:pw@127.0.0.1",
        "smtp://u:pw@127.0.0.1/x?tls=no",
    ],
)
def test_a_mail_server_url_that_cannot_be_used_safely_stops_the_start_with_one_line(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from wix_meetings_mcp.server.cli import read_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEETINGS_SMTP_URL", url)
    monkeypatch.setenv("MEETINGS_MAIL_FROM", "bookings@example.com")
    with pytest.raises(SystemExit):
        read_settings()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MEETINGS_SMTP_URL" in err and "pw" not in err


async def test_smtps_sends_over_tls_from_the_first_byte(db_path: Path, clock: FakeClock) -> None:
    with mail_server(implicit_tls=True) as tls:
        await queued_backend(db_path, clock)
        assert await sender_for(db_path, tls, clock, scheme="smtps").drain() == 2
        assert set(tls.inbox.logins) == {"mailer"} and len(tls.inbox.messages) == 2


def test_doctor_names_the_mail_server_or_its_absence(db_path: Path, server: MailServer) -> None:
    lines: list[str] = []
    run_doctor(Settings(db=db_path), emit=lines.append)
    assert any(line.startswith("ok   mail server: not configured") for line in lines)
    lines.clear()
    closed = Settings(db=db_path, smtp_url="smtp://127.0.0.1:1", mail_from="b@example.com")
    run_doctor(closed, emit=lines.append)
    assert any(line.startswith("FIX  mail server: smtp://127.0.0.1:1 could not be reached") for line in lines)


async def test_the_default_host_takes_the_configured_name_and_email_and_keeps_them_when_unset(
    db_path: Path, clock: FakeClock
) -> None:
    async def host_of(**configured: str) -> tuple[str, str | None]:
        backend = LocalBackend(
            db_path=db_path, time_zone="Europe/Berlin", plan="free", clock=clock, **configured
        )  # type: ignore[arg-type]
        host = (await backend.list_links())[0].host
        backend.close()
        return host.name, host.email

    assert await host_of() == ("Host", None)
    assert await host_of(host_name="Dr. Vega", host_email="vega@example.com") == (
        "Dr. Vega",
        "vega@example.com",
    )
    assert await host_of() == ("Dr. Vega", "vega@example.com")
    assert await host_of(host_email="desk@example.com") == ("Dr. Vega", "desk@example.com")


async def test_the_attendees_mail_links_their_own_page_and_the_host_mail_does_not(
    db_path: Path, clock: FakeClock, server: MailServer
) -> None:
    settings = mail_settings(db_path, server, public_url="https://book.example.com")
    async with connected(settings, clock, server) as call:
        slot = await first_slot(call)
        await call("book_meeting", slot_id=slot["slot_id"], attendee=ANA)
        mails = to_whom(await arrived(server, 3))

    def text(message: EmailMessage) -> str:
        body = message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())

    assert "To reschedule or cancel: https://book.example.com/m/" in text(mails["ana@example.com"])
    assert "https://book.example.com/m/" not in text(mails[HOST])
