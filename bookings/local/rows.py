"""The local engine's rows (SQLite's and PostgreSQL's alike) and the mapping to the domain types.

Times are UTC epoch seconds (read back in the business zone), durations whole minutes (NULL
where a policy limit is off), money decimal strings, tuples and notes JSON.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.model import (
    Attendee,
    Business,
    CalendarConnection,
    Host,
    Link,
    Location,
    Meeting,
    MeetingPage,
    MeetingQuery,
    Policy,
    Price,
    VideoAccount,
)
from wix_meetings_mcp.bookings.notices import Notice, NoticeKind, notices_for
from wix_meetings_mcp.bookings.outbound import Validators

MAX_MEETING = 86400  # seconds: a meeting lasts at most a day (a lower bound for start_ts scans)


class Row(Protocol):
    """A row read by column name: sqlite3.Row, or the dict psycopg's dict_row makes."""

    def __getitem__(self, key: str, /) -> Any: ...


LINK_SELECT = "SELECT l.*, h.name AS host_name, h.email AS host_email FROM links l JOIN hosts h ON h.host_id = l.host_id"


def insert_sql(table: str, columns: dict[str, object]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def ts(value: datetime) -> int:
    return int(value.timestamp())  # slots are whole minutes; sub-second parts are not kept


def dt(value: int, zone: tzinfo = UTC) -> datetime:
    return datetime.fromtimestamp(value, UTC).astimezone(zone)


def minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def delta(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def minute_of_day(value: time, *, end: bool = False) -> int:
    """Minutes since midnight; an end of 00:00 means the midnight that closes the day."""
    return 24 * 60 if end and value == time(0) else value.hour * 60 + value.minute


def wall_time(minute: int) -> time:
    return time(0) if minute == 24 * 60 else time(minute // 60, minute % 60)


def link_columns(link: Link) -> dict[str, object]:
    price, policy = link.price, link.policy
    return {
        "link_id": link.link_id,
        "host_id": link.host.host_id,
        "name": link.name,
        "slug": link.slug,
        "active": link.active,
        "redirect_url": link.redirect_url,
        "durations_minutes": json.dumps(list(link.durations_minutes)),
        "buffer_minutes": link.buffer_minutes,
        "location_kind": link.location.kind,
        "location_address": link.location.address,
        "price_amount": None if price is None else str(price.amount),
        "price_currency": None if price is None else price.currency,
        "price_deposit": None if price is None or price.deposit is None else str(price.deposit),
        "booking_url": link.booking_url,
        "requires_approval": link.requires_approval,
        "phone_only_allowed": link.phone_only_allowed,
        "cancellation_window_minutes": minutes(policy.cancellation_window),
        "min_notice_minutes": minutes(policy.min_notice),
        "max_advance_minutes": minutes(policy.max_advance),
    }


def to_link(r: Row) -> Link:
    """A row of LINK_SELECT."""
    price = None
    if r["price_amount"] is not None:
        deposit = None if r["price_deposit"] is None else Decimal(r["price_deposit"])
        price = Price(amount=Decimal(r["price_amount"]), currency=r["price_currency"], deposit=deposit)
    return Link(
        link_id=r["link_id"],
        name=r["name"],
        slug=r["slug"],
        active=bool(r["active"]),
        redirect_url=r["redirect_url"],
        durations_minutes=tuple(json.loads(r["durations_minutes"])),
        buffer_minutes=r["buffer_minutes"],
        location=Location(kind=r["location_kind"], address=r["location_address"]),
        price=price,
        host=Host(host_id=r["host_id"], name=r["host_name"], email=r["host_email"]),
        booking_url=r["booking_url"],
        requires_approval=bool(r["requires_approval"]),
        phone_only_allowed=bool(r["phone_only_allowed"]),
        policy=Policy(
            cancellation_window=delta(r["cancellation_window_minutes"]),
            min_notice=delta(r["min_notice_minutes"]),
            max_advance=delta(r["max_advance_minutes"]),
        ),
    )


def meeting_columns(m: Meeting) -> dict[str, object]:
    a = m.attendee
    return {
        "meeting_id": m.meeting_id,
        "link_id": m.link_id,
        "link_name": m.link_name,
        "host_id": m.host.host_id,
        "host_name": m.host.name,
        "host_email": m.host.email,
        "status": m.status,
        "start_ts": ts(m.start),
        "end_ts": ts(m.end),
        "location_kind": m.location.kind,
        "location_address": m.location.address,
        "location_password": m.location.password,
        "location_description": m.location.description,
        "attendee_name": a.name,
        "attendee_email": a.email,
        "attendee_phone": a.phone,
        "attendee_time_zone": a.time_zone,
        "attendee_language": a.language,
        "guest_emails": json.dumps(list(a.guest_emails)),
        "notes": json.dumps(m.notes),
        "invite_title": m.invite_title,
        "invite_description": m.invite_description,
        "join_url": m.join_url,
        "payment_url": m.payment_url,
        "cancel_reason": m.cancel_reason,
        "created_at": ts(m.created_at),
    }


def to_meeting(r: Row, zone: ZoneInfo) -> Meeting:
    return Meeting(
        meeting_id=r["meeting_id"],
        link_id=r["link_id"],
        link_name=r["link_name"],
        status=r["status"],
        start=dt(r["start_ts"], zone),
        end=dt(r["end_ts"], zone),
        attendee=Attendee(
            name=r["attendee_name"],
            email=r["attendee_email"],
            phone=r["attendee_phone"],
            time_zone=r["attendee_time_zone"],
            language=r["attendee_language"],
            guest_emails=tuple(json.loads(r["guest_emails"])),
        ),
        host=Host(host_id=r["host_id"], name=r["host_name"], email=r["host_email"]),
        location=Location(
            kind=r["location_kind"],
            address=r["location_address"],
            password=r["location_password"],
            description=r["location_description"],
        ),
        join_url=r["join_url"],
        payment_url=r["payment_url"],
        notes=json.loads(r["notes"]),
        invite_title=r["invite_title"],
        invite_description=r["invite_description"],
        created_at=dt(r["created_at"], zone),
        cancel_reason=r["cancel_reason"],
    )


def connection_columns(
    connection: CalendarConnection,
    connection_id: str,
    *,
    ics_url: str,
    imported_at: datetime,
    validators: Validators | None,
) -> dict[str, object]:
    """A calendar connection's row as it is first imported (its refresh counted from then)."""
    return {
        "connection_id": connection_id,
        "host_id": connection.host_id,
        "provider": connection.provider,
        "status": connection.status,
        "ics_url": ics_url,
        "import_enabled": connection.import_enabled,
        "export_enabled": connection.export_enabled,
        "imported_at": ts(imported_at),
        "account_email": connection.account_email,
        "refreshed_at": ts(imported_at),
        "etag": None if validators is None else validators.etag,
        "last_modified": None if validators is None else validators.last_modified,
    }


def to_connection(r: Row) -> CalendarConnection:
    """A calendar_connections row plus `busy_count`; the stored ics_url is deliberately not read."""
    return CalendarConnection(
        connection_id=r["connection_id"],
        host_id=r["host_id"],
        provider=r["provider"],
        status=r["status"],
        import_enabled=bool(r["import_enabled"]),
        export_enabled=bool(r["export_enabled"]),
        account_email=r["account_email"],
        busy_intervals=r["busy_count"],
        error_reason=r["error_reason"],
    )


def encode_cursor(start_ts: int, meeting_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([start_ts, meeting_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        start_ts, meeting_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(start_ts, int) or not 0 <= start_ts < 2**40 or not isinstance(meeting_id, str):
            raise ValueError("out of range")
        return start_ts, meeting_id[:64]
    except (ValueError, TypeError, OverflowError):
        raise InvalidArgument(
            "The cursor is malformed", next_step="Omit cursor to start from the first page."
        ) from None


def to_video_account(r: Row) -> VideoAccount:
    return VideoAccount(
        host_id=r["host_id"] or None,
        url=r["url"],
        password=r["password"],
        description=r["description"],
        unique_rooms=bool(r["unique_rooms"]),
    )


def meetings_select(query: MeetingQuery, *, now: datetime, mark: str) -> tuple[str, list[object]]:
    """list_meetings' statement and its arguments, one more than a page; `mark` is the dialect's
    parameter placeholder (`?` or `%s`)."""
    clauses: list[str] = ["TRUE"]
    args: list[object] = []
    for clause, value in (
        ("start_ts >= ?", None if query.start is None else ts(query.start)),
        ("start_ts < ?", None if query.end is None else ts(query.end)),
        ("link_id = ?", query.link_id),
        ("lower(attendee_email) = lower(?)", query.attendee_email),
    ):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    if query.status == "cancelled":
        clauses.append("status = 'cancelled'")
    elif query.status != "all":
        clauses.append(
            "status != 'cancelled' AND "
            + ("end_ts > ? AND start_ts > ?" if query.status == "upcoming" else "end_ts <= ?")
        )
        args.extend([ts(now), ts(now) - MAX_MEETING] if query.status == "upcoming" else [ts(now)])
    descending = query.status == "past"  # most recent first
    if query.cursor is not None:
        clauses.append(f"(start_ts, meeting_id) {'<' if descending else '>'} (?, ?)")
        args.extend(decode_cursor(query.cursor))
    order = "DESC" if descending else "ASC"
    sql = (
        f"SELECT * FROM meetings WHERE {' AND '.join(clauses)}"
        f" ORDER BY start_ts {order}, meeting_id {order} LIMIT ?"
    )
    return sql.replace("?", mark), [*args, query.limit + 1]


def meeting_page(found: list[Any], query: MeetingQuery, zone: ZoneInfo) -> MeetingPage:
    """The page from `meetings_select`'s rows (one past the page tells that another follows)."""
    page, more = found[: query.limit], len(found) > query.limit
    cursor = encode_cursor(page[-1]["start_ts"], page[-1]["meeting_id"]) if more else None
    return MeetingPage(meetings=tuple(to_meeting(r, zone) for r in page), next_cursor=cursor)


def invitations(
    kind: NoticeKind, meeting: Meeting, *, sequence: int, host_row: Row | None, business_row: Row
) -> list[Notice]:
    """A write's invitations from the rows it read in its transaction: the host as it is now (its
    email may be newer than the meeting's copy) and the business."""
    host = (
        meeting.host
        if host_row is None
        else Host(host_id=host_row["host_id"], name=host_row["name"], email=host_row["email"])
    )
    business = Business(name=business_row["name"], time_zone=business_row["time_zone"])
    return notices_for(kind, meeting, host=host, business=business, sequence=sequence)
