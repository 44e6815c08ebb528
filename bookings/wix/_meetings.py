"""Meetings on Wix: Create/Reschedule/Cancel Booking, Confirm Or Decline Booking, Query Extended
Bookings, paid checkout.

Writes are never blindly repeated (the API takes no idempotency key): an ambiguous write (timeout,
lost response, 5xx) is reconciled by reading Wix back before answering, so a booking is never
created twice. Stale revisions are re-read and retried once.

A booking is written from the service as it is now (Get Service: price, deposit, form), never from
the cache, and Wix decides its status: Create Booking leaves it CREATED, then Confirm Or Decline
Booking makes it PENDING (host approval) or CONFIRMED from the service's current settings; a paid
one goes to the eCommerce checkout instead, which confirms it once paid (wix-api.md Verified
corrections 3 and 4, §11.2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.attendees import same_attendee
from wix_meetings_mcp.bookings.errors import InvalidArgument, NotFound, SlotUnavailable
from wix_meetings_mcp.bookings.model import BookingRequest, Meeting, MeetingPage, MeetingQuery, Slot
from wix_meetings_mcp.bookings.wix import _forms
from wix_meetings_mcp.bookings.wix import _mapping as m
from wix_meetings_mcp.bookings.wix import _payloads as p
from wix_meetings_mcp.bookings.wix._catalog import Catalog
from wix_meetings_mcp.bookings.wix.client import WixClient, WixConflict, WriteOutcomeUnknown

BOOKINGS = "/bookings/v2/bookings"
EXTENDED = "/bookings/bookings-reader/v2/extended-bookings"
CONFIRMATION = "/bookings/v2/confirmation"
CHECKOUTS = "/ecom/v1/checkouts"
# Filter key per the Bookings Reader supported-filters table, with its `.item.` oneof segment (§7).
SERVICE_KEY = "bookedEntity.item.slot.serviceId"


class Meetings:
    def __init__(self, client: WixClient, catalog: Catalog, clock: Callable[[], datetime]) -> None:
        self._client = client
        self._catalog = catalog
        self._clock = clock

    # ---- reads ----

    async def _filter(self, link_id: str | None = None) -> dict[str, Any] | None:
        """Meetings bookings: the Meetings appId and a Meetings service; None when there is none."""
        services = await self._catalog.services()
        if link_id is not None and link_id not in services:
            raise NotFound(f"No scheduling link {link_id!r}.", link_id=link_id)
        ids = [link_id] if link_id else sorted(services)
        return {"appId": m.MEETINGS_APP_ID, SERVICE_KEY: {"$in": ids}} if ids else None

    async def _query(self, query: dict[str, Any]) -> p.ExtendedBookingsResponse:
        body = {"query": query, "withBookingConferencingDetails": True}
        return await self._client.read("POST", f"{EXTENDED}/query", p.ExtendedBookingsResponse, body=body)

    async def _read(self, meeting_id: str) -> p.ExtendedBooking:
        meetings = await self._filter()
        found = await self._query({"filter": {**meetings, "id": meeting_id}}) if meetings else None
        if not found or not found.extended_bookings:
            raise NotFound(f"No meeting {meeting_id!r}.", meeting_id=meeting_id)
        return found.extended_bookings[0]

    async def _meeting(
        self, booking: p.Booking, join_url: str | None = None, *, service: p.Service | None = None
    ) -> Meeting:
        slot = booking.booked_entity.slot
        if service is None:
            service = (await self._catalog.services()).get(slot.service_id or "" if slot else "")
        resources = [slot.resource.id] if slot and slot.resource and slot.resource.id else []
        staff = await self._catalog.staff_by_resource(
            resources or (service.staff_member_ids if service else [])
        )
        return m.to_meeting(
            booking,
            service=service,
            staff=staff,
            zone=self._catalog.zone(),
            now=self._clock(),
            join_url=join_url,
        )

    async def get(self, meeting_id: str) -> Meeting:
        found = await self._read(meeting_id)
        return await self._meeting(found.booking, self._join_url(found))

    @staticmethod
    def _join_url(found: p.ExtendedBooking) -> str | None:
        return found.conferencing_details.guest_url if found.conferencing_details else None

    async def list(self, query: MeetingQuery) -> MeetingPage:
        limit = max(1, min(query.limit, 100))
        if query.cursor:  # the cursor carries filter and sort; only the limit may change (§1.6)
            wire_query: dict[str, Any] = {"cursorPaging": {"limit": limit, "cursor": query.cursor}}
        else:
            meetings = await self._filter(query.link_id)
            if meetings is None:
                return MeetingPage(meetings=())
            wire_query = {
                "filter": {**meetings, **self._conditions(query)},
                "sort": [{"fieldName": "startDate", "order": "DESC" if query.status == "past" else "ASC"}],
                "cursorPaging": {"limit": limit},
            }
        page = await self._query(wire_query)
        found = [await self._meeting(e.booking, self._join_url(e)) for e in page.extended_bookings]
        cursor = page.paging_metadata.cursors.next
        more = cursor and page.paging_metadata.has_next is not False
        return MeetingPage(meetings=tuple(found), next_cursor=cursor if more else None)

    def _conditions(self, query: MeetingQuery) -> dict[str, Any]:
        now = m.utc_string(self._clock())
        conditions: dict[str, Any] = {}
        starts: dict[str, str] = {}  # one key per field: WQL honours only a field's first occurrence
        if query.start:
            starts["$gte"] = m.utc_string(query.start)
        if query.end:
            starts["$lt"] = m.utc_string(query.end)
        if starts:
            conditions["startDate"] = starts
        if query.status == "cancelled":
            conditions["status"] = {"$in": ["CANCELED", "DECLINED"]}
        elif query.status in ("upcoming", "past"):
            conditions["status"] = {"$in": list(m.ACTIVE_BOOKING_STATUSES)}
            conditions["endDate"] = {"$gt": now} if query.status == "upcoming" else {"$lte": now}
        if query.attendee_email:
            conditions["contactDetails.email"] = query.attendee_email
        return conditions

    async def count_active(self) -> int:
        """Meetings counted against the free plan: past and upcoming, cancelled ones not counted."""
        meetings = await self._filter()
        if meetings is None:
            return 0
        body = {"filter": {**meetings, "status": {"$in": list(m.ACTIVE_BOOKING_STATUSES)}}}
        return (await self._client.read("POST", f"{EXTENDED}/count", p.CountResponse, body=body)).count

    # ---- writes ----

    def _slot(self, service: p.Service, slot: Slot, zone: ZoneInfo) -> dict[str, Any]:
        resource_id = m.resource_id_of(service)
        if resource_id is None:
            raise InvalidArgument(f"Scheduling link {service.id!r} has no host.")
        return {
            "serviceId": service.id,
            "scheduleId": service.schedule.id,
            "startDate": m.local_string(slot.start, zone),
            "endDate": m.local_string(slot.end, zone),
            "timezone": zone.key,
            "resource": {"id": resource_id},
            "location": m.booking_location(service),
        }

    async def book(self, request: BookingRequest) -> Meeting:
        service = await self._catalog.fresh_service(request.slot.link_id)
        paid = m.price_of(service.payment) is not None
        attendee = request.attendee
        form = await self._catalog.form(service.form.id if service.form else None) if request.notes else None
        notes = _forms.plan(form, attendee, request.notes)
        booking: dict[str, Any] = {
            "bookedEntity": {"slot": self._slot(service, request.slot, self._catalog.zone())},
            "totalParticipants": 1,
        }
        if notes.submission is None:
            first, _, last = attendee.name.strip().partition(" ")
            contact = {
                "firstName": first,
                "lastName": last.strip(),
                "email": attendee.email,
                "phone": attendee.phone,
            }
            booking["contactDetails"] = {k: v for k, v in contact.items() if v}
        if paid:
            booking["selectedPaymentOption"] = "ONLINE"  # required for the eCommerce checkout (§11.2)
        if m.deposit_selected(service.payment):
            booking["depositSelected"] = True
        body: dict[str, Any] = {
            "booking": booking,
            "participantNotification": {"notifyParticipants": request.notify_attendee},
            "sendSmsReminder": request.notify_attendee,  # Wix's default is true (Verified correction 6)
        }
        if notes.submission is not None:
            body["formSubmission"] = notes.submission  # replaces contactDetails (Verified correction 2)
        try:
            created = (await self._client.write("POST", BOOKINGS, p.BookingResponse, body=body)).booking
        except WriteOutcomeUnknown as lost:
            found = await self._find_booked(request)
            if found is None:
                # Wix's reader may lag its writer: not found yet is not "not written".
                raise lost from None
            created = found
        payment_url = None
        if paid and m.meeting_status(created) == "payment_required":
            payment_url = await self._checkout_url(created.id)
        elif not paid and created.status == "CREATED":
            created = await self._confirm_or_decline(created)
        if created.status == "DECLINED":
            raise SlotUnavailable("That time was taken while booking it; Wix declined the booking.")
        meeting = await self._meeting(created, service=service)
        return meeting.model_copy(
            update={
                "status": "payment_required" if payment_url else meeting.status,
                "payment_url": payment_url,
                "notes": notes.saved,
                "unsaved_notes": notes.unsaved,
                "invite_title": request.invite_title,
                "invite_description": request.invite_description,
            }
        )

    async def _find_booked(self, request: BookingRequest) -> p.Booking | None:
        """After an ambiguous Create Booking: the active Meetings booking on that slot for that attendee.

        Filtered by slot only and matched by the shared same-attendee rule: Wix may store the email
        or phone otherwise than typed (a form's phone is E.164).
        """
        conditions: dict[str, Any] = {
            "appId": m.MEETINGS_APP_ID,
            SERVICE_KEY: request.slot.link_id,
            "startDate": m.utc_string(request.slot.start),
            "status": {"$in": list(m.ACTIVE_BOOKING_STATUSES)},
        }
        page = await self._query({"filter": conditions, "cursorPaging": {"limit": 100}})
        attendee = request.attendee
        for found in page.extended_bookings:
            contact = found.booking.contact_details
            if same_attendee(contact.email, contact.phone, attendee.email, attendee.phone):
                return found.booking
        return None

    async def _confirm_or_decline(self, booking: p.Booking) -> p.Booking:
        """Confirm Or Decline Booking: Wix sets PENDING, CONFIRMED or DECLINED from the current service."""
        path = f"{CONFIRMATION}/{booking.id}:confirmOrDecline"
        try:
            return (await self._client.write("POST", path, p.BookingResponse, body={})).booking
        except WriteOutcomeUnknown:
            after = (await self._read(booking.id)).booking
            if after.status != "CREATED":
                return after
            raise

    async def _checkout_url(self, booking_id: str) -> str:
        line = {
            "catalogReference": {"catalogItemId": booking_id, "appId": m.BOOKINGS_CATALOG_APP_ID},
            "quantity": 1,
        }
        # A repeated Create Checkout only leaves an unpaid cart behind, never a second booking:
        # safe to retry like a read.
        checkout = await self._client.write(
            "POST",
            CHECKOUTS,
            p.CheckoutResponse,
            body={"lineItems": [line], "channelType": "WEB"},
            idempotent=True,
        )
        path = f"{CHECKOUTS}/{checkout.checkout.id}/checkout-url"
        return (await self._client.read("GET", path, p.CheckoutUrlResponse)).checkout_url

    async def _change(
        self, meeting_id: str, action: str, body: dict[str, Any], done: Callable[[p.Booking], bool]
    ) -> Meeting:
        """Reschedule/cancel with the current revision: stale → re-read and retry once; lost → read back."""
        booking = (await self._read(meeting_id)).booking
        for attempt in range(2):
            if done(booking):
                return await self._meeting(booking)
            try:
                path = f"{BOOKINGS}/{meeting_id}/{action}"
                sent = {**body, "revision": booking.revision}
                changed = (await self._client.write("POST", path, p.BookingResponse, body=sent)).booking
                return await self._meeting(changed)
            except WixConflict:
                if attempt:
                    raise
                booking = (await self._read(meeting_id)).booking
            except WriteOutcomeUnknown:
                booking = (await self._read(meeting_id)).booking
                if done(booking):
                    return await self._meeting(booking)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def reschedule(
        self, meeting_id: str, slot: Slot, *, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        service = await self._catalog.service(slot.link_id)
        wire_slot = self._slot(service, slot, self._catalog.zone())

        def done(booking: p.Booking) -> bool:
            # Same link only: tools/ refuses a slot of another link before this is called.
            return m.booking_times(booking, self._catalog.zone())[0] == slot.start

        body: dict[str, object] = {
            "slot": wire_slot,
            "participantNotification": {"notifyParticipants": notify_attendee},
        }
        if override_policy:
            body["flowControlSettings"] = {"ignoreReschedulePolicy": True}
        return await self._change(meeting_id, "reschedule", body, done)

    async def cancel(
        self, meeting_id: str, *, reason: str | None, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        notification: dict[str, Any] = {"notifyParticipants": notify_attendee}
        if reason:
            notification["message"] = reason
        body: dict[str, Any] = {"participantNotification": notification}
        if override_policy:
            body["flowControlSettings"] = {"ignoreCancellationPolicy": True}
        meeting = await self._change(meeting_id, "cancel", body, lambda b: b.status == "CANCELED")
        return meeting.model_copy(update={"cancel_reason": reason}) if reason else meeting
