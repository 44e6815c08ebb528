"""Fake Wix handlers for Time Slots V2, Bookings Writer/Reader V2 and eCommerce checkout (§5, §6, §7, §11)."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tests.fakes.wix_common import (
    ACTIVE,
    MEETINGS_APP_ID,
    Req,
    WixError,
    bump,
    check_revision,
    invalid,
    local,
    new_id,
    parse_local,
    wire_time,
    with_offset,
)
from tests.fakes.wix_forms import contact_from_submission
from tests.fakes.wql import matches, sort_docs

if TYPE_CHECKING:
    from tests.fakes.wix import FakeWix

STAFF_RESOURCE_TYPE = "1cd44cf8-756f-41c3-bd90-3e2ffcaf1155"
BOOKING_LOCATION_TYPES = ("OWNER_BUSINESS", "OWNER_CUSTOM", "CUSTOM")
# Verified correction 3, and Wix's Create Booking page: "CREATED bookings don't appear on the
# business calendar and don't affect a related schedule's availability."
HOLDS_SLOT = ("CONFIRMED", "PENDING")
READER_ALIASES = {
    "bookedEntity.item.slot": "bookedEntity.slot",
    "bookedEntity.item.schedule": "bookedEntity.schedule",
}


def _encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    try:
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise invalid("cursorPaging.cursor", "invalid cursor") from None
    return decoded


# ---- availability ----


def _service(fake: FakeWix, service_id: str | None) -> dict[str, Any]:
    if not service_id or service_id not in fake.services:
        raise WixError(404, "SERVICE_NOT_FOUND", f"NOT_FOUND: service {service_id} not found")
    return fake.services[service_id]


def _grid(fake: FakeWix, start: datetime, end: datetime, minutes: int) -> Iterator[tuple[datetime, datetime]]:
    """Starts in [start, end) on the duration grid of the host's working hours (site zone)."""
    site, step = ZoneInfo(fake.time_zone), timedelta(minutes=minutes)
    day, last = start.astimezone(site).date() - timedelta(days=1), end.astimezone(site).date()
    while day <= last:
        if day.weekday() in fake.working_days:
            moment = datetime.combine(day, fake.opens, site)
            close = datetime.combine(day, fake.closes, site)
            while moment + step <= close:
                if start <= moment < end:
                    yield moment, moment + step
                moment += step
        day += timedelta(days=1)


def _taken(
    fake: FakeWix, service: dict[str, Any], start: datetime, end: datetime, ignore: str | None
) -> bool:
    buffer = timedelta(minutes=service["schedule"]["availabilityConstraints"].get("timeBetweenSessions", 0))
    resources = set(service.get("staffMemberIds", []))
    for booking in fake.bookings.values():
        slot = booking["bookedEntity"]["slot"]
        if (
            booking["id"] == ignore
            or booking["status"] not in HOLDS_SLOT
            or slot["resource"]["id"] not in resources
        ):
            continue
        other_start = datetime.fromisoformat(booking["startDate"].replace("Z", "+00:00"))
        other_end = datetime.fromisoformat(booking["endDate"].replace("Z", "+00:00"))
        if other_start - buffer < end and start < other_end + buffer:
            return True
    return any(busy_start < end and start < busy_end for busy_start, busy_end in fake.external_busy)


def _violations(fake: FakeWix, service: dict[str, Any], start: datetime) -> dict[str, bool]:
    now = fake.clock()
    policy = fake.policies[service["bookingPolicy"]["id"]]
    late, early = policy.get("limitLateBookingPolicy", {}), policy.get("limitEarlyBookingPolicy", {})
    too_late = start <= now or (
        late.get("enabled", False) and start < now + timedelta(minutes=late["latestBookingInMinutes"])
    )
    too_early = early.get("enabled", False) and start > now + timedelta(
        minutes=early["earliestBookingInMinutes"]
    )
    return {
        "tooEarlyToBook": bool(too_early),
        "tooLateToBook": bool(too_late),
        "bookOnlineDisabled": not service["onlineBooking"].get("enabled", True),
    }


def _slot_location(fake: FakeWix, service: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = service["locations"][0] if service["locations"] else {"type": "CUSTOMER"}
    location: dict[str, Any] = {"locationType": first["type"]}
    if first["type"] in ("BUSINESS", "CUSTOM"):
        location["id"] = first["business"]["id"] if first["type"] == "BUSINESS" else first["custom"]["id"]
        location["formattedAddress"] = first.get("calculatedAddress", {}).get("formattedAddress")
    return location


def _time_slot(
    fake: FakeWix, service: dict[str, Any], start: datetime, end: datetime, zone: ZoneInfo, *, resources: bool
) -> dict[str, Any]:
    free = not _taken(fake, service, start, end, None)
    violations = _violations(fake, service, start)
    bookable = free and not any(violations.values())
    slot: dict[str, Any] = {
        "serviceId": service["id"],
        "localStartDate": local(start, zone),
        "localEndDate": local(end, zone),
        "bookable": bookable,
        "location": _slot_location(fake, service),
        "totalCapacity": 1,
        "remainingCapacity": 1 if free else 0,
        "bookableCapacity": 1 if bookable else 0,
        "bookingPolicyViolations": violations,
        "nonBookableReasons": {
            "noRemainingCapacity": not free,
            "violatesBookingPolicy": any(violations.values()),
        },
        "scheduleId": service["schedule"]["id"],
        "allDay": False,
    }
    if resources:
        by_resource = {s["resourceId"]: s for s in fake.staff.values()}
        staff = [
            {"id": r, "name": by_resource[r]["name"]} for r in service["staffMemberIds"] if r in by_resource
        ]
        slot["availableResources"] = [
            {
                "resourceTypeId": STAFF_RESOURCE_TYPE,
                "resources": staff if free else [],
                "numberOfResourcesRequired": 1,
                "hasMoreAvailableResources": False,
            }
        ]
    return slot


def list_time_slots(fake: FakeWix, req: Req) -> dict[str, Any]:
    paging = req.body.get("cursorPaging", {})
    state: dict[str, Any] = (
        _decode(paging["cursor"]) if paging.get("cursor") else {"query": req.body, "offset": 0}
    )
    query: dict[str, Any] = state["query"]
    offset = int(state["offset"])
    if not (query.get("serviceId") and query.get("fromLocalDate") and query.get("toLocalDate")):
        raise WixError(
            400, "MISSING_ARGUMENTS", "INVALID_ARGUMENT: serviceId, fromLocalDate and toLocalDate needed"
        )
    zone = ZoneInfo(query.get("timeZone") or fake.time_zone)
    service = _service(fake, query["serviceId"])
    start = parse_local(query["fromLocalDate"], zone, "fromLocalDate")
    end = parse_local(query["toLocalDate"], zone, "toLocalDate")
    constraints = service["schedule"]["availabilityConstraints"]
    # Verified correction 5: `customerChoices.durationInMinutes` applies only to service variants.
    minutes = constraints["sessionDurations"][0]
    wants_resources = bool(query.get("includeResourceTypeIds") or query.get("resourceTypes"))
    slots = [
        _time_slot(fake, service, s, e, zone, resources=wants_resources)
        for s, e in _grid(fake, start, end, minutes)
    ]
    slots = [s for s in slots if s["remainingCapacity"] > 0]  # only slots with an available resource
    if query.get("bookable") is not None:
        slots = [s for s in slots if s["bookable"] == query["bookable"]]
    limit = min(int(paging.get("limit") or 1000), 1000, fake.slot_page_size)
    page, more = slots[offset : offset + limit], offset + limit < len(slots)
    cursors = {"next": _encode({"query": query, "offset": offset + limit})} if more else {}
    return {
        "timeSlots": page,
        "timeZone": zone.key,
        "cursorPagingMetadata": {"cursors": cursors, "hasNext": more},
    }


def get_time_slot(fake: FakeWix, req: Req) -> dict[str, Any]:
    body = req.body
    if not (body.get("serviceId") and body.get("localStartDate") and body.get("localEndDate")):
        raise invalid("localStartDate", "serviceId, localStartDate and localEndDate are required")
    zone = ZoneInfo(body.get("timeZone") or fake.time_zone)
    service = _service(fake, body["serviceId"])
    start = parse_local(body["localStartDate"], zone, "localStartDate")
    end = parse_local(body["localEndDate"], zone, "localEndDate")
    minutes = int((end - start).total_seconds() // 60)
    if (start, end) not in set(_grid(fake, start, start + timedelta(seconds=1), minutes)):
        raise WixError(404, "SLOT_NOT_FOUND", "NOT_FOUND: no such time slot")
    return {"timeSlot": _time_slot(fake, service, start, end, zone, resources=True), "timeZone": zone.key}


# ---- bookings ----


def _booking(fake: FakeWix, booking_id: str) -> dict[str, Any]:
    if booking_id not in fake.bookings:
        raise WixError(404, "BOOKING_NOT_FOUND", f"NOT_FOUND: booking {booking_id} not found")
    return fake.bookings[booking_id]


def _check_slot(
    fake: FakeWix, service: dict[str, Any], slot: dict[str, Any], ignore: str | None
) -> tuple[datetime, datetime]:
    """Validates a booking slot as Create/Reschedule Booking do; returns its aware start and end."""
    location_type = slot.get("location", {}).get("locationType")
    if location_type is not None and location_type not in BOOKING_LOCATION_TYPES:
        raise invalid(
            "booking.bookedEntity.slot.location.locationType", f"unknown location type {location_type!r}"
        )
    if slot.get("scheduleId") != service["schedule"]["id"]:
        raise WixError(404, "SCHEDULE_NOT_FOUND", "NOT_FOUND: schedule not found")
    zone = ZoneInfo(slot.get("timezone") or fake.time_zone)
    start = parse_local(slot.get("startDate") or "", zone, "slot.startDate")
    end = parse_local(slot.get("endDate") or "", zone, "slot.endDate")
    resource = slot.get("resource", {}).get("id")
    if resource is not None:  # a named resource triggers the availability check
        on_grid = (start, end) in set(
            _grid(fake, start, start + timedelta(seconds=1), int((end - start).seconds // 60))
        )
        if (
            resource not in service["staffMemberIds"]
            or not on_grid
            or start <= fake.clock()
            or _taken(fake, service, start, end, ignore)
        ):
            raise WixError(428, "SLOT_NOT_AVAILABLE", "FAILED_PRECONDITION: the slot is not available")
    return start, end


def _wire_slot(
    fake: FakeWix, service: dict[str, Any], slot: dict[str, Any], start: datetime, end: datetime
) -> dict[str, Any]:
    zone = ZoneInfo(slot.get("timezone") or fake.time_zone)
    by_resource = {s["resourceId"]: s for s in fake.staff.values()}
    resource_id = slot.get("resource", {}).get("id") or service["staffMemberIds"][0]
    staff = by_resource.get(resource_id, {})
    return {
        **copy.deepcopy(slot),
        "startDate": with_offset(start, zone),
        "endDate": with_offset(end, zone),
        "timezone": zone.key,
        "resource": {
            "id": resource_id,
            "name": staff.get("name"),
            "scheduleId": staff.get("resource", {}).get("eventsSchedule", {}).get("id"),
        },
    }


def create_booking(fake: FakeWix, req: Req) -> dict[str, Any]:
    raw = req.body.get("booking", {})
    slot = raw.get("bookedEntity", {}).get("slot")
    if not slot:
        raise invalid("booking.bookedEntity.slot", "must not be empty")
    service = _service(fake, slot.get("serviceId"))
    start, end = _check_slot(fake, service, slot, None)
    _check_deposit(service, raw)
    contact = copy.deepcopy(raw.get("contactDetails", {}))
    submission = req.body.get("formSubmission")
    if submission is not None:
        # Verified correction 2: the form submission replaces the contact; only contactId survives.
        derived = contact_from_submission(fake, service.get("form", {}).get("id"), submission)
        contact = {**({"contactId": contact["contactId"]} if contact.get("contactId") else {}), **derived}
    if contact.get("email") and not contact.get("contactId"):
        contact["contactId"] = fake.contacts.setdefault(contact["email"].lower(), new_id())
    flow = req.body.get("flowControlSettings", {})
    # Verified correction 3: Create Booking leaves CREATED; Confirm Or Decline Booking decides.
    status = "CONFIRMED" if flow.get("skipBusinessConfirmation") else "CREATED"
    now = wire_time(fake.clock())
    booking = {
        "id": new_id(),
        "revision": "1",
        "bookedEntity": {
            "slot": _wire_slot(fake, service, slot, start, end),
            "title": service["name"],
            "tags": [],
        },
        "contactDetails": contact,
        "totalParticipants": raw.get("totalParticipants", 1),
        "status": status,
        "paymentStatus": "UNDEFINED",  # Wix ignores a sent value
        "selectedPaymentOption": raw.get("selectedPaymentOption", "UNDEFINED"),
        "bookingSource": {
            "platform": "WEB",
            "actor": "BUSINESS",
            "appDefId": service["appId"],
            "appName": "Wix Meetings" if service["appId"] == MEETINGS_APP_ID else "Wix Bookings",
        },
        "startDate": wire_time(start),
        "endDate": wire_time(end),
        "createdDate": now,
        "updatedDate": now,
        "appId": service["appId"],
        "doubleBooked": False,
    }
    if raw.get("depositSelected") is not None:
        booking["depositSelected"] = bool(raw["depositSelected"])
    if submission is not None:
        booking["formId"] = service.get("form", {}).get("id")
        booking["formSubmissionId"] = new_id()
    fake.bookings[booking["id"]] = booking
    fake.form_submissions[booking["id"]] = copy.deepcopy(submission or {})
    # Verified correction 6: `sendSmsReminder` defaults to true.
    fake.sms_reminders[booking["id"]] = bool(req.body.get("sendSmsReminder", True))
    fake.events.append(("wix.bookings.v2.booking_created", copy.deepcopy(booking)))
    return {"booking": copy.deepcopy(booking)}


def _check_deposit(service: dict[str, Any], raw: dict[str, Any]) -> None:
    """Verified correction 4: a deposit without the full-upfront option needs `depositSelected: true`."""
    fixed = (service.get("payment") or {}).get("fixed") or {}
    if fixed.get("deposit") and not fixed.get("fullUpfrontPaymentAllowed") and not raw.get("depositSelected"):
        raise invalid("booking.depositSelected", "the service takes a deposit: depositSelected must be true")


def _policy_window(fake: FakeWix, booking: dict[str, Any], kind: str) -> None:
    """§8: without the ignore flag, fail when the policy is off or its latest-minutes window has passed."""
    service = fake.services.get(booking["bookedEntity"]["slot"]["serviceId"])
    policy = fake.policies[service["bookingPolicy"]["id"]] if service else {}
    part = policy.get(f"{kind}Policy", {})
    name = "Cancellation" if kind == "cancellation" else "Reschedule"
    start = datetime.fromisoformat(booking["startDate"].replace("Z", "+00:00"))
    limit = timedelta(minutes=part.get(f"latest{name}InMinutes", 1440))
    if not part.get("enabled", False) or (
        part.get(f"limitLatest{name}", False) and fake.clock() > start - limit
    ):
        raise WixError(428, "BOOKING_POLICY_VIOLATION", f"FAILED_PRECONDITION: {kind} policy violated")


def reschedule_booking(fake: FakeWix, req: Req) -> dict[str, Any]:
    booking = _booking(fake, req.groups[0])
    check_revision(booking, req.body.get("revision"), "booking")
    if booking["status"] not in ACTIVE:
        raise WixError(400, "VALIDATION_FAILURE", "INVALID_ARGUMENT: the booking is not active")
    if not req.body.get("flowControlSettings", {}).get("ignoreReschedulePolicy"):
        _policy_window(fake, booking, "reschedule")
    slot = req.body.get("slot") or {}
    service = _service(fake, slot.get("serviceId"))
    start, end = _check_slot(fake, service, slot, booking["id"])
    booking["bookedEntity"]["slot"] = _wire_slot(fake, service, slot, start, end)
    booking["startDate"], booking["endDate"] = wire_time(start), wire_time(end)
    bump(booking, fake.clock())
    fake.events.append(("wix.bookings.v2.booking_rescheduled", copy.deepcopy(booking)))
    return {"booking": copy.deepcopy(booking)}


def cancel_booking(fake: FakeWix, req: Req) -> dict[str, Any]:
    booking = _booking(fake, req.groups[0])
    check_revision(booking, req.body.get("revision"), "booking")
    if booking["status"] not in ACTIVE:
        raise WixError(400, "VALIDATION_FAILURE", "INVALID_ARGUMENT: the booking is not active")
    if not req.body.get("flowControlSettings", {}).get("ignoreCancellationPolicy"):
        _policy_window(fake, booking, "cancellation")
    booking["status"], booking["canceledDate"] = "CANCELED", wire_time(fake.clock())
    bump(booking, fake.clock())
    fake.events.append(("wix.bookings.v2.booking_canceled", copy.deepcopy(booking)))
    return {"booking": copy.deepcopy(booking)}


def confirm_booking(fake: FakeWix, req: Req) -> dict[str, Any]:
    booking = _booking(fake, req.groups[0])
    check_revision(booking, req.body.get("revision"), "booking")
    if booking["status"] not in ("CREATED", "PENDING"):
        raise WixError(
            400, "VALIDATION_FAILURE", f"INVALID_ARGUMENT: cannot confirm a {booking['status']} booking"
        )
    booking["status"] = "CONFIRMED"
    if req.body.get("paymentStatus"):
        booking["paymentStatus"] = req.body["paymentStatus"]
    bump(booking, fake.clock())
    fake.events.append(("wix.bookings.v2.booking_confirmed", copy.deepcopy(booking)))
    return {"booking": copy.deepcopy(booking)}


def confirm_or_decline(fake: FakeWix, req: Req) -> dict[str, Any]:
    """`POST /bookings/v2/confirmation/{id}:confirmOrDecline`: Wix decides from the service as it is now.

    DECLINED when double-booked and not (partly) paid; else PENDING when the service needs the
    business's approval, CONFIRMED otherwise (wix-api.md Verified correction 3, §6.5; Wix's SDK page
    dev.wix.com/docs/sdk/backend-modules/bookings/bookings/confirm-or-decline-booking).
    """
    booking = _booking(fake, req.groups[0])
    if booking["status"] not in ("CREATED", "PENDING", "WAITING_LIST"):
        return {"booking": copy.deepcopy(booking)}
    if req.body.get("paymentStatus"):
        booking["paymentStatus"] = req.body["paymentStatus"]
    slot = booking["bookedEntity"]["slot"]
    service = _service(fake, slot.get("serviceId"))
    start = datetime.fromisoformat(booking["startDate"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(booking["endDate"].replace("Z", "+00:00"))
    paid = booking["paymentStatus"] in ("PAID", "PARTIALLY_PAID")
    if _taken(fake, service, start, end, booking["id"]) and not paid:
        booking["status"] = "DECLINED"
        event = "wix.bookings.v2.booking_declined"
    elif service["onlineBooking"].get("requireManualApproval"):
        booking["status"] = "PENDING"
        event = "wix.bookings.v2.booking_markedAsPending"
    else:
        booking["status"] = "CONFIRMED"
        event = "wix.bookings.v2.booking_confirmed"
    bump(booking, fake.clock())
    fake.events.append((event, copy.deepcopy(booking)))
    return {"booking": copy.deepcopy(booking)}


def _reader_page(fake: FakeWix, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    query = body.get("query", {})
    cursor_paging, paging = query.get("cursorPaging"), query.get("paging")
    if cursor_paging and paging:
        raise invalid("query.paging", "paging and cursorPaging are mutually exclusive")
    if cursor_paging and cursor_paging.get("cursor"):
        if "filter" in query or "sort" in query:  # §1.6: the cursor encodes them
            raise invalid("query.cursorPaging.cursor", "a cursor request takes no filter or sort")
        state = _decode(cursor_paging["cursor"])
        flt, sort, offset = state["filter"], state["sort"], state["offset"]
    else:
        flt = query.get("filter", {})
        sort = query.get("sort") or [{"fieldName": "createdDate", "order": "DESC"}]
        offset = int((paging or {}).get("offset", 0))
    limit = min(int((cursor_paging or paging or {}).get("limit") or 50), 100)
    found = sort_docs(
        [b for b in fake.bookings.values() if matches(b, flt, READER_ALIASES)], sort, READER_ALIASES
    )
    page, more = found[offset : offset + limit], offset + limit < len(found)
    if paging is not None:
        meta = {"count": len(page), "offset": offset, "total": len(found), "hasNext": more}
    else:
        cursors = {"next": _encode({"filter": flt, "sort": sort, "offset": offset + limit})} if more else {}
        meta = {"count": len(page), "cursors": cursors, "hasNext": more}
    return page, meta


def query_extended_bookings(fake: FakeWix, req: Req) -> dict[str, Any]:
    page, meta = _reader_page(fake, req.body)
    items = []
    for booking in page:
        item: dict[str, Any] = {"booking": copy.deepcopy(booking)}
        if req.body.get("withBookingAllowedActions"):
            active = booking["status"] in ACTIVE
            item["allowedActions"] = {"cancel": active, "reschedule": active, "bookAnother": True}
        service = fake.services.get(booking["bookedEntity"]["slot"]["serviceId"], {})
        if req.body.get("withBookingConferencingDetails") and service.get("conferencing", {}).get("enabled"):
            item["conferencingDetails"] = {"guestUrl": f"https://zoom.example.com/j/{booking['id'][:8]}"}
        items.append(item)
    return {"extendedBookings": items, "pagingMetadata": meta}


def count_extended_bookings(fake: FakeWix, req: Req) -> dict[str, Any]:
    flt = req.body.get("filter", {})
    return {"count": sum(1 for b in fake.bookings.values() if matches(b, flt, READER_ALIASES))}


# ---- eCommerce checkout ----


def create_checkout(fake: FakeWix, req: Req) -> dict[str, Any]:
    items = req.body.get("lineItems") or []
    if not items:
        raise invalid("lineItems", "must not be empty")
    for item in items:
        reference = item.get("catalogReference", {})
        if reference.get("catalogItemId") not in fake.bookings or not reference.get("appId"):
            raise invalid("lineItems.catalogReference", "unknown catalog item")
    checkout: dict[str, Any] = {
        "id": new_id(),
        "lineItems": copy.deepcopy(items),
        "channelType": req.body.get("channelType"),
    }
    fake.checkouts[checkout["id"]] = checkout
    return {"checkout": copy.deepcopy(checkout)}


def checkout_url(fake: FakeWix, req: Req) -> dict[str, Any]:
    if req.groups[0] not in fake.checkouts:
        raise WixError(404, "CHECKOUT_NOT_FOUND", "NOT_FOUND: checkout not found")
    return {"checkoutUrl": f"{fake.site_url}/checkout?checkoutId={req.groups[0]}"}
