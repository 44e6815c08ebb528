"""MeetergoBackend: the Backend port on the meetergo REST API v4.

Links are meeting types, slots come from booking availability, meetings are appointments (or,
while a double opt-in / host confirmation is outstanding, provisional bookings). Calls go through
MeetergoClient; reads and caches live in _catalog, payloads in _payloads, mapping in _mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from wix_meetings_mcp.bookings.errors import (
    BookingError,
    InvalidArgument,
    LinkInactive,
    NotFound,
    NotSupported,
    WriteOutcomeUnknown,
)
from wix_meetings_mcp.bookings.meetergo import _booking as booking
from wix_meetings_mcp.bookings.meetergo import _mapping as mapping
from wix_meetings_mcp.bookings.meetergo._catalog import PAGE_SIZE, Catalog
from wix_meetings_mcp.bookings.meetergo._payloads import (
    Appointment,
    AuthUrl,
    BookingResult,
    CancelBody,
    Connections,
    DeclineBody,
    MeetingType,
    RescheduleBody,
    parse,
)
from wix_meetings_mcp.bookings.meetergo.client import MeetergoClient
from wix_meetings_mcp.bookings.model import (
    Account,
    BookingRequest,
    Business,
    CalendarConnection,
    ConnectCalendarRequest,
    ConnectCalendarResult,
    Features,
    Link,
    Meeting,
    MeetingPage,
    MeetingQuery,
    Plan,
    Slot,
)
from wix_meetings_mcp.bookings.receipts import Receipt
from wix_meetings_mcp.bookings.records import MemoryRecords, Records

PROVISIONAL_PREFIX = "provisional:"
LINK_MAX_AGE = timedelta(minutes=1)


class _Pending(BaseModel):
    """A provisional booking made through this server: the API offers no read of one by id, so it
    is kept in the shared records (any process on the database can answer for it)."""

    meeting: Meeting
    request: BookingRequest


_PENDING = "meetergo.pending"


class MeetergoBackend:
    """The Backend port for one meetergo user (the token owner, or MEETERGO_USER_ID)."""

    def __init__(
        self,
        *,
        client: MeetergoClient,
        clock: Callable[[], datetime],
        time_zone: str,
        premium: bool = True,
        records: Records | None = None,
    ) -> None:
        try:
            self._tz = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {time_zone!r}") from exc
        self._client = client
        self._clock = clock
        self._time_zone = time_zone
        # The API exposes no subscription. API access itself needs a paid plan (Essentials+ for a
        # personal token, Enterprise for platform keys), hence the default.
        self._premium = premium
        self._catalog = Catalog(client=client, clock=clock, time_zone=time_zone)
        self._records: Records = records if records is not None else MemoryRecords()

    @property
    def name(self) -> str:
        return "meetergo"

    @property
    def admin(self) -> None:
        """Set-up stays in meetergo's own app: the adapter offers no Admin operations."""
        return None

    # --- account and links ---------------------------------------------------------------------

    async def get_account(self) -> Account:
        me = await self._catalog.user()
        page = await self._catalog.appointments({"page": "0", "pageSize": str(PAGE_SIZE)})
        if page.total is None or page.total <= len(page.appointments):
            used = sum(1 for a in page.appointments if not a.cancelled)
        else:
            # Counting exactly costs one call per 50 appointments of a 100/min budget, and meetergo
            # sets no meeting cap: the total (cancelled included) is reported as an upper bound.
            used = page.total
        return Account(
            backend=self.name,
            business=Business(name=mapping.user_name(me), time_zone=self._time_zone),
            plan=Plan(
                name="premium" if self._premium else "free", premium=self._premium, meetings_limit=None
            ),
            features=Features(external_calendars=True, video_conferencing=True, paid_meetings=False),
            meetings_used=used,
        )

    async def list_links(self, *, include_inactive: bool = False) -> list[Link]:
        items = await self._catalog.meeting_types()
        me = await self._catalog.user()
        links: list[Link] = []
        for item in items:
            if item.complete:
                self._catalog.remember(item)
                detail = item
            else:
                try:
                    detail = await self._catalog.meeting_type(item.id, fresh=True)
                except NotFound:
                    continue  # deleted between the two calls
            link = mapping.link_from(detail, booking_url=item.booking_url, me=me)
            if include_inactive or link.active:
                links.append(link)
        return links

    async def get_link(self, link_id: str) -> Link:
        # A minute-old meeting type is fresh enough to offer slots; meetergo itself refuses a
        # booking on a type disabled meanwhile. This keeps a warm find_slots at one call.
        return await self._link(await self._catalog.meeting_type(link_id, max_age=LINK_MAX_AGE))

    async def set_link_active(self, link_id: str, *, active: bool, redirect_url: str | None = None) -> Link:
        if redirect_url is not None:
            raise NotSupported(
                "meetergo has no redirect for a disabled meeting type",
                next_step="Call again without redirect_url.",
            )
        try:
            data: object = await self._client.patch(f"/v4/meeting-type/{link_id}", {"enabled": active})
        except WriteOutcomeUnknown:
            current = await self._catalog.meeting_type(link_id, fresh=True)
            if current.enabled is not active:
                raise
            data = None
        try:
            updated: MeetingType | None = MeetingType.model_validate(data)
        except ValueError:
            updated = None
        if updated is None or not updated.complete or updated.enabled is not active:
            # The PATCH response is undocumented: read the type back.
            updated = await self._catalog.meeting_type(link_id, fresh=True)
        else:
            self._catalog.remember(updated)
        return await self._link(updated)

    async def _link(self, meeting_type: MeetingType) -> Link:
        url = await self._catalog.booking_url(meeting_type)
        return mapping.link_from(meeting_type, booking_url=url, me=await self._catalog.user())

    # --- slots ---------------------------------------------------------------------------------

    async def find_slots(
        self, link: Link, *, start: datetime, end: datetime, duration: timedelta, limit: int | None = None
    ) -> list[Slot]:
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise InvalidArgument("a slot search needs an aware, non-empty range")
        length = booking.minutes(duration)  # tools/ checks it is one of the link's durations
        meeting_type = await self._catalog.meeting_type(link.link_id)
        host_id = mapping.scope_of(meeting_type).domain_host_id
        first, last = (
            start.astimezone(self._tz).date(),
            (end - timedelta(microseconds=1)).astimezone(self._tz).date(),
        )
        starts = await self._catalog.spots(meeting_type, first, last, length)
        now = self._clock()
        return [
            Slot(
                link_id=link.link_id,
                host_id=host_id,
                start=s,
                end=s + duration,
                location_kind=link.location.kind,
            )
            for s in starts
            if start <= s < end and s > now
        ]

    async def is_slot_free(self, slot: Slot, *, ignore_meeting_id: str | None = None) -> bool:
        if slot.start <= self._clock():
            return False
        meeting_type = await self._catalog.meeting_type(slot.link_id)
        day = slot.start.astimezone(self._tz).date()
        existing = None if ignore_meeting_id is None or _provisional(ignore_meeting_id) else ignore_meeting_id
        length = booking.minutes(slot.end - slot.start)
        starts = await self._catalog.spots(meeting_type, day, day, length, existing=existing, refresh=True)
        return slot.start in starts

    # --- writes --------------------------------------------------------------------------------

    async def book(
        self, request: BookingRequest, *, meetings_limit: int | None, receipt: Receipt | None = None
    ) -> Meeting:
        # meetings_limit is not checked here: meetergo sets no per-account meeting cap the API
        # exposes, and tools/ enforces the contract's limit before calling book.
        slot = request.slot
        meeting_type = await self._catalog.meeting_type(slot.link_id)
        if meeting_type.enabled is False:
            raise LinkInactive("this meetergo meeting type is disabled", next_step="Activate the link first.")
        body = booking.booking_body(request, meeting_type).model_dump(by_alias=True, exclude_none=True)
        try:
            data = await self._client.post("/v4/booking", body)
        except WriteOutcomeUnknown as exc:
            # No idempotency key: look for the appointment before answering, never book twice.
            found = await self._catalog.find_booked(meeting_type.id, slot.start, slot.end, request.attendee)
            if found is None:
                if mapping.requires_approval(meeting_type):
                    exc.next_step = "It may await confirmation: check pending bookings in meetergo."
                raise
            return await self._read_back(found.id, meeting_type, request)
        result = parse(BookingResult, data, what="booking")
        if result.pending:
            meeting_id = f"{PROVISIONAL_PREFIX}{result.provisional_booking_id or ''}"
            meeting = self._echo(meeting_id, meeting_type, request, confirmed=False)
            await self._save_pending(meeting_id, _Pending(meeting=meeting, request=request))
            return meeting
        if not result.appointment_id:
            # It answered 2xx, so something was booked; which appointment is unknown.
            raise WriteOutcomeUnknown("meetergo answered the booking without an appointment id")
        return await self._read_back(result.appointment_id, meeting_type, request)

    async def _read_back(
        self, appointment_id: str, meeting_type: MeetingType, request: BookingRequest
    ) -> Meeting:
        """The booked appointment; a failed read-back must not turn a made booking into an error."""
        try:
            appointment = await self._catalog.appointment(appointment_id)
            return booking.with_request(await self._catalog.to_meeting(appointment), request)
        except BookingError:
            return self._echo(appointment_id, meeting_type, request, confirmed=True)

    def _echo(
        self, meeting_id: str, meeting_type: MeetingType, request: BookingRequest, *, confirmed: bool
    ) -> Meeting:
        return booking.echo(
            meeting_id,
            meeting_type,
            request,
            status="confirmed" if confirmed else "pending",
            me=self._catalog.me,
            now=self._clock(),
        )

    async def reschedule(
        self, meeting_id: str, slot: Slot, *, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        if _provisional(meeting_id):
            raise NotSupported(
                "a meetergo booking awaiting confirmation cannot be rescheduled",
                next_step="Cancel it and book the new time.",
            )
        if not notify_attendee:
            raise NotSupported(
                "meetergo always notifies the attendee of a reschedule",
                next_step="Call again with notify_attendee=true.",
            )
        # A cancelled meeting and a slot of another link are refused in tools/.
        current = await self._catalog.appointment(meeting_id)
        if slot.end - slot.start != current.end - current.start:
            raise NotSupported(
                "meetergo keeps a meeting's duration when rescheduling",
                next_step="Pick a slot of the meeting's current length, or cancel and book anew.",
            )
        body = RescheduleBody(start=slot.start.isoformat()).model_dump(by_alias=True)
        try:
            data = await self._client.post(f"/v4/appointment/{meeting_id}/reschedule", body)
        except WriteOutcomeUnknown:
            again = await self._catalog.appointment_or_none(meeting_id)
            if again is None or again.start != slot.start:
                raise
            return await self._catalog.to_meeting(again)
        wrapped = data.get("appointment") if isinstance(data, dict) and "appointment" in data else data
        return await self._catalog.to_meeting(parse(Appointment, wrapped, what="reschedule"))

    async def cancel(
        self, meeting_id: str, *, reason: str | None, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        if not notify_attendee:
            raise NotSupported(
                "meetergo always notifies the attendee of a cancellation",
                next_step="Call again with notify_attendee=true.",
            )
        if _provisional(meeting_id):
            confirmed = await self._confirmed_pending(meeting_id)
            if confirmed is None:
                return await self._decline(meeting_id, reason)
            meeting_id = confirmed.id
        current = await self._catalog.appointment(meeting_id)
        if current.cancelled:
            return await self._catalog.to_meeting(current)  # nothing to write
        # cancelAll: required for group bookings without attendeeId, ignored for one-to-one ones.
        body = CancelBody(reason=reason, cancel_all=True).model_dump(by_alias=True, exclude_none=True)
        try:
            data = await self._client.post(f"/v4/appointment/{meeting_id}/cancel", body)
        except WriteOutcomeUnknown:
            again = await self._catalog.appointment_or_none(meeting_id)
            if again is None or not again.cancelled:
                raise
            data = again
        try:
            cancelled = data if isinstance(data, Appointment) else Appointment.model_validate(data)
        except ValueError:  # "the cancelled appointment", or an empty body
            cancelled = await self._catalog.appointment(meeting_id)
        meeting = await self._catalog.to_meeting(cancelled)
        return (
            meeting
            if meeting.cancel_reason or not reason
            else meeting.model_copy(update={"cancel_reason": reason})
        )

    async def _decline(self, meeting_id: str, reason: str | None) -> Meeting:
        pending = await self._pending_or_raise(meeting_id)
        body = DeclineBody(reason=reason).model_dump(by_alias=True, exclude_none=True)
        provisional_id = meeting_id.removeprefix(PROVISIONAL_PREFIX)
        await self._client.post(f"/v4/provisional-booking/{provisional_id}/decline", body)
        pending.meeting = pending.meeting.model_copy(update={"status": "cancelled", "cancel_reason": reason})
        await self._save_pending(meeting_id, pending)
        return pending.meeting

    # --- reading meetings ----------------------------------------------------------------------

    async def get_meeting(self, meeting_id: str) -> Meeting:
        if not _provisional(meeting_id):
            return await self._catalog.to_meeting(await self._catalog.appointment(meeting_id))
        pending = await self._pending_or_raise(meeting_id)
        if pending.meeting.status == "pending":
            confirmed = await self._confirmed_pending(meeting_id)
            if confirmed is not None:
                return booking.with_request(await self._catalog.to_meeting(confirmed), pending.request)
        return pending.meeting

    async def list_meetings(self, query: MeetingQuery) -> MeetingPage:
        return await self._catalog.meeting_page(query)

    async def _confirmed_pending(self, meeting_id: str) -> Appointment | None:
        """The appointment a provisional booking became once confirmed (the API links none)."""
        request = (await self._pending_or_raise(meeting_id)).request
        slot = request.slot
        return await self._catalog.find_booked(slot.link_id, slot.start, slot.end, request.attendee)

    async def _save_pending(self, meeting_id: str, pending: _Pending) -> None:
        await self._records.save(_PENDING, meeting_id, pending.model_dump_json())

    async def _pending_or_raise(self, meeting_id: str) -> _Pending:
        stored = await self._records.load(_PENDING, meeting_id)
        pending = None if stored is None else _Pending.model_validate_json(stored)
        if pending is None:
            raise NotFound(
                "this booking awaits confirmation and meetergo offers no API to read it back",
                next_step="See pending bookings in meetergo; once confirmed it is listed under its own id.",
                meeting_id=meeting_id,
            )
        return pending

    # --- calendars -----------------------------------------------------------------------------

    async def connect_calendar(self, request: ConnectCalendarRequest) -> ConnectCalendarResult:
        if request.ics_url:
            raise NotSupported(
                "meetergo connects calendars through the provider's sign-in, not an iCal address",
                next_step="Use provider google or outlook, without ics_url.",
            )
        if request.provider == "apple":
            raise NotSupported(
                "meetergo's API cannot connect an Apple (iCloud) calendar with an app-specific password",
                next_step="Connect iCloud in the meetergo web app; it then shows among the calendar connections.",
            )
        params = await self._user_param(request.host_id)
        if request.redirect_url:
            params["redirectUrl"] = request.redirect_url
        data = await self._client.get(f"/v4/calendar-connections/auth/{request.provider}/url", params)
        auth = parse(AuthUrl, data, what="calendar authorization")
        return ConnectCalendarResult(
            status="authorization_required",
            authorization_url=auth.auth_url,
            next_step=f"Ask the host to open authorization_url and sign in to {request.provider}; "
            "then list the calendar connections to confirm it.",
        )

    async def update_calendar_sync(
        self, connection_id: str, *, import_enabled: bool | None, export_enabled: bool | None
    ) -> CalendarConnection:
        raise NotSupported(
            "meetergo's API has no switch for a calendar connection's import or export.",
            next_step="Change it in meetergo's calendar settings.",
        )

    async def list_calendar_connections(self, host_id: str | None = None) -> list[CalendarConnection]:
        params = await self._user_param(host_id)
        data = await self._client.get("/v4/calendar-connections/connections", params)
        owner = host_id or (await self._catalog.user()).id
        raw = parse(Connections, data, what="calendar connections").connections
        return [c for c in (mapping.connection_from(r, host_id=owner) for r in raw) if c is not None]

    async def _user_param(self, host_id: str | None) -> dict[str, str | list[str]]:
        """`userId` (admin: act for another user) only when the host is not the acting user."""
        if host_id is None:
            return {}
        if host_id.startswith(mapping.QUEUE_PREFIX):
            raise InvalidArgument("a round-robin queue has no calendar; name one of its hosts")
        return {} if host_id == (await self._catalog.user()).id else {"userId": host_id}


def _provisional(meeting_id: str) -> bool:
    return meeting_id.startswith(PROVISIONAL_PREFIX)
