"""What the local engine asks of its storage: one interface, a SQLite and a PostgreSQL implementation.

`Store` (store.py) keeps everything in one SQLite file, the zero-set-up default; `PgStore`
(pg_store.py) keeps it in PostgreSQL, for several replicas sharing one database. Both are blocking
and thread-safe: the backend runs their writes in worker threads (see `inline_reads`). Every write that checks before it
writes (a booking's conflict and plan-limit checks, a link's active flag) is atomic in both, and
both queue a write's invitations in its own transaction. The calendar sync state (refresh claims,
sync switches, export feeds, CalDAV accounts) and the OAuth connections' state each run one set
of rules on either, in its dialect (`calendar_sync`, `oauth_store`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.local.slots import Interval, Window
from wix_meetings_mcp.bookings.model import (
    CalendarConnection,
    Host,
    Link,
    Meeting,
    MeetingPage,
    MeetingQuery,
    VideoAccount,
)
from wix_meetings_mcp.bookings.outbound import Reason, Validators
from wix_meetings_mcp.bookings.receipts import Receipt

# What a disconnect deletes besides the connection's busy times, in the same transaction: its
# stored credentials (a CalDAV password, OAuth tokens) and what only they could read (an OAuth
# calendar's synced events). A disconnected connection keeps no secret.
DISCONNECT_DROPS = ("caldav_accounts", "oauth_events", "oauth_accounts")


class Queued(NamedTuple):
    """What a meeting's write queued in its own transaction."""

    invitations: int
    exports: int  # exports into hosts' calendars


# What a write tells of its invitations, given the meeting as stored and what was queued.
Told = Callable[[Meeting, Queued], Meeting]


def as_stored(meeting: Meeting, queued: Queued) -> Meeting:
    return meeting


if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.calendar_sync import CalendarSync
    from wix_meetings_mcp.bookings.local.oauth_store import OAuthStore


class EngineStore(Protocol):
    # Whether reads may run on the event loop's thread: they never wait on a lock or the network.
    inline_reads: bool
    database: str  # the SQLite file's path or the PostgreSQL URL

    def close(self) -> None: ...

    def initialize(
        self,
        *,
        business_name: str | None,
        time_zone: str | None,
        fresh_time_zone: str,
        plan: str,
        link: Link,
        hours: Mapping[int, Sequence[Window]],
        host_name: str | None = None,
        host_email: str | None = None,
    ) -> str: ...

    # business, hosts, links, hours
    def business_name(self) -> str: ...
    def count_meetings(self) -> int: ...
    def hosts(self) -> list[Host]: ...
    def add_host(self, host: Host, hours: Mapping[int, Sequence[Window]]) -> None: ...
    def set_host_email(self, host_id: str, email: str) -> Host: ...
    def links(self, *, include_inactive: bool) -> list[Link]: ...
    def link(self, link_id: str) -> Link: ...
    def insert_link(self, link: Link, *, free_slug: bool) -> Link: ...
    def modify_link(self, link_id: str, change: Callable[[Link], Link]) -> Link: ...
    def working_hours(self, host_id: str) -> dict[int, list[Window]]: ...
    def set_working_hours(self, host_id: str, hours: Mapping[int, Sequence[Window]]) -> None: ...

    # busy time and meetings
    def busy(
        self, host_id: str, lo: datetime, hi: datetime, *, ignore_meeting_id: str | None
    ) -> tuple[list[tuple[datetime, datetime, timedelta]], list[Interval]]: ...

    def book(
        self,
        meeting: Meeting,
        *,
        buffer_minutes: int,
        meetings_limit: int | None,
        notify_at: datetime | None = None,
        told: Told = ...,
        receipt: Receipt | None = None,
    ) -> tuple[Meeting, Queued]: ...

    def reschedule(
        self,
        meeting_id: str,
        *,
        link_id: str,
        start: datetime,
        end: datetime,
        notify_at: datetime | None = None,
    ) -> tuple[Meeting, Queued]: ...

    def cancel(
        self, meeting_id: str, *, reason: str | None, notify_at: datetime | None = None
    ) -> tuple[Meeting, Queued | None]: ...

    def meeting(self, meeting_id: str) -> Meeting: ...
    def list_meetings(self, query: MeetingQuery, *, now: datetime) -> MeetingPage: ...

    # video accounts
    def video_accounts(self) -> list[VideoAccount]: ...
    def save_video_account(self, account: VideoAccount) -> None: ...
    def delete_video_account(self, host_id: str | None) -> VideoAccount | None: ...

    # calendar connections
    def save_connection(
        self,
        connection: CalendarConnection,
        *,
        ics_url: str,
        busy: Sequence[Interval],
        imported_at: datetime,
        host_limit: int | None = None,
        validators: Validators | None = None,
    ) -> CalendarConnection: ...

    def mark_feed_error(self, *, host_id: str, provider: str, ics_url: str, reason: Reason) -> None: ...
    def connections(self, host_id: str | None) -> list[CalendarConnection]: ...
    def disconnect(self, connection_id: str) -> CalendarConnection:
        """Disconnected: no busy times, no import or export, and none of DISCONNECT_DROPS kept."""
        ...


def open_store(db: Path | str, zone: ZoneInfo) -> EngineStore:
    """A PostgreSQL URL opens a `PgStore` (nothing connects before first use); else a SQLite file."""
    from wix_meetings_mcp.bookings.postgres import is_postgres_url

    if isinstance(db, str) and is_postgres_url(db):
        from wix_meetings_mcp.bookings.local.pg_store import PgStore

        return PgStore(db, zone)
    from wix_meetings_mcp.bookings.local.store import Store

    return Store(Path(db), zone)


def calendar_sync(store: EngineStore) -> CalendarSync:
    """The calendar sync rules (refresh claims, sync switches, export feeds) on the store's database."""
    from wix_meetings_mcp.bookings.local.store import Store

    if isinstance(store, Store):
        from wix_meetings_mcp.bookings.local.calendar_sync import sqlite_sync

        return sqlite_sync(store)
    from wix_meetings_mcp.bookings.local.pg_store import PgStore

    if isinstance(store, PgStore):
        from wix_meetings_mcp.bookings.local.pg_calendar_sync import pg_sync

        return pg_sync(store)
    raise TypeError(f"no calendar sync for {type(store).__name__}")


def oauth_store(store: EngineStore) -> OAuthStore:
    """The OAuth connections' state (pending sign-ins, tokens, synced events) on the store's database."""
    from wix_meetings_mcp.bookings.local.store import Store

    if isinstance(store, Store):
        from wix_meetings_mcp.bookings.local.oauth_store import sqlite_oauth

        return sqlite_oauth(store)
    from wix_meetings_mcp.bookings.local.pg_store import PgStore

    if isinstance(store, PgStore):
        from wix_meetings_mcp.bookings.local.pg_oauth_store import pg_oauth

        return pg_oauth(store)
    raise TypeError(f"no OAuth store for {type(store).__name__}")
