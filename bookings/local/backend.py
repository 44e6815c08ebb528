"""LocalBackend: the embedded scheduling engine behind the Backend port, on a SQLite file or PostgreSQL.

It follows Wix Meetings: a fresh file is provisioned the way Provision Meetings App does, slots
come from the host's working hours minus meetings, buffers and imported busy times, and a slot is
booked at most once even across processes. Guardrails (plan limit before a write, premium gates,
policies) stay in tools/; the engine only enforces what must be atomic with the write.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio

from wix_meetings_mcp.bookings import sqlite
from wix_meetings_mcp.bookings.errors import AuthFailed, InvalidArgument, InvalidSlot, NotFound, NotSupported
from wix_meetings_mcp.bookings.local import video
from wix_meetings_mcp.bookings.local.admin import LocalAdmin
from wix_meetings_mcp.bookings.local.calendar_sync import DueFeed
from wix_meetings_mcp.bookings.local.links import BUSINESS_HOURS, default_link, slugify, validated
from wix_meetings_mcp.bookings.local.oauth import refreshable
from wix_meetings_mcp.bookings.local.slots import Interval, free_slots
from wix_meetings_mcp.bookings.local.storage import EngineStore, Queued, calendar_sync, oauth_store
from wix_meetings_mcp.bookings.local.store import Store
from wix_meetings_mcp.bookings.model import (
    Account,
    AuthorizationOutcome,
    BookingRequest,
    Business,
    CalendarConnection,
    CalendarProvider,
    ConnectCalendarRequest,
    ConnectCalendarResult,
    Features,
    Host,
    Link,
    Location,
    Meeting,
    MeetingPage,
    MeetingQuery,
    MeetingStatus,
    Notification,
    Plan,
    Policy,
    Price,
    Slot,
    VideoAccount,
)
from wix_meetings_mcp.bookings.outbound import Outbound, OutboundError, Reason, Resolver, Validators
from wix_meetings_mcp.bookings.port import Backend
from wix_meetings_mcp.bookings.receipts import Receipt

if TYPE_CHECKING:
    import httpx  # only a type here: the client is injected

    from wix_meetings_mcp.bookings.local import caldav
    from wix_meetings_mcp.bookings.local.calendar_api import CalendarClient
    from wix_meetings_mcp.bookings.local.feeds import FeedLimits, FeedReader
    from wix_meetings_mcp.bookings.local.oauth import OAuthProvider, OAuthSetup
    from wix_meetings_mcp.bookings.local.oauth_calendars import OAuthCalendars
    from wix_meetings_mcp.bookings.local.provider_http import ProviderLimits, Sleep

T = TypeVar("T")
logger = logging.getLogger(__name__)

FREE_PLAN_MEETINGS = 3
_DEFAULT_HOST_INTERVALS = 20_000  # as FeedLimits.host_intervals, without importing the feed reader
IMPORT_HORIZON = timedelta(days=365)
REFRESH_LEASE = timedelta(minutes=5)  # longer than one feed's fetch and parse can take
# Longest page of slots searched on the event loop (find_slots' default window is 7 days).
INLINE_SEARCH = timedelta(days=8)

_SECRET_ADDRESS_STEPS: dict[CalendarProvider, str] = {
    "google": 'In Google Calendar open Settings, pick the calendar, "Integrate calendar", and copy the '
    '"Secret address in iCal format".',
    "outlook": "In Outlook open Settings → Calendar → Shared calendars → Publish a calendar, publish it "
    "and copy the ICS link.",
    "apple": "In iCloud Calendar share the calendar as a public calendar, copy its webcal:// link and "
    "change webcal:// to https://.",
}


class LocalBackend:
    """The embedded engine. Blocking SQLite work runs in worker threads via anyio."""

    def __init__(
        self,
        *,
        db_path: Path | None = None,
        store: EngineStore | None = None,
        time_zone: str | None,
        plan: Literal["free", "premium"],
        clock: Callable[[], datetime],
        http: httpx.AsyncClient | Callable[[], httpx.AsyncClient] | None = None,
        business_name: str | None = None,
        fresh_time_zone: str = "UTC",
        allowed_private_hosts: str | Sequence[str] = (),
        resolver: Resolver | None = None,
        feed_limits: FeedLimits | None = None,
        host_name: str | None = None,
        host_email: str | None = None,
        mail: bool = False,
        on_queued: Callable[[], None] | None = None,
        refresh_interval: timedelta = timedelta(minutes=15),
        on_export: Callable[[], None] | None = None,
        oauth: OAuthSetup | None = None,
        provider_limits: ProviderLimits | None = None,
        retry_sleep: Sleep | None = None,
    ) -> None:
        """The engine keeps its data in `store` (storage.open_store picks SQLite or PostgreSQL), or
        else in the SQLite file `db_path`.

        `time_zone`, `business_name`, `host_name` and `host_email` (the default host's) overwrite
        what the file stores when given; None keeps it (a fresh file gets `fresh_time_zone`, the
        machine's zone when the server builds it).

        `mail`: a mail server is configured, so writes that notify queue invitations in the outbox
        and `on_queued` is called after such a write commits (it wakes the sender).

        `on_export` is called after a meeting changed or a calendar started exporting: the change
        may have queued exports to the host's own calendars (it wakes the export worker).

        `refresh_interval`: how often imported calendars are refreshed (`refresh_calendars`).

        `oauth`: the OAuth clients for Google and Outlook calendars, where the server's pages are
        reached and its secret (None: those calendars connect by iCal address only);
        `provider_limits` and `retry_sleep` bound and pace the requests to those providers."""
        for zone_name in (time_zone, fresh_time_zone):
            try:
                if zone_name is not None:
                    ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidArgument(
                    f"Unknown time zone {zone_name!r}; use an IANA name like Europe/Berlin."
                ) from None
        if plan not in ("free", "premium"):
            raise InvalidArgument(f"Unknown plan {plan!r}; use free or premium.")
        # Until the file is opened the zone is the configured one; then the one the file stores.
        self._time_zone = time_zone or fresh_time_zone
        self._zone = ZoneInfo(self._time_zone)
        self._configured_zone = time_zone
        self._fresh_zone = fresh_time_zone
        self._plan = plan
        self._clock = clock
        self._http = http
        self._allowed_private_hosts = allowed_private_hosts
        self._resolver = resolver
        self._feed_limits = feed_limits
        self._feed_reader: FeedReader | None = None
        self._business_name = business_name
        self._host_name, self._host_email = host_name, host_email
        self._mail, self._on_queued = mail, on_queued
        self._on_export = on_export
        if (db_path is None) == (store is None):
            raise ValueError("give the engine a db_path or a store, not both")
        self._store: EngineStore = store if store is not None else Store(db_path or Path(), self._zone)
        # Refresh claims, sync switches and export feeds, on the same database in its dialect.
        self._sync = calendar_sync(self._store)
        # Google and Outlook by OAuth: made on first use (start-up does not pay for their imports).
        self._oauth_setup = oauth
        self._provider_limits, self._retry_sleep = provider_limits, retry_sleep
        self._host_intervals = feed_limits.host_intervals if feed_limits else _DEFAULT_HOST_INTERVALS
        self.refresh_interval = refresh_interval
        self._ready = False
        self._ready_lock = threading.Lock()
        self._admin = LocalAdmin(self)

    @cached_property
    def oauth(self) -> OAuthCalendars:
        """The engine's Google and Outlook calendars by OAuth (connect, callback, refresh, export)."""
        from wix_meetings_mcp.bookings.local.oauth_calendars import OAuthCalendars

        return OAuthCalendars(
            setup=self._oauth_setup,
            store=oauth_store(self._store),
            run=self._run,
            clock=self._now,
            http=self._client,
            outbound=Outbound(allowed_private_hosts=self._allowed_private_hosts, resolver=self._resolver),
            zone=lambda: self._zone,
            horizon=self._horizon,
            host_limit=self._host_intervals,
            limits=self._provider_limits,
            sleep=self._retry_sleep,
        )

    @property
    def name(self) -> str:
        return "local"

    @property
    def database(self) -> str:
        """Where the engine keeps its data: a SQLite file's path or a PostgreSQL URL (never shown)."""
        return self._store.database

    @property
    def admin(self) -> LocalAdmin:
        return self._admin

    def close(self) -> None:
        """Close the database connections; the injected HTTP client belongs to the caller."""
        self._store.close()

    # --- plumbing ---------------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(self._call, fn)

    async def _read(self, fn: Callable[[], T]) -> T:
        """A read: on the event loop's own thread where the store's reads never wait for a writer
        (SQLite in WAL mode, once the file is ready), which saves a worker-thread hop per read;
        else in a worker thread like a write. Reads are bounded queries (see store.py)."""
        if self._ready and self._store.inline_reads:
            return self._call(fn)
        return await self._run(fn)

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return self._call_ready(fn)
        except sqlite3.OperationalError as exc:
            if not sqlite.is_busy(exc):
                raise
            logger.warning("the database stayed locked past the busy timeout")
            raise sqlite.busy_error() from None

    def _call_ready(self, fn: Callable[[], T]) -> T:
        # Schema and provisioning happen on first use, not in __init__: start-up stays cheap.
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self._time_zone = self._store.initialize(
                        business_name=self._business_name,
                        time_zone=self._configured_zone,
                        fresh_time_zone=self._fresh_zone,
                        plan=self._plan,
                        link=default_link(),
                        hours=BUSINESS_HOURS,
                        host_name=self._host_name,
                        host_email=self._host_email,
                    )
                    self._zone = ZoneInfo(self._time_zone)
                    self._ready = True
        return fn()

    def _feeds(self) -> FeedReader:
        """Made on first use, inside the event loop: its limiters belong to one."""
        if self._feed_reader is None:
            from wix_meetings_mcp.bookings.local.feeds import FeedLimits, FeedReader

            outbound = Outbound(allowed_private_hosts=self._allowed_private_hosts, resolver=self._resolver)
            self._feed_reader = FeedReader(outbound=outbound, limits=self._feed_limits or FeedLimits())
        return self._feed_reader

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return a timezone-aware datetime")
        return _utc(now)

    # --- account and links --------------------------------------------------------------------

    async def get_account(self) -> Account:
        name, used, video_ready = await self._read(
            lambda: (
                self._store.business_name(),
                self._store.count_meetings(),
                any(a.host_id is None for a in self._store.video_accounts()),
            )
        )
        premium = self._plan == "premium"
        return Account(
            backend=self.name,
            business=Business(name=name, time_zone=self._time_zone),
            plan=Plan(
                name=self._plan, premium=premium, meetings_limit=None if premium else FREE_PLAN_MEETINGS
            ),
            features=Features(
                external_calendars=premium,
                video_conferencing=premium,
                paid_meetings=premium,
                video_ready=video_ready,
            ),
            meetings_used=used,
        )

    async def list_links(self, *, include_inactive: bool = False) -> list[Link]:
        return await self._read(lambda: self._store.links(include_inactive=include_inactive))

    async def get_link(self, link_id: str) -> Link:
        return await self._read(lambda: self._store.link(link_id))

    async def set_link_active(self, link_id: str, *, active: bool, redirect_url: str | None = None) -> Link:
        """No redirect_url keeps the one set before (as Wix does): deactivating twice loses nothing."""
        changes: dict[str, object] = {"active": active}
        if redirect_url is not None:
            changes["redirect_url"] = redirect_url
        return await self.update_link(link_id, **changes)

    async def create_link(
        self,
        *,
        name: str,
        slug: str | None = None,
        durations_minutes: Sequence[int] = (30,),
        buffer_minutes: int = 0,
        location: Location | None = None,
        price: Price | None = None,
        requires_approval: bool = False,
        phone_only_allowed: bool = True,
        policy: Policy | None = None,
        host_id: str | None = None,
    ) -> Link:
        """Create an active scheduling link; the slug defaults to one made from the name."""

        def create() -> Link:
            link = validated(
                link_id=uuid.uuid4().hex,
                name=name,
                slug=slug if slug is not None else slugify(name),
                durations_minutes=tuple(durations_minutes),
                buffer_minutes=buffer_minutes,
                location=location or Location(kind="phone"),
                price=price,
                host=self._host(host_id),
                requires_approval=requires_approval,
                phone_only_allowed=phone_only_allowed,
                policy=policy or Policy(),
            )
            return self._store.insert_link(link, free_slug=slug is None)

        return await self._run(create)

    async def update_link(self, link_id: str, **changes: object) -> Link:
        """Change fields of a link by their Link names; `host_id` moves it to another host."""
        unknown = set(changes) - (set(Link.model_fields) - {"link_id", "host"} | {"host_id"})
        if unknown:
            raise InvalidArgument(f"Unknown link fields: {', '.join(sorted(unknown))}.")
        host_id = changes.pop("host_id", None)

        def change(link: Link) -> Link:
            data = dict(link) | changes
            if host_id is not None:
                data["host"] = self._host(str(host_id))
            return validated(**data)

        return await self._run(lambda: self._store.modify_link(link_id, change))

    async def video_accounts(self) -> list[VideoAccount]:
        return await self._read(self._store.video_accounts)

    async def connect_video_account(self, account: VideoAccount) -> VideoAccount:
        await self._run(lambda: self._store.save_video_account(account))
        return account

    async def disconnect_video_account(self, host_id: str | None) -> VideoAccount | None:
        return await self._run(lambda: self._store.delete_video_account(host_id))

    async def create_host(self, *, name: str, email: str | None = None) -> Host:
        """Add a host, available during business hours (Mon–Fri 09:00–17:00) until told otherwise."""
        host = Host(host_id=f"host_{uuid.uuid4().hex[:12]}", name=name, email=email)
        await self._run(lambda: self._store.add_host(host, BUSINESS_HOURS))
        return host

    async def connect_host_to_user(self, host_id: str, *, email: str | None = None) -> Host:
        """The sandbox has no site users: connecting records the user's email on the host."""

        def connect() -> Host:
            host = self._host(host_id)
            address = email or host.email
            if not address:
                raise InvalidArgument(
                    f"Host {host_id} has no email address.",
                    next_step="Pass the email of the site collaborator who manages this host.",
                )
            return self._store.set_host_email(host_id, address)

        return await self._run(connect)

    async def set_working_hours(self, host_id: str, hours: Mapping[int, Sequence[tuple[time, time]]]) -> None:
        """Replace a host's weekly hours: weekday (0 = Monday) → local windows; an end of 00:00 is midnight."""
        for weekday, windows in hours.items():
            if weekday not in range(7):
                raise InvalidArgument(f"Weekday {weekday} is not 0 (Monday) to 6 (Sunday).")
            for start, end in windows:
                if any(t.second or t.microsecond or t.tzinfo for t in (start, end)):
                    raise InvalidArgument("Working hours are whole minutes of local wall-clock time.")
                if end != time(0) and end <= start:
                    raise InvalidArgument(f"The window {start:%H:%M}–{end:%H:%M} ends before it starts.")
        await self._run(lambda: self._store.set_working_hours(host_id, hours))

    def _host(self, host_id: str | None) -> Host:
        hosts = self._store.hosts()
        if host_id is None:
            return hosts[0]
        for host in hosts:
            if host.host_id == host_id:
                return host
        raise NotFound(f"Host {host_id} does not exist.", host_id=host_id)

    # --- slots ----------------------------------------------------------------------------------

    async def find_slots(
        self, link: Link, *, start: datetime, end: datetime, duration: timedelta, limit: int | None = None
    ) -> list[Slot]:
        _check_range(start, end, duration)

        def search() -> list[Slot]:
            return self._free_slots(link, start, end, duration, None, limit)

        if limit is None or end - start > INLINE_SEARCH:
            # A long or unbounded search can walk many days against many busy times: in a worker
            # thread, the event loop keeps serving other calls meanwhile.
            return await self._run(search)
        return await self._read(search)

    async def is_slot_free(self, slot: Slot, *, ignore_meeting_id: str | None = None) -> bool:
        def check() -> bool:
            link = self._store.link(slot.link_id)
            start, end = _utc(slot.start), _utc(slot.end)
            if slot.host_id != link.host.host_id or end <= start:
                return False
            found = self._free_slots(link, start, end, end - start, ignore_meeting_id)
            return any(_utc(s.start) == start and _utc(s.end) == end for s in found)

        return await self._read(check)

    def _free_slots(
        self,
        link: Link,
        start: datetime,
        end: datetime,
        duration: timedelta,
        ignore_meeting_id: str | None,
        limit: int | None = None,
    ) -> list[Slot]:
        now, start, end = self._now(), _utc(start), _utc(end)
        host_id = link.host.host_id
        buffer = timedelta(minutes=link.buffer_minutes)
        meetings, imported = self._store.busy(
            host_id, start - buffer, end + duration + buffer, ignore_meeting_id=ignore_meeting_id
        )
        # slots.py widens everything by this link's buffer; a meeting whose own link asks for a
        # longer buffer is widened by the difference first, so both links' buffers hold.
        busy: list[Interval] = [*imported]
        for m_start, m_end, m_buffer in meetings:
            extra = max(m_buffer - buffer, timedelta(0))
            busy.append((m_start - extra, m_end + extra))
        found = free_slots(
            working_hours=self._store.working_hours(host_id),
            zone=self._zone,
            start=start,
            end=end,
            duration=duration,
            busy=busy,
            buffer=buffer,
            now=now,
            min_notice=link.policy.min_notice,
            max_advance=link.policy.max_advance,
            limit=limit,
        )
        kind = link.location.kind
        return [
            # Built here from checked values: skipping validation keeps a 90-day search cheap.
            Slot.model_construct(link_id=link.link_id, host_id=host_id, start=s, end=e, location_kind=kind)
            for s, e in found[:limit]
        ]

    # --- meetings -------------------------------------------------------------------------------

    async def book(
        self, request: BookingRequest, *, meetings_limit: int | None, receipt: Receipt | None = None
    ) -> Meeting:
        slot = request.slot

        def book() -> tuple[Meeting, Queued]:
            link = self._store.link(slot.link_id)
            if slot.host_id != link.host.host_id:
                raise InvalidSlot("The slot names another host than its scheduling link.")
            if _utc(slot.end) <= _utc(slot.start):
                raise InvalidSlot("The slot ends before it starts.")
            join_url, location = None, link.location
            if link.location.kind == "video":
                room = video.room_for(self._store.video_accounts(), link.host.host_id)
                if room is not None:
                    join_url, location = room
            status: MeetingStatus = "confirmed"
            if link.price is not None:
                status = "payment_required"  # no checkout in the sandbox, so no payment_url
            elif link.requires_approval:
                status = "pending"
            meeting = Meeting(
                meeting_id=uuid.uuid4().hex,
                link_id=link.link_id,
                link_name=link.name,
                status=status,
                start=slot.start.astimezone(self._zone),
                end=slot.end.astimezone(self._zone),
                attendee=request.attendee,
                host=link.host,
                location=location,
                join_url=join_url,
                notes=request.notes,
                invite_title=request.invite_title,
                invite_description=request.invite_description,
                created_at=self._now(),
            )
            return self._store.book(
                meeting,
                buffer_minutes=link.buffer_minutes,
                meetings_limit=meetings_limit,
                notify_at=self._notify_at(request.notify_attendee),
                told=lambda stored, queued: self._told(stored, request.notify_attendee, queued),
                receipt=receipt,
            )

        return self._queued(*await self._run(book))

    async def reschedule(
        self, meeting_id: str, slot: Slot, *, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        if _utc(slot.end) <= _utc(slot.start):
            raise InvalidSlot("The slot ends before it starts.")

        def move() -> tuple[Meeting, Queued]:
            moved, queued = self._store.reschedule(
                meeting_id,
                link_id=slot.link_id,
                start=slot.start,
                end=slot.end,
                notify_at=self._notify_at(notify_attendee),
            )
            return self._told(moved, notify_attendee, queued), queued

        return self._queued(*await self._run(move))

    async def cancel(
        self, meeting_id: str, *, reason: str | None, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        def cancel() -> tuple[Meeting, Queued | None]:
            cancelled, queued = self._store.cancel(
                meeting_id, reason=reason, notify_at=self._notify_at(notify_attendee)
            )
            # Already cancelled before: nothing changed and nobody is told again.
            if queued is None:
                return cancelled, None
            return self._told(cancelled, notify_attendee, queued), queued

        return self._queued(*await self._run(cancel))

    # --- invitations ------------------------------------------------------------------------------

    def _notify_at(self, notify_attendee: bool) -> datetime | None:
        return self._now() if notify_attendee and self._mail else None

    def _told(self, meeting: Meeting, notify_attendee: bool, queued: Queued) -> Meeting:
        told: Notification
        if not notify_attendee:
            told = "off"
        elif queued.invitations:
            told = "queued"
        else:
            told = "not_configured"  # no mail server, or nobody with an email address
        return meeting.model_copy(update={"notification": told})

    def _queued(self, meeting: Meeting, queued: Queued | None) -> Meeting:
        """After a meeting's write committed: wake whoever sends what it queued."""
        if meeting.notification == "queued" and self._on_queued is not None:
            self._on_queued()
        if queued is not None and queued.exports:
            self._exported()
        return meeting

    def _exported(self) -> None:
        if self._on_export is not None:
            self._on_export()

    async def get_meeting(self, meeting_id: str) -> Meeting:
        return await self._read(lambda: self._store.meeting(meeting_id))

    async def list_meetings(self, query: MeetingQuery) -> MeetingPage:
        if query.limit < 1:
            raise InvalidArgument("limit must be at least 1.")
        return await self._read(lambda: self._store.list_meetings(query, now=self._now()))

    # --- calendars ------------------------------------------------------------------------------

    async def connect_calendar(self, request: ConnectCalendarRequest) -> ConnectCalendarResult:
        host = await self._run(lambda: self._host(request.host_id))
        if request.provider != "apple" and request.ics_url is None:
            return await self._connect_oauth(host, request)
        caldav_ready = self._client() is not None  # without an HTTP client only file:// feeds work
        if (
            request.provider == "apple"
            and request.ics_url is None
            and request.password is not None
            and caldav_ready
        ):
            return await self._connect_caldav(host, request)
        if request.ics_url is None:
            raise NotSupported(
                (
                    "Apple calendars connect with the Apple ID email and an app-specific password "
                    "(CalDAV), or by the calendar's public iCal address."
                    if caldav_ready
                    else "Without an HTTP client this server imports busy times from an iCal address only."
                ),
                next_step=f"{_SECRET_ADDRESS_STEPS[request.provider]} Then call connect_calendar again "
                "with it as ics_url.",
                provider=request.provider,
            )
        from wix_meetings_mcp.bookings.local import feeds

        url = feeds.normalize_feed_url(request.ics_url)
        now = self._now()
        horizon = await self._horizon(host.host_id)
        connection = _new_connection(host.host_id, request)
        reader = self._feeds()
        try:
            found = await reader.read(
                url, http=self._client(), zone=self._zone, start=now - timedelta(days=1), end=now + horizon
            )
            busy = found.busy or []
            saved = await self._run(
                lambda: self._store.save_connection(
                    connection,
                    ics_url=url,
                    busy=busy,
                    imported_at=now,
                    host_limit=reader.limits.host_intervals,
                    validators=found.validators,
                )
            )
        except OutboundError as exc:
            is_file = url.startswith("file:")
            reason: Reason = "unreachable" if is_file else exc.reason
            # A cap hit never frees time silently: a known feed turns `error` and keeps its busy times.
            await self._run(
                lambda: self._store.mark_feed_error(
                    host_id=host.host_id, provider=request.provider, ics_url=url, reason=reason
                )
            )
            raise feeds.feed_error(reason, file=is_file) from None
        return ConnectCalendarResult(
            status="connected",
            connection=saved,
            next_step=f"Imported {len(busy)} busy times; find_slots now leaves them out. They refresh "
            f"every {_minutes(self.refresh_interval)} minutes.",
        )

    async def _connect_oauth(self, host: Host, request: ConnectCalendarRequest) -> ConnectCalendarResult:
        """Google / Outlook by OAuth when the operator configured it, else how to use the iCal address."""
        provider: OAuthProvider = "google" if request.provider == "google" else "outlook"
        missing = self.oauth.missing(provider)
        if missing is None:
            return await self.oauth.connect(host, request)
        raise NotSupported(
            f"Connecting {request.provider.capitalize()} by OAuth needs {missing}. Without it, this "
            "server imports busy times from the calendar's secret iCal address.",
            next_step=f"{_SECRET_ADDRESS_STEPS[request.provider]} Then call connect_calendar again "
            "with it as ics_url.",
            provider=request.provider,
        )

    async def finish_authorization(
        self, provider: OAuthProvider, *, state: str | None, code: str | None, error: str | None
    ) -> AuthorizationOutcome:
        """The OAuth callback of a pending connection (see OAuthCalendars.finish); once the owner
        signed in, the host's meetings are queued for export into the calendar, as on Wix."""
        outcome = await self.oauth.finish(provider, state=state, code=code, error=error)
        connection = outcome.connection
        if connection.export_enabled and connection.status != "disconnected":
            now = self._now()
            await self._run(lambda: self._sync.start_export(connection.connection_id, now=now))
            self._exported()
        return outcome

    async def calendar_client(self, connection_id: str) -> CalendarClient:
        """A connected Google / Outlook calendar's client, for the export worker (oauth_export.py)."""
        return await self.oauth.client(connection_id)

    async def _connect_caldav(self, host: Host, request: ConnectCalendarRequest) -> ConnectCalendarResult:
        """Apple or any CalDAV server: import busy times from every calendar but the export one."""
        from wix_meetings_mcp.bookings.local import caldav

        if not request.email or not request.password:
            raise InvalidArgument(
                "Connecting Apple / CalDAV needs email and password.",
                next_step="Pass the Apple ID (or CalDAV user name) as email and an app-specific password.",
            )
        url = (request.caldav_url or caldav.ICLOUD).strip()
        if not url.lower().startswith(("https://", "http://")):
            raise InvalidArgument("caldav_url must start with https:// or http://.")
        http = self._client()
        if http is None:
            raise NotSupported("This server was started without an HTTP client, so it cannot reach CalDAV.")
        account = caldav.Account(url, request.email, request.password)
        now = self._now()
        window = (now - timedelta(days=1), now + await self._horizon(host.host_id))
        reader = self._feeds()
        try:
            home, busy = await self._caldav_busy(account, window)
            # Meetings are exported into its "Meetings" calendar from the start, as on Wix.
            connection = _new_connection(host.host_id, request).model_copy(update={"export_enabled": True})

            def save() -> CalendarConnection:
                saved = self._store.save_connection(
                    connection,
                    ics_url=home,
                    busy=busy,
                    imported_at=now,
                    host_limit=reader.limits.host_intervals,
                )
                self._sync.save_caldav_account(
                    saved.connection_id, url=url, username=account.username, password=account.password
                )
                self._sync.start_export(saved.connection_id, now=now)
                return saved

            saved = await self._run(save)
            self._exported()
        except caldav.CalDavAuthError:
            raise AuthFailed(
                "The CalDAV server refused that email and password.",
                next_step="Check the email and create a new app-specific password (Apple: account.apple.com → "
                "Sign-In and Security → App-Specific Passwords), then connect again.",
            ) from None
        except OutboundError as exc:
            from wix_meetings_mcp.bookings.local import feeds

            raise feeds.feed_error(exc.reason) from None
        return ConnectCalendarResult(
            status="connected",
            connection=saved,
            next_step=f"Imported {len(busy)} busy times; find_slots now leaves them out. They refresh "
            f"every {_minutes(self.refresh_interval)} minutes. Meetings are written to its "
            f"{caldav.EXPORT_CALENDAR!r} calendar.",
        )

    async def _caldav_busy(
        self, account: caldav.Account, window: tuple[datetime, datetime]
    ) -> tuple[str, list[Interval]]:
        """(calendar home URL, merged busy intervals) of a CalDAV account; raises as CalDavClient does."""
        from wix_meetings_mcp.bookings.local import caldav

        http = self._client()
        if http is None:
            raise OutboundError("unreachable")
        reader = self._feeds()
        client = caldav.CalDavClient(
            outbound=reader.outbound,
            http=http,
            account=account,
            max_bytes=reader.limits.max_bytes,
            deadline=reader.limits.fetch_seconds,
        )
        home = await client.home()
        data = await client.busy_calendar(*window)
        busy = await reader.parse(data, zone=self._zone, start=window[0], end=window[1])
        return home, busy

    async def list_calendar_connections(self, host_id: str | None = None) -> list[CalendarConnection]:
        def connections() -> list[CalendarConnection]:
            if host_id is not None:
                self._host(host_id)
            return self._store.connections(host_id)

        return await self._read(connections)

    async def disconnect_calendar(self, connection_id: str) -> CalendarConnection:
        """Stop importing the calendar's busy times; they no longer block slots. Its stored
        credentials (CalDAV password, OAuth tokens) are deleted with it."""
        return await self._run(lambda: self._store.disconnect(connection_id))

    async def update_calendar_sync(
        self, connection_id: str, *, import_enabled: bool | None, export_enabled: bool | None
    ) -> CalendarConnection:
        """Import off: its busy times stop blocking slots and are kept for when it is back on.
        Export (CalDAV, Google and Outlook by OAuth) on: the host's meetings are written to its
        calendar; off: no more are."""
        now = self._now()
        changed = await self._run(
            lambda: self._sync.set_sync(
                connection_id, import_enabled=import_enabled, export_enabled=export_enabled, now=now
            )
        )
        if export_enabled:
            self._exported()
        return changed

    # --- refresh and export feeds ---------------------------------------------------------------

    async def refresh_calendars(self) -> int:
        """Refresh every imported feed due (conditionally, ETag / Last-Modified); how many were tried.

        A feed that fails keeps its last good busy times and turns `error` with its reason; the next
        refresh that succeeds turns it `connected` again.
        """
        now = self._now()
        # The others' OAuth connections are left to a process with their client (without making
        # the OAuth calendars: start-up and a process without OAuth never pay for their imports).
        oauth = refreshable(self._oauth_setup)
        due = await self._run(
            lambda: self._sync.claim_due(now, every=self.refresh_interval, lease=REFRESH_LEASE, oauth=oauth)
        )
        for feed in due:
            try:
                await self._refresh(feed, now)
            except Exception:  # a bug or a database hiccup in one feed must not stop the others
                logger.exception("calendar %s could not be refreshed; retrying later", feed.connection_id)
        return len(due)

    async def _refresh(self, feed: DueFeed, now: datetime) -> None:
        if await self.oauth.refresh(feed.connection_id, feed.token, now):
            return
        reader = self._feeds()
        reason: Reason
        try:
            horizon = await self._horizon(feed.host_id)
            account = await self._run(lambda: self._sync.caldav_account(feed.connection_id))
            if account is not None:
                from wix_meetings_mcp.bookings.local import caldav

                try:
                    _, busy = await self._caldav_busy(
                        caldav.Account(*account), (now - timedelta(days=1), now + horizon)
                    )
                except caldav.CalDavAuthError:
                    raise OutboundError("unreachable") from None  # the reasons are a fixed list
                await self._run(
                    lambda: self._sync.refreshed(
                        feed,
                        busy=busy,
                        validators=Validators(),
                        now=now,
                        host_limit=reader.limits.host_intervals,
                    )
                )
                return
            found = await reader.read(
                feed.ics_url,
                http=self._client(),
                zone=self._zone,
                start=now - timedelta(days=1),
                end=now + horizon,
                validators=feed.validators,
            )
            await self._run(
                lambda: self._sync.refreshed(
                    feed,
                    busy=found.busy,
                    validators=found.validators,
                    now=now,
                    host_limit=reader.limits.host_intervals,
                )
            )
            return
        except OutboundError as exc:
            reason = exc.reason
        except NotSupported:  # no HTTP client in this process
            reason = "unreachable"
        logger.warning("calendar %s not refreshed: %s", feed.connection_id, reason)
        await self._run(lambda: self._sync.refresh_failed(feed, reason=reason, now=now))

    async def import_age(self, host_id: str) -> timedelta | None:
        """How old the host's oldest import is, when that is older than the refresh interval."""
        oldest = await self._read(lambda: self._sync.oldest_import(host_id))
        if oldest is None:
            return None
        age = self._now() - oldest
        return age if age > self.refresh_interval else None

    async def last_refreshes(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        return await self._run(self._sync.last_refreshes)

    async def export_secret(self, host_id: str | None, *, rotate: bool = False) -> tuple[str, str]:
        """(host id, the secret of the host's export feed); `rotate` replaces it."""

        def secret() -> tuple[str, str]:
            host = self._host(host_id)
            return host.host_id, self._sync.export_secret(host.host_id, rotate=rotate)

        return await self._run(secret)

    async def export_feed(self, secret: str) -> tuple[Host, list[tuple[Meeting, int]]] | None:
        """The host a feed secret names and their meetings with each one's SEQUENCE; None: no such feed."""

        def feed() -> tuple[Host, list[tuple[Meeting, int]]] | None:
            found = self._sync.export_feed(secret, now=self._now())
            return None if found is None else (self._host(found[0]), found[1])

        return await self._read(feed)

    async def _horizon(self, host_id: str) -> timedelta:
        """How far ahead busy times are imported: a year, or the host's longest maximum advance."""
        links = await self._run(lambda: self._store.links(include_inactive=True))
        return max(
            [IMPORT_HORIZON]
            + [ln.policy.max_advance for ln in links if ln.host.host_id == host_id and ln.policy.max_advance]
        )

    def _client(self) -> httpx.AsyncClient | None:
        return self._http() if callable(self._http) else self._http


if TYPE_CHECKING:

    def _implements_the_port(backend: LocalBackend) -> Backend:
        return backend  # mypy proves LocalBackend satisfies the Backend protocol


def _utc(value: datetime) -> datetime:
    """Arithmetic and comparison in UTC: between two datetimes sharing a ZoneInfo, Python uses wall
    time and ignores `fold`, which is wrong across a DST change."""
    return value.astimezone(UTC)


def _minutes(interval: timedelta) -> int:
    return max(1, round(interval.total_seconds() / 60))


def _check_range(start: datetime, end: datetime, duration: timedelta) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidArgument("start and end must carry a UTC offset.")
    if duration <= timedelta(0):
        raise InvalidArgument("The duration must be positive.")


def _new_connection(host_id: str, request: ConnectCalendarRequest) -> CalendarConnection:
    """A calendar just connected: importing its busy times (an iCal feed's export goes through the
    host's feed)."""
    return CalendarConnection(
        connection_id=uuid.uuid4().hex,
        host_id=host_id,
        provider=request.provider,
        status="connected",
        import_enabled=True,
        export_enabled=False,
        account_email=request.email,
    )
