"""SQLite store of the local engine: connections, transactions, queries and the atomic writes.

Blocking calls only; the backend runs them in worker threads, each with its own connection. The
file is in WAL mode so readers never wait for the writer, and every check-then-write runs in
`BEGIN IMMEDIATE`, which takes the database's write lock before the check: two threads or two
processes booking one slot serialize, and the second sees the first's meeting.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings import receipts, sqlite
from wix_meetings_mcp.bookings.errors import (
    InvalidArgument,
    InvalidSlot,
    LinkInactive,
    NotFound,
    PlanLimitReached,
    SlotUnavailable,
)
from wix_meetings_mcp.bookings.local import exports, outbox, rows, schema
from wix_meetings_mcp.bookings.local.rows import MAX_MEETING, ts
from wix_meetings_mcp.bookings.local.slots import Interval, Window
from wix_meetings_mcp.bookings.local.storage import DISCONNECT_DROPS, Queued, Told, as_stored
from wix_meetings_mcp.bookings.model import (
    CalendarConnection,
    Host,
    Link,
    Meeting,
    MeetingPage,
    MeetingQuery,
    VideoAccount,
)
from wix_meetings_mcp.bookings.notices import NoticeKind
from wix_meetings_mcp.bookings.outbound import OutboundError, Reason, Validators
from wix_meetings_mcp.bookings.receipts import Receipt

DEFAULT_BUSINESS_NAME = "My Business"

# A meeting of :host collides with [:start, :end) once widened by the larger of the new slot's
# buffer (:buf) and its own link's buffer, so neither link's buffer is broken. The first two
# range terms only let the (host_id, start_ts) index narrow the scan.
_MEETING_CONFLICT = """
    SELECT 1 FROM meetings m LEFT JOIN links l ON l.link_id = m.link_id
    WHERE m.host_id = :host AND m.status != 'cancelled' AND m.meeting_id != :ignore
      AND m.start_ts < :end + (SELECT COALESCE(MAX(buffer_minutes), 0) * 60 + :buf FROM links)
      AND m.start_ts > :start - :day - (SELECT COALESCE(MAX(buffer_minutes), 0) * 60 + :buf FROM links)
      AND m.end_ts > :start - (SELECT COALESCE(MAX(buffer_minutes), 0) * 60 + :buf FROM links)
      AND m.start_ts - MAX(:buf, COALESCE(l.buffer_minutes, 0) * 60) < :end
      AND m.end_ts + MAX(:buf, COALESCE(l.buffer_minutes, 0) * 60) > :start
    LIMIT 1"""
# Busy times of a calendar whose import is switched off are kept (for when it is switched back on)
# but block nothing.
_IMPORTING = " AND connection_id IN (SELECT connection_id FROM calendar_connections WHERE import_enabled = 1)"
_BUSY_CONFLICT = (
    "SELECT 1 FROM busy WHERE host_id = :host AND start_ts < :end + :buf AND end_ts > :start - :buf"
    + _IMPORTING
    + " LIMIT 1"
)
_HOST_MEETINGS = """
    SELECT m.start_ts, m.end_ts, COALESCE(l.buffer_minutes, 0)
    FROM meetings m LEFT JOIN links l ON l.link_id = m.link_id
    WHERE m.host_id = :host AND m.status != 'cancelled' AND m.meeting_id != :ignore
      AND m.start_ts < :hi + (SELECT COALESCE(MAX(buffer_minutes), 0) * 60 FROM links)
      AND m.start_ts > :lo - :day - (SELECT COALESCE(MAX(buffer_minutes), 0) * 60 FROM links)
      AND m.start_ts - COALESCE(l.buffer_minutes, 0) * 60 < :hi
      AND m.end_ts + COALESCE(l.buffer_minutes, 0) * 60 > :lo"""
_COUNT_MEETINGS = "SELECT live FROM meeting_count"  # kept by triggers (schema migration 2)
# A meeting lasts at most a day (:day = MAX_MEETING): a lower bound on start_ts lets the
# (host_id, start_ts) index skip the past instead of reading every meeting ever booked.


class Store:
    """One SQLite file; safe to share between threads and between processes."""

    inline_reads = True  # WAL: a reader never waits for the writer

    def __init__(self, path: Path, zone: ZoneInfo) -> None:
        self._path = path
        self.database = str(path)
        self._zone = zone
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite.connect(self._path)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        self._local.conn = conn
        with self._lock:
            # Worker threads come and go (anyio retires idle ones); close what the dead left behind
            # so a long-running server does not collect open connections.
            for thread in [t for t in self._connections if not t.is_alive()]:
                self._connections.pop(thread).close()
            self._connections[threading.current_thread()] = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        # Writers of this process queue on a lock of their own: SQLite's busy handler would have them
        # sleep and poll (1, 2, 5, 10... ms), leaving the write lock idle between two of them.
        # Other processes still wait in the busy handler.
        with self._writer, sqlite.immediate(conn):
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A deferred transaction, so that several SELECTs see one snapshot."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()
            self._local = threading.local()

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
    ) -> str:
        """Migrate the schema and, on a fresh file, provision the business, its host, link and hours.

        Runs under the write lock, so two processes opening one fresh file provision it once. A name
        or zone that is configured (not None) overwrites the stored one; one that is not keeps it
        (a fresh file gets `DEFAULT_BUSINESS_NAME` and `fresh_time_zone`); so do the default (first)
        host's name and email. Returns the business zone.
        """
        conn = self._conn()
        sqlite.enable_wal(conn)
        sqlite.migrate(conn, schema.COMPONENT, schema.MIGRATIONS)
        with self._write() as conn:
            row = conn.execute("SELECT time_zone FROM business").fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE business SET name = COALESCE(?, name), time_zone = COALESCE(?, time_zone), plan = ?",
                    (business_name, time_zone, plan),
                )
                zone = time_zone or str(row["time_zone"])
            else:
                zone = time_zone or fresh_time_zone
                conn.execute(
                    "INSERT INTO business VALUES (1, ?, ?, ?)",
                    (business_name or DEFAULT_BUSINESS_NAME, zone, plan),
                )
                self._insert_host(conn, link.host, hours)
                columns = rows.link_columns(link)
                conn.execute(rows.insert_sql("links", columns), tuple(columns.values()))
            conn.execute(
                "UPDATE hosts SET name = COALESCE(?, name), email = COALESCE(?, email)"
                " WHERE host_id = (SELECT host_id FROM hosts ORDER BY rowid LIMIT 1)",
                (host_name, host_email),
            )
        self._zone = ZoneInfo(zone)
        return zone

    # --- business, hosts, links, hours --------------------------------------------------------

    def business_name(self) -> str:
        return str(self._conn().execute("SELECT name FROM business").fetchone()[0])

    def count_meetings(self) -> int:
        return int(self._conn().execute(_COUNT_MEETINGS).fetchone()[0])

    def hosts(self) -> list[Host]:
        found = self._conn().execute("SELECT * FROM hosts ORDER BY rowid").fetchall()
        return [Host(host_id=r["host_id"], name=r["name"], email=r["email"]) for r in found]

    def add_host(self, host: Host, hours: Mapping[int, Sequence[Window]]) -> None:
        with self._write() as conn:
            self._insert_host(conn, host, hours)

    def set_host_email(self, host_id: str, email: str) -> Host:
        with self._write() as conn:
            self._require_host(conn, host_id)
            conn.execute("UPDATE hosts SET email = ? WHERE host_id = ?", (email, host_id))
            row = conn.execute("SELECT * FROM hosts WHERE host_id = ?", (host_id,)).fetchone()
        return Host(host_id=row["host_id"], name=row["name"], email=row["email"])

    def links(self, *, include_inactive: bool) -> list[Link]:
        where = "" if include_inactive else "WHERE l.active = 1"
        return [rows.to_link(r) for r in self._conn().execute(f"{rows.LINK_SELECT} {where} ORDER BY l.rowid")]

    def link(self, link_id: str) -> Link:
        row = self._conn().execute(f"{rows.LINK_SELECT} WHERE l.link_id = ?", (link_id,)).fetchone()
        if row is None:
            raise NotFound(f"Scheduling link {link_id} does not exist.", link_id=link_id)
        return rows.to_link(row)

    def insert_link(self, link: Link, *, free_slug: bool) -> Link:
        """Store a new link; with `free_slug`, its slug gets the first free "-2", "-3"... suffix."""
        with self._write() as conn:
            self._require_host(conn, link.host.host_id)
            slug, n = link.slug, 1
            while free_slug and conn.execute("SELECT 1 FROM links WHERE slug = ?", (slug,)).fetchone():
                n += 1
                slug = f"{link.slug}-{n}"
            columns = rows.link_columns(link) | {"slug": slug}
            self._guard_slug(
                lambda: conn.execute(rows.insert_sql("links", columns), tuple(columns.values())), slug
            )
        return self.link(link.link_id)

    def modify_link(self, link_id: str, change: Callable[[Link], Link]) -> Link:
        """Read, change and write a link in one transaction; its meetings keep pointing at it."""
        with self._write() as conn:
            link = change(self.link(link_id))
            self._require_host(conn, link.host.host_id)
            columns = rows.link_columns(link)
            assignments = ", ".join(f"{name} = ?" for name in columns)
            sql = f"UPDATE links SET {assignments} WHERE link_id = ?"
            self._guard_slug(lambda: conn.execute(sql, (*columns.values(), link_id)), link.slug)
        return self.link(link_id)

    def _guard_slug(self, write: Callable[[], object], slug: str) -> None:
        try:
            write()
        except sqlite3.IntegrityError:
            raise InvalidArgument(f"The slug {slug!r} is already used by another link.") from None

    def working_hours(self, host_id: str) -> dict[int, list[Window]]:
        hours: dict[int, list[Window]] = {}
        for r in self._conn().execute("SELECT * FROM working_hours WHERE host_id = ?", (host_id,)):
            hours.setdefault(r["weekday"], []).append(
                (rows.wall_time(r["start_minute"]), rows.wall_time(r["end_minute"]))
            )
        return hours

    def set_working_hours(self, host_id: str, hours: Mapping[int, Sequence[Window]]) -> None:
        with self._write() as conn:
            self._require_host(conn, host_id)
            conn.execute("DELETE FROM working_hours WHERE host_id = ?", (host_id,))
            self._insert_hours(conn, host_id, hours)

    def _require_host(self, conn: sqlite3.Connection, host_id: str) -> None:
        if conn.execute("SELECT 1 FROM hosts WHERE host_id = ?", (host_id,)).fetchone() is None:
            raise NotFound(f"Host {host_id} does not exist.", host_id=host_id)

    def _insert_host(
        self, conn: sqlite3.Connection, host: Host, hours: Mapping[int, Sequence[Window]]
    ) -> None:
        conn.execute("INSERT INTO hosts VALUES (?, ?, ?)", (host.host_id, host.name, host.email))
        self._insert_hours(conn, host.host_id, hours)

    def _insert_hours(
        self, conn: sqlite3.Connection, host_id: str, hours: Mapping[int, Sequence[Window]]
    ) -> None:
        conn.executemany(
            "INSERT INTO working_hours VALUES (?, ?, ?, ?)",
            [
                (host_id, weekday, rows.minute_of_day(start), rows.minute_of_day(end, end=True))
                for weekday, windows in hours.items()
                for start, end in windows
            ],
        )

    # --- busy time and meetings -----------------------------------------------------------------

    def busy(
        self, host_id: str, lo: datetime, hi: datetime, *, ignore_meeting_id: str | None
    ) -> tuple[list[tuple[datetime, datetime, timedelta]], list[Interval]]:
        """The host's meetings with their link's buffer, and its imported busy times, near [lo, hi).

        A meeting is returned when, widened by its own link's buffer, it overlaps [lo, hi).
        """
        params = {
            "host": host_id,
            "ignore": ignore_meeting_id or "",
            "lo": ts(lo),
            "hi": ts(hi),
            "day": MAX_MEETING,
        }
        with self._read() as conn:
            meetings = conn.execute(_HOST_MEETINGS, params).fetchall()
            imported = conn.execute(
                "SELECT start_ts, end_ts FROM busy WHERE host_id = :host AND start_ts < :hi AND end_ts > :lo"
                + _IMPORTING,
                params,
            ).fetchall()
        return (
            [(rows.dt(s), rows.dt(e), timedelta(minutes=b)) for s, e, b in meetings],
            [(rows.dt(s), rows.dt(e)) for s, e in imported],
        )

    def _check_free(
        self,
        conn: sqlite3.Connection,
        *,
        host_id: str,
        start: datetime,
        end: datetime,
        buffer: int,
        ignore: str,
    ) -> None:
        params = {
            "host": host_id,
            "start": ts(start),
            "end": ts(end),
            "buf": buffer * 60,
            "ignore": ignore,
            "day": MAX_MEETING,
        }
        # Imported busy times get the slot's buffer too, as in find_slots: what it offers, book accepts.
        if (
            conn.execute(_MEETING_CONFLICT, params).fetchone()
            or conn.execute(_BUSY_CONFLICT, params).fetchone()
        ):
            raise SlotUnavailable("That time is no longer free.")

    def book(
        self,
        meeting: Meeting,
        *,
        buffer_minutes: int,
        meetings_limit: int | None,
        notify_at: datetime | None = None,
        told: Told = as_stored,
        receipt: Receipt | None = None,
    ) -> tuple[Meeting, Queued]:
        """Insert the meeting unless its link is inactive, the plan's limit is reached or its time collides.

        With `notify_at`, its invitations join the outbox; `told` says so on the meeting (given how
        many were queued); the `receipt` is checked first and kept last. All in one transaction:
        one durable commit. Returns the meeting as told and what was queued; raises `Repeated` when the receipt's key already holds a result.
        """
        with self._write() as conn:
            receipts.check_sqlite(conn, receipt)
            self._require_active_link(conn, meeting.link_id)
            if meetings_limit is not None:
                used = int(conn.execute(_COUNT_MEETINGS).fetchone()[0])
                if used >= meetings_limit:
                    raise PlanLimitReached(
                        f"The plan allows {meetings_limit} meetings and {used} are booked.",
                        next_step="Upgrade to a premium plan, or cancel a meeting first.",
                        limit=meetings_limit,
                        used=used,
                    )
            host = meeting.host.host_id
            self._check_free(
                conn, host_id=host, start=meeting.start, end=meeting.end, buffer=buffer_minutes, ignore=""
            )
            columns = rows.meeting_columns(meeting)
            conn.execute(rows.insert_sql("meetings", columns), tuple(columns.values()))
            exported = exports.enqueue(conn, meeting.meeting_id)
            queued = Queued(self._notify(conn, "booked", meeting.meeting_id, notify_at), exported)
            booked = told(self._meeting(conn, meeting.meeting_id), queued)
            receipts.keep_sqlite(conn, receipt, booked)
            return booked, queued

    def reschedule(
        self,
        meeting_id: str,
        *,
        link_id: str,
        start: datetime,
        end: datetime,
        notify_at: datetime | None = None,
    ) -> tuple[Meeting, Queued]:
        """Move the meeting (its SEQUENCE rises); with `notify_at`, queue the update. Returns it and
        how many invitations were queued."""
        with self._write() as conn:
            current = self._meeting(conn, meeting_id)
            if current.status == "cancelled":
                raise InvalidArgument(f"Meeting {meeting_id} is cancelled and cannot be rescheduled.")
            if link_id != current.link_id:
                raise InvalidSlot("The slot belongs to another scheduling link than the meeting.")
            self._require_active_link(conn, link_id)
            row = conn.execute("SELECT buffer_minutes FROM links WHERE link_id = ?", (link_id,)).fetchone()
            buffer = 0 if row is None else int(row[0])
            host = current.host.host_id
            self._check_free(conn, host_id=host, start=start, end=end, buffer=buffer, ignore=meeting_id)
            conn.execute(
                "UPDATE meetings SET start_ts = ?, end_ts = ?, sequence = sequence + 1 WHERE meeting_id = ?",
                (ts(start), ts(end), meeting_id),
            )
            exported = exports.enqueue(conn, meeting_id)
            queued = Queued(self._notify(conn, "rescheduled", meeting_id, notify_at), exported)
            return self._meeting(conn, meeting_id), queued

    def _require_active_link(self, conn: sqlite3.Connection, link_id: str) -> None:
        """Checked inside the write's transaction: a deactivation that committed first wins."""
        row = conn.execute(
            "SELECT name, active, redirect_url FROM links WHERE link_id = ?", (link_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"Scheduling link {link_id} does not exist.", link_id=link_id)
        if not row["active"]:
            raise LinkInactive(f"the scheduling link {row['name']!r} was just deactivated", link_id=link_id)

    def cancel(
        self, meeting_id: str, *, reason: str | None, notify_at: datetime | None = None
    ) -> tuple[Meeting, Queued | None]:
        """Cancel the meeting (its SEQUENCE rises); with `notify_at`, queue the cancellation. Returns
        it and how many invitations were queued (None: it was already cancelled, nothing changed)."""
        with self._write() as conn:
            current = self._meeting(conn, meeting_id)
            if current.status == "cancelled":
                return current, None
            conn.execute(
                "UPDATE meetings SET status = 'cancelled', cancel_reason = ?, sequence = sequence + 1"
                " WHERE meeting_id = ?",
                (reason, meeting_id),
            )
            exported = exports.enqueue(conn, meeting_id)
            queued = Queued(self._notify(conn, "cancelled", meeting_id, notify_at), exported)
            return self._meeting(conn, meeting_id), queued

    def _notify(
        self, conn: sqlite3.Connection, kind: NoticeKind, meeting_id: str, at: datetime | None
    ) -> int:
        """Queue the meeting's invitations in the open transaction (none without `at`)."""
        if at is None:
            return 0
        meeting = self._meeting(conn, meeting_id)
        sequence = int(
            conn.execute("SELECT sequence FROM meetings WHERE meeting_id = ?", (meeting_id,)).fetchone()[0]
        )
        host_row = conn.execute("SELECT * FROM hosts WHERE host_id = ?", (meeting.host.host_id,)).fetchone()
        business_row = conn.execute("SELECT name, time_zone FROM business").fetchone()
        notices = rows.invitations(
            kind, meeting, sequence=sequence, host_row=host_row, business_row=business_row
        )
        return outbox.enqueue(conn, notices, at)

    def meeting(self, meeting_id: str) -> Meeting:
        return self._meeting(self._conn(), meeting_id)

    def _meeting(self, conn: sqlite3.Connection, meeting_id: str) -> Meeting:
        row = conn.execute("SELECT * FROM meetings WHERE meeting_id = ?", (meeting_id,)).fetchone()
        if row is None:
            raise NotFound(f"Meeting {meeting_id} does not exist.", meeting_id=meeting_id)
        return rows.to_meeting(row, self._zone)

    def list_meetings(self, query: MeetingQuery, *, now: datetime) -> MeetingPage:
        sql, args = rows.meetings_select(query, now=now, mark="?")
        return rows.meeting_page(self._conn().execute(sql, args).fetchall(), query, self._zone)

    # --- video accounts -------------------------------------------------------------------------

    def video_accounts(self) -> list[VideoAccount]:
        found = self._conn().execute("SELECT * FROM video_accounts ORDER BY host_id").fetchall()
        return [rows.to_video_account(r) for r in found]

    def save_video_account(self, account: VideoAccount) -> None:
        with self._write() as conn:
            if account.host_id is not None:
                self._require_host(conn, account.host_id)
            conn.execute(
                "INSERT OR REPLACE INTO video_accounts VALUES (?, ?, ?, ?, ?)",
                (
                    account.host_id or "",
                    account.url,
                    account.password,
                    account.description,
                    account.unique_rooms,
                ),
            )

    def delete_video_account(self, host_id: str | None) -> VideoAccount | None:
        with self._write() as conn:
            key = host_id or ""
            row = conn.execute("SELECT * FROM video_accounts WHERE host_id = ?", (key,)).fetchone()
            conn.execute("DELETE FROM video_accounts WHERE host_id = ?", (key,))
        return None if row is None else rows.to_video_account(row)

    # --- calendar connections -------------------------------------------------------------------

    def save_connection(
        self,
        connection: CalendarConnection,
        *,
        ics_url: str,
        busy: Sequence[Interval],
        imported_at: datetime,
        host_limit: int | None = None,
        validators: Validators | None = None,
    ) -> CalendarConnection:
        """Store a connection and replace its busy times; the same host+provider+url keeps its id.

        With `host_limit`, more busy intervals than that for the host across all its calendars is
        refused (OutboundError too_large) and nothing changes.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT connection_id FROM calendar_connections WHERE host_id = ? AND provider = ? AND ics_url = ?",
                (connection.host_id, connection.provider, ics_url),
            ).fetchone()
            connection_id = connection.connection_id if row is None else str(row[0])
            if host_limit is not None:
                (others,) = conn.execute(
                    "SELECT COUNT(*) FROM busy WHERE host_id = ? AND connection_id != ?",
                    (connection.host_id, connection_id),
                ).fetchone()
                if others + len(busy) > host_limit:
                    raise OutboundError("too_large")
            conn.execute("DELETE FROM busy WHERE connection_id = ?", (connection_id,))
            conn.execute("DELETE FROM calendar_connections WHERE connection_id = ?", (connection_id,))
            columns = rows.connection_columns(
                connection, connection_id, ics_url=ics_url, imported_at=imported_at, validators=validators
            )
            conn.execute(rows.insert_sql("calendar_connections", columns), tuple(columns.values()))
            conn.executemany(
                "INSERT INTO busy VALUES (?, ?, ?, ?)",
                [(connection_id, connection.host_id, ts(s), ts(e)) for s, e in busy],
            )
        return connection.model_copy(update={"connection_id": connection_id, "busy_intervals": len(busy)})

    def mark_feed_error(self, *, host_id: str, provider: str, ics_url: str, reason: Reason) -> None:
        """A refresh of a connected feed failed: it turns `error` and keeps its busy times."""
        with self._write() as conn:
            conn.execute(
                "UPDATE calendar_connections SET status = 'error', error_reason = ?"
                " WHERE host_id = ? AND provider = ? AND ics_url = ? AND status != 'disconnected'",
                (reason, host_id, provider, ics_url),
            )

    def connections(self, host_id: str | None) -> list[CalendarConnection]:
        found = self._conn().execute(
            "SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id) AS busy_count"
            " FROM calendar_connections c WHERE ? IS NULL OR c.host_id = ? ORDER BY c.rowid",
            (host_id, host_id),
        )
        return [rows.to_connection(r) for r in found]

    def disconnect(self, connection_id: str) -> CalendarConnection:
        """Mark a connection disconnected and drop its imported busy times and stored credentials
        (a repeat changes nothing)."""
        with self._write() as conn:
            found = conn.execute(
                "SELECT 1 FROM calendar_connections WHERE connection_id = ?", (connection_id,)
            ).fetchone()
            if found is None:
                raise NotFound(
                    f"Calendar connection {connection_id} does not exist.", connection_id=connection_id
                )
            conn.execute("DELETE FROM busy WHERE connection_id = ?", (connection_id,))
            for table in DISCONNECT_DROPS:
                conn.execute(f"DELETE FROM {table} WHERE connection_id = ?", (connection_id,))
            conn.execute(
                "UPDATE calendar_connections SET status = 'disconnected', import_enabled = 0, export_enabled = 0,"
                " error_reason = NULL WHERE connection_id = ?",
                (connection_id,),
            )
            row = conn.execute(
                "SELECT c.*, 0 AS busy_count FROM calendar_connections c WHERE connection_id = ?",
                (connection_id,),
            ).fetchone()
        return rows.to_connection(row)
