"""Reads behind MeetergoBackend: cached lookups (meeting types = host scope, the acting user),
availability spots, appointments and the paging of list_meetings.

The meeting-type cache is the "one cached lookup" of the host scope: availability and booking
need `hostIds` or `queueId`, derived from the meeting type (queueId first, else userId).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.errors import BookingError, InvalidArgument, NotFound
from wix_meetings_mcp.bookings.meetergo import _mapping as mapping
from wix_meetings_mcp.bookings.meetergo._payloads import (
    Appointment,
    AppointmentPage,
    Availability,
    MeetingType,
    SpotAppointment,
    User,
    meeting_type_list,
    parse,
)
from wix_meetings_mcp.bookings.meetergo.client import MeetergoClient
from wix_meetings_mcp.bookings.model import Attendee, Meeting, MeetingPage, MeetingQuery
from wix_meetings_mcp.bookings.remote import Params

PAGE_SIZE = 50
_MAX_PAGES_PER_CALL = 10  # bounds one list_meetings call to 10 requests of the 100/min budget
_CURSOR = re.compile(r"^(\d{1,6})\.(\d{1,3})$")


class Catalog:
    def __init__(self, *, client: MeetergoClient, clock: Callable[[], datetime], time_zone: str) -> None:
        self.client = client
        self._clock = clock
        self._time_zone = time_zone
        self._tz = ZoneInfo(time_zone)
        self._types: dict[str, MeetingType] = {}
        self._fetched: dict[str, datetime] = {}
        self._urls: dict[str, str] = {}  # bookingUrl appears on list items only
        self._urls_loaded = False
        self.me: User | None = None

    # --- meeting types and the acting user -----------------------------------------------------

    async def meeting_type(
        self, link_id: str, *, fresh: bool = False, max_age: timedelta | None = None
    ) -> MeetingType:
        """The meeting type (and with it the host scope); one lookup, cached unless `fresh` or
        older than `max_age`."""
        fetched = self._fetched.get(link_id)
        stale = fresh or fetched is None or (max_age is not None and self._clock() - fetched > max_age)
        if not stale:
            return self._types[link_id]
        detail = parse(MeetingType, await self.client.get(f"/v4/meeting-type/{link_id}"), what="meeting type")
        self.remember(detail)
        return detail

    def remember(self, meeting_type: MeetingType) -> None:
        self._types[meeting_type.id] = meeting_type
        self._fetched[meeting_type.id] = self._clock()

    async def meeting_types(self) -> list[MeetingType]:
        """`GET /v4/meeting-type` items (id, slug, meetingInfo, bookingUrl: not the full type)."""
        items = meeting_type_list(await self.client.get("/v4/meeting-type"))
        self._urls_loaded = True
        self._urls.update({item.id: item.booking_url for item in items if item.booking_url})
        return items

    async def booking_url(self, meeting_type: MeetingType) -> str | None:
        if meeting_type.booking_url is None and meeting_type.id not in self._urls and not self._urls_loaded:
            await self.meeting_types()
        return meeting_type.booking_url or self._urls.get(meeting_type.id)

    async def user(self) -> User:
        if self.me is None:
            self.me = parse(User, await self.client.get("/v4/user/me"), what="user")
        return self.me

    # --- availability --------------------------------------------------------------------------

    async def spots(
        self,
        meeting_type: MeetingType,
        first_day: date,
        last_day: date,
        minutes: int,
        *,
        existing: str | None = None,
        refresh: bool = False,
    ) -> list[datetime]:
        """Bookable starts from `dates[].spots[].startTime`, sorted and de-duplicated."""
        # Dates as YYYY-MM-DD: the docs' form, and valid ISO 8601 for the code's timestamp form.
        # `end` one day further, as a same-day range may come back empty; callers cut exact bounds.
        params: dict[str, str | list[str]] = {
            "meetingTypeId": meeting_type.id,
            "start": first_day.isoformat(),
            "end": (last_day + timedelta(days=1)).isoformat(),
            "timezone": self._time_zone,
            **mapping.scope_of(meeting_type).params(),
        }
        if minutes != mapping.default_duration(meeting_type):
            params["meetingDuration"] = str(minutes)
        if existing:
            params["existingAppointmentId"] = existing
        if refresh:
            params["refreshCache"] = "true"  # a re-check just before a write must not read a stale cache
        data = await self.client.get("/v4/booking-availability", params)
        availability = parse(Availability, data, what="availability")
        starts = {
            spot.start_time.astimezone(self._tz)
            for day in availability.dates
            for spot in day.spots
            if not _full(spot.appointment)
        }
        return sorted(starts)

    # --- appointments --------------------------------------------------------------------------

    async def appointment(self, meeting_id: str) -> Appointment:
        return parse(Appointment, await self.client.get(f"/v4/appointment/{meeting_id}"), what="appointment")

    async def appointment_or_none(self, meeting_id: str) -> Appointment | None:
        try:
            return await self.appointment(meeting_id)
        except BookingError:
            return None

    async def appointments(self, params: Params) -> AppointmentPage:
        # `page` (0-indexed) and `pageSize` are both required; bare /v4/appointment is no route.
        data = await self.client.get("/v4/appointment/paginated", params)
        return parse(AppointmentPage, data, what="appointment list")

    async def find_booked(
        self, meeting_type_id: str, start: datetime, end: datetime, attendee: Attendee
    ) -> Appointment | None:
        """The live appointment of `attendee` starting at `start`; None when absent or unsure."""
        params = {
            "page": "0",
            "pageSize": str(PAGE_SIZE),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "meetingTypeId": meeting_type_id,
            "sortBy": "appointment.start",
            "sortDirection": "ASC",
        }
        try:
            page = await self.appointments(params)
        except BookingError:
            return None
        live = (a for a in page.appointments if not a.cancelled and a.start == start)
        return next((a for a in live if mapping.matches_attendee(a, attendee)), None)

    async def to_meeting(self, appointment: Appointment) -> Meeting:
        meeting_type = None
        if appointment.meeting_type_id:
            try:
                meeting_type = await self.meeting_type(appointment.meeting_type_id)
            except NotFound:
                meeting_type = None  # the type was deleted; its appointments stay
        me = await self.user()
        return mapping.meeting_from(appointment, meeting_type=meeting_type, me=me, now=self._clock())

    async def meeting_page(self, query: MeetingQuery) -> MeetingPage:
        """Documented filters go on the wire; status and attendee are filtered here (the API's
        `status` and `search` values are undocumented). The cursor is `<api page>.<index>`."""
        if not 1 <= query.limit <= 100:
            raise InvalidArgument("limit must be between 1 and 100")
        page, skip = _decode_cursor(query.cursor)
        now = self._clock()
        start, end = query.start, query.end
        if query.status == "upcoming":
            start = max(start, now) if start else now
        elif query.status == "past":
            end = min(end, now) if end else now
        params: dict[str, str | list[str]] = {
            "pageSize": str(PAGE_SIZE),
            "sortBy": "appointment.start",
            "sortDirection": "DESC" if query.status == "past" else "ASC",
        }
        if start:
            params["start"] = start.isoformat()
        if end:
            params["end"] = end.isoformat()
        if query.link_id:
            params["meetingTypeId"] = query.link_id
        found: list[Meeting] = []
        for _ in range(_MAX_PAGES_PER_CALL):
            result = await self.appointments({**params, "page": str(page)})
            items = result.appointments
            more = len(items) >= PAGE_SIZE and (result.total is None or (page + 1) * PAGE_SIZE < result.total)
            for index in range(skip, len(items)):
                if _wanted(items[index], query, start, end):
                    found.append(await self.to_meeting(items[index]))
                if len(found) == query.limit:
                    if index + 1 < len(items):
                        return MeetingPage(meetings=tuple(found), next_cursor=f"{page}.{index + 1}")
                    return MeetingPage(meetings=tuple(found), next_cursor=f"{page + 1}.0" if more else None)
            if not more:
                return MeetingPage(meetings=tuple(found), next_cursor=None)
            page, skip = page + 1, 0
        return MeetingPage(meetings=tuple(found), next_cursor=f"{page}.0")


def _full(appointment: SpotAppointment | None) -> bool:
    """Group-booking spots report taken/total seats; a full one is not bookable."""
    if appointment is None or appointment.total_spots is None or appointment.taken_spots is None:
        return False
    return appointment.taken_spots >= appointment.total_spots


def _wanted(
    appointment: Appointment, query: MeetingQuery, start: datetime | None, end: datetime | None
) -> bool:
    if (start and appointment.start < start) or (end and appointment.start >= end):
        return False
    if query.link_id and appointment.meeting_type_id != query.link_id:
        return False
    if query.status in ("upcoming", "past") and appointment.cancelled:
        return False
    if query.status == "cancelled" and not appointment.cancelled:
        return False
    email = (query.attendee_email or "").strip().lower()
    return not email or any((a.email or "").strip().lower() == email for a in appointment.attendees)


def _decode_cursor(cursor: str | None) -> tuple[int, int]:
    if cursor is None:
        return 0, 0
    match = _CURSOR.match(cursor)
    if match is None:
        raise InvalidArgument(
            "cursor is not one this backend issued", next_step="Start the listing again without a cursor."
        )
    return int(match.group(1)), int(match.group(2))
