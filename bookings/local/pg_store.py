"""PostgreSQL store of the local engine: the same operations as the SQLite `Store`, for several replicas.

Blocking calls on a `psycopg_pool.ConnectionPool`; the backend runs them in worker threads, as with
SQLite. Writes run at READ COMMITTED and take row locks in one global order (the live-meeting
counter, then the link, then the host, then the meeting), so concurrent writers on any replica
queue instead of deadlocking; a deadlock or serialization failure that happens anyway is retried
a bounded number of times. The invariants hold in the database itself:
- a booking or a move locks its host's row (`FOR NO KEY UPDATE`) before the buffer-aware conflict
  check, so two writers for one host take turns and the second sees the first's meeting; the
  exclusion constraint `meetings_no_overlap` backs this up (a violation is `SlotUnavailable`);
- a booking on a limited plan locks the counter row (`SELECT ... FOR UPDATE`) before it counts.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings import postgres, receipts
from wix_meetings_mcp.bookings.errors import (
    BackendUnavailable,
    InvalidArgument,
    InvalidSlot,
    LinkInactive,
    NotFound,
    PlanLimitReached,
    SlotUnavailable,
)
from wix_meetings_mcp.bookings.local import pg_exports, pg_schema, rows
from wix_meetings_mcp.bookings.local.rows import MAX_MEETING, ts
from wix_meetings_mcp.bookings.local.slots import Interval, Window
from wix_meetings_mcp.bookings.local.storage import DISCONNECT_DROPS, Queued, Told, as_stored
from wix_meetings_mcp.bookings.local.store import DEFAULT_BUSINESS_NAME
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

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    Conn = psycopg.Connection[dict[str, Any]]

T = TypeVar("T")

RETRIES = 5  # attempts of a write that hit a deadlock or serialization failure
POOL_SIZE = 10  # connections per process; anyio runs at most 40 worker threads
# Provisioning a fresh database: one arbitrary key among the advisory locks, beside the migrations'.
_PROVISION_LOCK = 0x6D656574696E6770

# --- SQL (PostgreSQL dialect; store.py holds SQLite's) ------------------------------------------

_MAX_BUFFER = "(SELECT COALESCE(MAX(buffer_minutes), 0) * 60 FROM links)"
# As store.py's _MEETING_CONFLICT: a meeting of the host collides with [start, end) widened by the
# larger of the new slot's buffer and its own link's; the first range terms let the index narrow.
_MEETING_CONFLICT = f"""
    SELECT 1 FROM meetings m LEFT JOIN links l ON l.link_id = m.link_id
    WHERE m.host_id = %(host)s AND m.status != 'cancelled' AND m.meeting_id != %(ignore)s
      AND m.start_ts < %(end)s + {_MAX_BUFFER} + %(buf)s
      AND m.start_ts > %(start)s - %(day)s - {_MAX_BUFFER} - %(buf)s
      AND m.end_ts > %(start)s - {_MAX_BUFFER} - %(buf)s
      AND m.start_ts - GREATEST(%(buf)s, COALESCE(l.buffer_minutes, 0) * 60) < %(end)s
      AND m.end_ts + GREATEST(%(buf)s, COALESCE(l.buffer_minutes, 0) * 60) > %(start)s
    LIMIT 1"""
# As store.py's _IMPORTING: busy times of a calendar whose import is off are kept but block nothing.
_IMPORTING = " AND connection_id IN (SELECT connection_id FROM calendar_connections WHERE import_enabled)"
_BUSY_CONFLICT = f"""SELECT 1 FROM busy WHERE host_id = %(host)s
    AND start_ts < %(end)s + %(buf)s AND end_ts > %(start)s - %(buf)s{_IMPORTING} LIMIT 1"""
_HOST_MEETINGS = f"""
    SELECT m.start_ts, m.end_ts, COALESCE(l.buffer_minutes, 0) AS buffer_minutes
    FROM meetings m LEFT JOIN links l ON l.link_id = m.link_id
    WHERE m.host_id = %(host)s AND m.status != 'cancelled' AND m.meeting_id != %(ignore)s
      AND m.start_ts < %(hi)s + {_MAX_BUFFER}
      AND m.start_ts > %(lo)s - %(day)s - {_MAX_BUFFER}
      AND m.start_ts - COALESCE(l.buffer_minutes, 0) * 60 < %(hi)s
      AND m.end_ts + COALESCE(l.buffer_minutes, 0) * 60 > %(lo)s"""
_HOST_BUSY = (
    "SELECT start_ts, end_ts FROM busy WHERE host_id = %(host)s AND start_ts < %(hi)s AND end_ts > %(lo)s"
    + _IMPORTING
)
_COUNT_MEETINGS = "SELECT live FROM meeting_count"
_LOCK_COUNT = "SELECT live FROM meeting_count FOR UPDATE"
_LOCK_HOST = "SELECT 1 FROM hosts WHERE host_id = %s FOR NO KEY UPDATE"
_LOCK_LINK = "SELECT name, active, buffer_minutes FROM links WHERE link_id = %s FOR SHARE"
_LINK_SELECT = rows.LINK_SELECT
_HOSTS = "SELECT host_id, name, email FROM hosts ORDER BY seq"
_CONNECTIONS = """SELECT c.*, (SELECT COUNT(*) FROM busy b WHERE b.connection_id = c.connection_id) AS busy_count
    FROM calendar_connections c WHERE %(host)s::text IS NULL OR c.host_id = %(host)s ORDER BY c.seq"""
_ENQUEUE = """INSERT INTO outbox (message_key, meeting_id, payload, created_at, next_attempt_at)
    VALUES (%s, %s, %s, %s, %s)"""


def _insert(table: str, columns: Mapping[str, object]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"


class PgStore:
    """One PostgreSQL database; safe to share between threads, processes and machines."""

    inline_reads = False  # a query is a network round trip: never on the event loop

    def __init__(self, url: str, zone: ZoneInfo, *, pool_size: int = POOL_SIZE) -> None:
        self._url = url
        self.database = url
        self._zone = zone
        self._pool_size = pool_size
        self._pool: ConnectionPool[Conn] | None = None
        self._opening = threading.Lock()  # worker threads may make the first call together
        # The connection of the write transaction this thread is in: a read made inside a write
        # (a link change reading the hosts) joins it, as on SQLite, instead of taking a second one.
        self._local = threading.local()

    def _open_pool(self) -> ConnectionPool[Conn]:
        with self._opening:
            return self._pool or self._start_pool()

    def _start_pool(self) -> ConnectionPool[Conn]:
        if self._pool is None:
            try:
                from psycopg.rows import dict_row
                from psycopg_pool import ConnectionPool
            except ImportError:  # pragma: no cover - the extra is part of the dev install
                raise RuntimeError(
                    "MEETINGS_DB is a PostgreSQL URL but psycopg is not installed: "
                    "pip install 'wix-meetings-mcp[postgres]'"
                ) from None
            pool: ConnectionPool[Conn] = ConnectionPool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                kwargs={"autocommit": True, "row_factory": dict_row},
                open=False,
            )
            try:
                pool.open(wait=True, timeout=15)
            except BaseException:
                pool.close()  # its worker threads would outlive the failed start otherwise
                raise
            self._pool = pool
        return self._pool

    def _read(self, work: Callable[[Conn], T]) -> T:
        """Several SELECTs on one snapshot (a read-only REPEATABLE READ transaction)."""
        import psycopg

        current: Conn | None = getattr(self._local, "conn", None)
        if current is not None:
            return work(current)
        try:
            with self._open_pool().connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                return work(conn)
        except psycopg.OperationalError as exc:
            raise _unavailable() from exc

    def _write(self, work: Callable[[Conn], T]) -> T:
        """`work` in one transaction, run again (up to RETRIES) on a deadlock or serialization failure."""
        import psycopg
        from psycopg import errors
        from psycopg_pool import PoolTimeout

        for attempt in range(1, RETRIES + 1):
            try:
                with self._open_pool().connection() as conn, conn.transaction():
                    self._local.conn = conn
                    try:
                        return work(conn)
                    finally:
                        self._local.conn = None
            except (errors.SerializationFailure, errors.DeadlockDetected):
                if attempt == RETRIES:
                    raise _unavailable() from None
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise _unavailable() from exc
        raise AssertionError("unreachable")

    def _one(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> dict[str, Any] | None:
        return self._read(lambda conn: conn.execute(sql.encode(), params).fetchone())

    def _all(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> list[dict[str, Any]]:
        return self._read(lambda conn: conn.execute(sql.encode(), params).fetchall())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

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
        """Migrate and, on a fresh database, provision it; as `Store.initialize`, under an advisory
        lock so replicas starting together on one fresh database provision it once."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with postgres.connect(self._url) as conn:
                postgres.migrate(conn, pg_schema.COMPONENT, pg_schema.MIGRATIONS)
            self._open_pool()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise _unavailable() from exc

        def provision(conn: Conn) -> str:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PROVISION_LOCK,))
            row = conn.execute("SELECT time_zone FROM business").fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE business SET name = COALESCE(%s, name), time_zone = COALESCE(%s, time_zone), plan = %s",
                    (business_name, time_zone, plan),
                )
                zone = time_zone or str(row["time_zone"])
            else:
                zone = time_zone or fresh_time_zone
                conn.execute(
                    "INSERT INTO business VALUES (1, %s, %s, %s)",
                    (business_name or DEFAULT_BUSINESS_NAME, zone, plan),
                )
                self._insert_host(conn, link.host, hours)
                columns = rows.link_columns(link)
                conn.execute(_insert("links", columns).encode(), tuple(columns.values()))
            conn.execute(
                "UPDATE hosts SET name = COALESCE(%s, name), email = COALESCE(%s, email)"
                " WHERE host_id = (SELECT host_id FROM hosts ORDER BY seq LIMIT 1)",
                (host_name, host_email),
            )
            return zone

        zone = self._write(provision)
        self._zone = ZoneInfo(zone)
        return zone

    # --- business, hosts, links, hours --------------------------------------------------------

    def business_name(self) -> str:
        row = self._one("SELECT name FROM business")
        assert row is not None  # provisioned by initialize
        return str(row["name"])

    def count_meetings(self) -> int:
        row = self._one(_COUNT_MEETINGS)
        assert row is not None
        return int(row["live"])

    def hosts(self) -> list[Host]:
        return [Host(host_id=r["host_id"], name=r["name"], email=r["email"]) for r in self._all(_HOSTS)]

    def add_host(self, host: Host, hours: Mapping[int, Sequence[Window]]) -> None:
        self._write(lambda conn: self._insert_host(conn, host, hours))

    def set_host_email(self, host_id: str, email: str) -> Host:
        def change(conn: Conn) -> Host:
            self._require_host(conn, host_id)
            row = conn.execute(
                "UPDATE hosts SET email = %s WHERE host_id = %s RETURNING host_id, name, email",
                (email, host_id),
            ).fetchone()
            assert row is not None
            return Host(host_id=row["host_id"], name=row["name"], email=row["email"])

        return self._write(change)

    def links(self, *, include_inactive: bool) -> list[Link]:
        where = "" if include_inactive else "WHERE l.active"
        return [rows.to_link(r) for r in self._all(f"{_LINK_SELECT} {where} ORDER BY l.seq")]

    def link(self, link_id: str) -> Link:
        return self._read(lambda conn: self._link(conn, link_id))

    def _link(self, conn: Conn, link_id: str) -> Link:
        row = conn.execute(f"{_LINK_SELECT} WHERE l.link_id = %s".encode(), (link_id,)).fetchone()
        if row is None:
            raise NotFound(f"Scheduling link {link_id} does not exist.", link_id=link_id)
        return rows.to_link(row)

    def insert_link(self, link: Link, *, free_slug: bool) -> Link:
        """Store a new link; with `free_slug`, its slug gets the first free "-2", "-3"... suffix."""

        def insert(conn: Conn) -> Link:
            self._require_host(conn, link.host.host_id)
            slug, n = link.slug, 1
            while free_slug and conn.execute("SELECT 1 FROM links WHERE slug = %s", (slug,)).fetchone():
                n += 1
                slug = f"{link.slug}-{n}"
            columns = rows.link_columns(link) | {"slug": slug}
            with _slug_guard(slug):
                conn.execute(_insert("links", columns).encode(), tuple(columns.values()))
            return self._link(conn, link.link_id)

        return self._write(insert)

    def modify_link(self, link_id: str, change: Callable[[Link], Link]) -> Link:
        """Read, change and write a link in one transaction (its row locked); meetings keep pointing at it."""

        def modify(conn: Conn) -> Link:
            if (
                conn.execute("SELECT 1 FROM links WHERE link_id = %s FOR UPDATE", (link_id,)).fetchone()
                is None
            ):
                raise NotFound(f"Scheduling link {link_id} does not exist.", link_id=link_id)
            link = change(self._link(conn, link_id))
            self._require_host(conn, link.host.host_id)
            columns = rows.link_columns(link)
            assignments = ", ".join(f"{name} = %s" for name in columns)
            with _slug_guard(link.slug):
                conn.execute(
                    f"UPDATE links SET {assignments} WHERE link_id = %s".encode(),
                    (*columns.values(), link_id),
                )
            return self._link(conn, link_id)

        return self._write(modify)

    def working_hours(self, host_id: str) -> dict[int, list[Window]]:
        hours: dict[int, list[Window]] = {}
        found = self._all("SELECT * FROM working_hours WHERE host_id = %s", (host_id,))
        for r in found:
            hours.setdefault(r["weekday"], []).append(
                (rows.wall_time(r["start_minute"]), rows.wall_time(r["end_minute"]))
            )
        return hours

    def set_working_hours(self, host_id: str, hours: Mapping[int, Sequence[Window]]) -> None:
        def replace(conn: Conn) -> None:
            self._require_host(conn, host_id)
            conn.execute("DELETE FROM working_hours WHERE host_id = %s", (host_id,))
            self._insert_hours(conn, host_id, hours)

        self._write(replace)

    def _require_host(self, conn: Conn, host_id: str) -> None:
        if conn.execute("SELECT 1 FROM hosts WHERE host_id = %s", (host_id,)).fetchone() is None:
            raise NotFound(f"Host {host_id} does not exist.", host_id=host_id)

    def _insert_host(self, conn: Conn, host: Host, hours: Mapping[int, Sequence[Window]]) -> None:
        conn.execute(
            "INSERT INTO hosts (host_id, name, email) VALUES (%s, %s, %s)",
            (host.host_id, host.name, host.email),
        )
        self._insert_hours(conn, host.host_id, hours)

    def _insert_hours(self, conn: Conn, host_id: str, hours: Mapping[int, Sequence[Window]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO working_hours VALUES (%s, %s, %s, %s)",
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
        """As `Store.busy`: the host's meetings with their link's buffer, and its imported busy times."""
        params = {
            "host": host_id,
            "ignore": ignore_meeting_id or "",
            "lo": ts(lo),
            "hi": ts(hi),
            "day": MAX_MEETING,
        }

        def read(conn: Conn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            return (
                conn.execute(_HOST_MEETINGS.encode(), params).fetchall(),
                conn.execute(_HOST_BUSY.encode(), params).fetchall(),
            )

        meetings, imported = self._read(read)
        return (
            [
                (rows.dt(r["start_ts"]), rows.dt(r["end_ts"]), timedelta(minutes=r["buffer_minutes"]))
                for r in meetings
            ],
            [(rows.dt(r["start_ts"]), rows.dt(r["end_ts"])) for r in imported],
        )

    def _check_free(
        self, conn: Conn, *, host_id: str, start: datetime, end: datetime, buffer: int, ignore: str
    ) -> None:
        """Run with the host's row locked, so no other writer for this host is between check and write."""
        params = {
            "host": host_id,
            "start": ts(start),
            "end": ts(end),
            "buf": buffer * 60,
            "ignore": ignore,
            "day": MAX_MEETING,
        }
        if (
            conn.execute(_MEETING_CONFLICT.encode(), params).fetchone()
            or conn.execute(_BUSY_CONFLICT.encode(), params).fetchone()
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
        """As `Store.book`; the key is claimed first and the plan limit counted under the counter
        row's lock."""

        def book(conn: Conn) -> tuple[Meeting, Queued]:
            receipts.check_pg(conn, receipt)
            if meetings_limit is not None:
                row = conn.execute(_LOCK_COUNT).fetchone()
                used = 0 if row is None else int(row["live"])
                if used >= meetings_limit:
                    raise PlanLimitReached(
                        f"The plan allows {meetings_limit} meetings and {used} are booked.",
                        next_step="Upgrade to a premium plan, or cancel a meeting first.",
                        limit=meetings_limit,
                        used=used,
                    )
            self._require_active_link(conn, meeting.link_id)
            host = meeting.host.host_id
            conn.execute(_LOCK_HOST, (host,))
            self._check_free(
                conn, host_id=host, start=meeting.start, end=meeting.end, buffer=buffer_minutes, ignore=""
            )
            columns = rows.meeting_columns(meeting)
            with _overlap_guard():
                conn.execute(_insert("meetings", columns).encode(), tuple(columns.values()))
            exported = pg_exports.enqueue(conn, meeting.meeting_id)
            queued = Queued(self._notify(conn, "booked", meeting.meeting_id, notify_at), exported)
            booked = told(self._meeting(conn, meeting.meeting_id), queued)
            receipts.keep_pg(conn, receipt, booked)
            return booked, queued

        return self._write(book)

    def reschedule(
        self,
        meeting_id: str,
        *,
        link_id: str,
        start: datetime,
        end: datetime,
        notify_at: datetime | None = None,
    ) -> tuple[Meeting, Queued]:
        """As `Store.reschedule`: link, host and meeting locked in that order before the check."""

        def move(conn: Conn) -> tuple[Meeting, Queued]:
            current = self._movable(conn, meeting_id, link_id)
            buffer = self._require_active_link(conn, link_id)
            conn.execute(_LOCK_HOST, (current.host.host_id,))
            conn.execute("SELECT 1 FROM meetings WHERE meeting_id = %s FOR UPDATE", (meeting_id,))
            self._movable(conn, meeting_id, link_id)  # again, locked: a cancellation may have won
            self._check_free(
                conn, host_id=current.host.host_id, start=start, end=end, buffer=buffer, ignore=meeting_id
            )
            with _overlap_guard():
                conn.execute(
                    "UPDATE meetings SET start_ts = %s, end_ts = %s, sequence = sequence + 1 WHERE meeting_id = %s",
                    (ts(start), ts(end), meeting_id),
                )
            exported = pg_exports.enqueue(conn, meeting_id)
            queued = Queued(self._notify(conn, "rescheduled", meeting_id, notify_at), exported)
            return self._meeting(conn, meeting_id), queued

        return self._write(move)

    def _movable(self, conn: Conn, meeting_id: str, link_id: str) -> Meeting:
        current = self._meeting(conn, meeting_id)
        if current.status == "cancelled":
            raise InvalidArgument(f"Meeting {meeting_id} is cancelled and cannot be rescheduled.")
        if link_id != current.link_id:
            raise InvalidSlot("The slot belongs to another scheduling link than the meeting.")
        return current

    def _require_active_link(self, conn: Conn, link_id: str) -> int:
        """Locks the link's row (FOR SHARE): a deactivation that committed first wins. Returns its buffer."""
        row = conn.execute(_LOCK_LINK, (link_id,)).fetchone()
        if row is None:
            raise NotFound(f"Scheduling link {link_id} does not exist.", link_id=link_id)
        if not row["active"]:
            raise LinkInactive(f"the scheduling link {row['name']!r} was just deactivated", link_id=link_id)
        return int(row["buffer_minutes"])

    def cancel(
        self, meeting_id: str, *, reason: str | None, notify_at: datetime | None = None
    ) -> tuple[Meeting, Queued | None]:
        """As `Store.cancel`; the counter row is locked first, as a booking does."""

        def cancel(conn: Conn) -> tuple[Meeting, Queued | None]:
            self._meeting(conn, meeting_id)  # NotFound before any lock
            conn.execute(_LOCK_COUNT)
            conn.execute("SELECT 1 FROM meetings WHERE meeting_id = %s FOR UPDATE", (meeting_id,))
            current = self._meeting(conn, meeting_id)
            if current.status == "cancelled":
                return current, None
            conn.execute(
                "UPDATE meetings SET status = 'cancelled', cancel_reason = %s, sequence = sequence + 1"
                " WHERE meeting_id = %s",
                (reason, meeting_id),
            )
            exported = pg_exports.enqueue(conn, meeting_id)
            queued = Queued(self._notify(conn, "cancelled", meeting_id, notify_at), exported)
            return self._meeting(conn, meeting_id), queued

        return self._write(cancel)

    def _notify(self, conn: Conn, kind: NoticeKind, meeting_id: str, at: datetime | None) -> int:
        """Queue the meeting's invitations in the open transaction (none without `at`)."""
        if at is None:
            return 0
        meeting = self._meeting(conn, meeting_id)
        seq = conn.execute("SELECT sequence FROM meetings WHERE meeting_id = %s", (meeting_id,)).fetchone()
        host_row = conn.execute("SELECT * FROM hosts WHERE host_id = %s", (meeting.host.host_id,)).fetchone()
        business_row = conn.execute("SELECT name, time_zone FROM business").fetchone()
        assert seq is not None and business_row is not None
        notices = rows.invitations(
            kind, meeting, sequence=int(seq["sequence"]), host_row=host_row, business_row=business_row
        )
        stamp = at.timestamp()
        with conn.cursor() as cur:
            cur.executemany(
                _ENQUEUE,
                [
                    (uuid.uuid4().hex, n.meeting.meeting_id, n.model_dump_json(), stamp, stamp)
                    for n in notices
                ],
            )
        return len(notices)

    def meeting(self, meeting_id: str) -> Meeting:
        return self._read(lambda conn: self._meeting(conn, meeting_id))

    def _meeting(self, conn: Conn, meeting_id: str) -> Meeting:
        row = conn.execute("SELECT * FROM meetings WHERE meeting_id = %s", (meeting_id,)).fetchone()
        if row is None:
            raise NotFound(f"Meeting {meeting_id} does not exist.", meeting_id=meeting_id)
        return rows.to_meeting(row, self._zone)

    def list_meetings(self, query: MeetingQuery, *, now: datetime) -> MeetingPage:
        sql, args = rows.meetings_select(query, now=now, mark="%s")
        return rows.meeting_page(self._all(sql, args), query, self._zone)

    # --- video accounts -------------------------------------------------------------------------

    def video_accounts(self) -> list[VideoAccount]:
        return [rows.to_video_account(r) for r in self._all("SELECT * FROM video_accounts ORDER BY host_id")]

    def save_video_account(self, account: VideoAccount) -> None:
        def save(conn: Conn) -> None:
            if account.host_id is not None:
                self._require_host(conn, account.host_id)
            conn.execute(
                "INSERT INTO video_accounts VALUES (%s, %s, %s, %s, %s) ON CONFLICT (host_id) DO UPDATE SET"
                " url = EXCLUDED.url, password = EXCLUDED.password, description = EXCLUDED.description,"
                " unique_rooms = EXCLUDED.unique_rooms",
                (
                    account.host_id or "",
                    account.url,
                    account.password,
                    account.description,
                    account.unique_rooms,
                ),
            )

        self._write(save)

    def delete_video_account(self, host_id: str | None) -> VideoAccount | None:
        row = self._write(
            lambda conn: conn.execute(
                "DELETE FROM video_accounts WHERE host_id = %s RETURNING *", (host_id or "",)
            ).fetchone()
        )
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
        """As `Store.save_connection`; the host's row is locked so its busy-time cap holds across replicas."""

        def save(conn: Conn) -> str:
            conn.execute(_LOCK_HOST, (connection.host_id,))
            row = conn.execute(
                "SELECT connection_id FROM calendar_connections WHERE host_id = %s AND provider = %s AND ics_url = %s",
                (connection.host_id, connection.provider, ics_url),
            ).fetchone()
            connection_id = connection.connection_id if row is None else str(row["connection_id"])
            if host_limit is not None:
                others = conn.execute(
                    "SELECT COUNT(*) AS n FROM busy WHERE host_id = %s AND connection_id != %s",
                    (connection.host_id, connection_id),
                ).fetchone()
                if others is not None and int(others["n"]) + len(busy) > host_limit:
                    raise OutboundError("too_large")
            conn.execute("DELETE FROM busy WHERE connection_id = %s", (connection_id,))
            conn.execute("DELETE FROM calendar_connections WHERE connection_id = %s", (connection_id,))
            columns = rows.connection_columns(
                connection, connection_id, ics_url=ics_url, imported_at=imported_at, validators=validators
            )
            conn.execute(_insert("calendar_connections", columns).encode(), tuple(columns.values()))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO busy VALUES (%s, %s, %s, %s)",
                    [(connection_id, connection.host_id, ts(s), ts(e)) for s, e in busy],
                )
            return connection_id

        connection_id = self._write(save)
        return connection.model_copy(update={"connection_id": connection_id, "busy_intervals": len(busy)})

    def mark_feed_error(self, *, host_id: str, provider: str, ics_url: str, reason: Reason) -> None:
        """A refresh of a connected feed failed: it turns `error` and keeps its busy times."""
        self._write(
            lambda conn: conn.execute(
                "UPDATE calendar_connections SET status = 'error', error_reason = %s"
                " WHERE host_id = %s AND provider = %s AND ics_url = %s AND status != 'disconnected'",
                (reason, host_id, provider, ics_url),
            )
        )

    def connections(self, host_id: str | None) -> list[CalendarConnection]:
        return [rows.to_connection(r) for r in self._all(_CONNECTIONS, {"host": host_id})]

    def disconnect(self, connection_id: str) -> CalendarConnection:
        """Mark a connection disconnected and drop its imported busy times and stored credentials
        (a repeat changes nothing)."""

        def disconnect(conn: Conn) -> CalendarConnection:
            conn.execute("DELETE FROM busy WHERE connection_id = %s", (connection_id,))
            for table in DISCONNECT_DROPS:
                conn.execute(f"DELETE FROM {table} WHERE connection_id = %s".encode(), (connection_id,))
            row = conn.execute(
                "UPDATE calendar_connections SET status = 'disconnected', import_enabled = FALSE,"
                " export_enabled = FALSE, error_reason = NULL WHERE connection_id = %s"
                " RETURNING *, 0 AS busy_count",
                (connection_id,),
            ).fetchone()
            if row is None:
                raise NotFound(
                    f"Calendar connection {connection_id} does not exist.", connection_id=connection_id
                )
            return rows.to_connection(row)

        return self._write(disconnect)


def _unavailable() -> BackendUnavailable:
    return BackendUnavailable(
        "the database cannot be reached or stayed contended", next_step="Retry shortly."
    )


@contextmanager
def _slug_guard(slug: str) -> Iterator[None]:
    """A unique-slug violation is the caller's InvalidArgument, as on SQLite."""
    from psycopg import errors

    try:
        yield
    except errors.UniqueViolation:
        raise InvalidArgument(f"The slug {slug!r} is already used by another link.") from None


@contextmanager
def _overlap_guard() -> Iterator[None]:
    """The exclusion constraint refused an overlapping active meeting: that time is taken."""
    from psycopg import errors

    try:
        yield
    except errors.ExclusionViolation:
        raise SlotUnavailable("That time is no longer free.") from None
