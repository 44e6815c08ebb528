"""Fake Wix handlers for Services V2, Staff Members, Booking Policies and Meetings provisioning (§3, §4, §8, §9)."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from tests.fakes.wix_common import (
    MEETINGS_APP_ID,
    Req,
    WixError,
    bump,
    check_revision,
    invalid,
    new_id,
    wire_time,
)
from tests.fakes.wql import matches

if TYPE_CHECKING:
    from tests.fakes.wix import FakeWix

LOCATION_TYPES = ("BUSINESS", "CUSTOM", "CUSTOMER")


def default_policy(fake: FakeWix) -> dict[str, Any]:
    """Meetings' default: cancellation (and rescheduling) allowed until 24 hours before the start."""
    policy: dict[str, Any] = {
        "id": new_id(),
        "revision": "1",
        "name": "Default policy",
        "default": True,
        "createdDate": wire_time(fake.clock()),
        "cancellationPolicy": {
            "enabled": True,
            "limitLatestCancellation": True,
            "latestCancellationInMinutes": 1440,
        },
        "reschedulePolicy": {
            "enabled": True,
            "limitLatestReschedule": True,
            "latestRescheduleInMinutes": 1440,
        },
        "limitEarlyBookingPolicy": {"enabled": False},
        "limitLateBookingPolicy": {"enabled": False},
    }
    fake.policies[policy["id"]] = policy
    return policy


def new_staff(fake: FakeWix, name: str, email: str | None = None) -> dict[str, Any]:
    staff_id, resource_id = new_id(), new_id()
    staff: dict[str, Any] = {
        "id": staff_id,
        "name": name,
        "resourceId": resource_id,
        "resource": {
            "id": resource_id,
            "eventsSchedule": {"id": new_id()},
            "workingHoursSchedules": [],
            "usesDefaultWorkingHours": True,
        },
        "revision": "1",
        "createdDate": wire_time(fake.clock()),
    }
    if email:
        staff["email"] = email
    fake.staff[staff_id] = staff
    return staff


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "meeting"


def _fill_locations(fake: FakeWix, locations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    filled = []
    for raw in locations:
        kind = raw.get("type")
        if kind not in LOCATION_TYPES:
            raise invalid("service.locations.type", f"unknown location type {kind!r}", "INVALID_LOCATIONS")
        location = {"id": new_id(), **copy.deepcopy(raw)}
        if kind == "BUSINESS":
            business = fake.business_location
            if raw.get("business", {}).get("id") not in (None, business["id"]):
                raise invalid(
                    "service.locations.business.id", "unknown business location", "INVALID_BUSINESS_LOCATION"
                )
            location["business"] = copy.deepcopy(business)
            location["calculatedAddress"] = copy.deepcopy(business["address"])
        elif kind == "CUSTOM":
            location.setdefault("custom", {})["id"] = new_id()
            location["calculatedAddress"] = copy.deepcopy(location["custom"].get("address", {}))
        filled.append(location)
    return filled


def build_service(fake: FakeWix, raw: dict[str, Any]) -> dict[str, Any]:
    """A stored service with Wix's computed fields (ids, slug, urls, schedule, policy snapshot)."""
    if not raw.get("name"):
        raise invalid("service.name", "must not be empty", "INVALID_SERVICE_NAME")
    if raw.get("type") != "APPOINTMENT":
        raise invalid("service.type", "Meetings services are APPOINTMENT", "INVALID_SERVICE_TYPE")
    if not raw.get("staffMemberIds"):
        raise WixError(
            400, "MISSING_APPOINTMENT_RESOURCES", "service of type appointment requires a staff member"
        )
    resources = {s["resourceId"] for s in fake.staff.values()}
    if any(r not in resources for r in raw["staffMemberIds"]):
        raise invalid("service.staffMemberIds", "unknown staff resource", "INVALID_STAFF_MEMBER_IDS")
    service_id, slug = new_id(), slugify(raw["name"])
    taken = {s["mainSlug"]["name"] for s in fake.services.values()}
    while slug in taken:
        slug += "-1"
    policy_id = raw.get("bookingPolicy", {}).get("id") or fake.default_policy_id()
    durations = raw.get("schedule", {}).get("availabilityConstraints", {}).get("sessionDurations") or [30]
    check_durations(raw, durations)
    now = wire_time(fake.clock())
    service = {
        **copy.deepcopy(raw),
        "id": service_id,
        "appId": raw.get("appId") or MEETINGS_APP_ID,
        "createdByAppId": raw.get("createdByAppId") or raw.get("appId") or MEETINGS_APP_ID,
        "revision": "1",
        "onlineBooking": {"enabled": True, "requireManualApproval": False, **raw.get("onlineBooking", {})},
        "locations": _fill_locations(fake, raw.get("locations", [])),
        "schedule": {
            "id": new_id(),
            "availabilityConstraints": {
                "sessionDurations": list(durations),
                "durations": [{"minutes": d} for d in durations],
                "timeBetweenSessions": raw.get("schedule", {})
                .get("availabilityConstraints", {})
                .get("timeBetweenSessions", 0),
            },
        },
        "bookingPolicy": {"id": policy_id},
        "form": {"id": raw.get("form", {}).get("id") or fake.meetings_form_id()},
        "mainSlug": {"name": slug, "custom": False, "createdDate": now},
        "urls": {
            page: {"relativePath": f"/{prefix}/{slug}", "url": f"{fake.site_url}/{prefix}/{slug}"}
            for page, prefix in (
                ("servicePage", "service-page"),
                ("bookingPage", "meeting"),
                ("calendarPage", "book"),
            )
        },
        "extendedFields": raw.get("extendedFields", {"namespaces": {}}),
        "createdDate": now,
        "updatedDate": now,
    }
    fake.services[service_id] = service
    return service


def check_durations(service: dict[str, Any], durations: list[int]) -> None:
    """Verified correction 5: an appointment without varied pricing takes a single duration."""
    varied = (service.get("payment") or {}).get("rateType") == "VARIED"
    if len(durations) > 1 and not varied:
        raise invalid(
            "service.schedule.availabilityConstraints.sessionDurations",
            "an appointment without varied pricing takes a single session duration",
            "INVALID_SESSION_DURATION",
        )


def render_service(fake: FakeWix, service: dict[str, Any], conditional: list[str]) -> dict[str, Any]:
    shown = copy.deepcopy(service)
    policy = fake.policies.get(service["bookingPolicy"]["id"])
    if policy:
        shown["bookingPolicy"] = copy.deepcopy(policy)  # the embedded read-only snapshot
    if "STAFF_MEMBER_DETAILS" in conditional:
        by_resource = {s["resourceId"]: s for s in fake.staff.values()}
        # Verified correction 1: despite its name, `staffMemberId` here is the staff *resource* id.
        shown["staffMemberDetails"] = {
            "staffMembers": [
                {"staffMemberId": r, "name": by_resource[r]["name"]}
                for r in service.get("staffMemberIds", [])
                if r in by_resource
            ]
        }
    return shown


def _service(fake: FakeWix, service_id: str) -> dict[str, Any]:
    if service_id not in fake.services:
        raise WixError(404, "SERVICE_NOT_FOUND", f"NOT_FOUND: service {service_id} not found")
    return fake.services[service_id]


def query_services(fake: FakeWix, req: Req) -> dict[str, Any]:
    query = req.body.get("query", {})
    found = [s for s in fake.services.values() if matches(s, query.get("filter", {}))]
    found.sort(key=lambda s: s["createdDate"])
    paging = query.get("paging", {})
    offset, limit = int(paging.get("offset", 0)), min(int(paging.get("limit", 100)), 100)
    page = found[offset : offset + limit]
    conditional = req.body.get("conditionalFields", [])
    return {
        "services": [render_service(fake, s, conditional) for s in page],
        "pagingMetadata": {
            "count": len(page),
            "offset": offset,
            "total": len(found),
            "tooManyToCount": False,
            "hasNext": offset + len(page) < len(found),
        },
    }


def get_service(fake: FakeWix, req: Req) -> dict[str, Any]:
    return {
        "service": render_service(
            fake, _service(fake, req.groups[0]), req.params.get("conditionalFields", [])
        )
    }


def create_service(fake: FakeWix, req: Req) -> dict[str, Any]:
    return {"service": render_service(fake, build_service(fake, req.body.get("service", {})), [])}


def _set_path(target: dict[str, Any], path: str, source: dict[str, Any]) -> None:
    keys = path.split(".")
    value: Any = source
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    node = target
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    # Verified correction 7: `mask` is internal in the SDK and clearing a field through it is not
    # documented; the fake takes the cautious reading: a masked field absent from the body stays.
    if value is not None:
        node[keys[-1]] = copy.deepcopy(value)


def update_service(fake: FakeWix, req: Req) -> dict[str, Any]:
    sent = req.body.get("service", {})
    if "revision" in req.body and "revision" not in sent:
        raise invalid("service.revision", "revision must not be empty")
    service = _service(fake, req.groups[0])
    check_revision(service, sent.get("revision"), "service")
    if sent.get("appId") not in (None, service["appId"]):
        raise invalid("service.appId", "appId is immutable")
    mask = req.body.get("mask")
    paths = [p.strip() for p in mask.split(",")] if isinstance(mask, str) and mask else None
    changed = {k: v for k, v in sent.items() if k not in ("id", "revision")}
    if "locations" in changed or any(p.startswith("locations") for p in paths or []):
        raise invalid("service.locations", "use Set Service Locations", "INVALID_LOCATIONS")
    for path in paths if paths is not None else list(changed):
        _set_path(service, path, changed)
    constraints = service["schedule"]["availabilityConstraints"]
    check_durations(service, constraints.get("sessionDurations", []))
    constraints["durations"] = [{"minutes": d} for d in constraints.get("sessionDurations", [])]
    bump(service, fake.clock())
    return {"service": render_service(fake, service, [])}


def set_locations(fake: FakeWix, req: Req) -> dict[str, Any]:
    service = _service(fake, req.groups[0])
    locations = req.body.get("locations", [])
    if service["appId"] == MEETINGS_APP_ID and len(locations) != 1:
        raise invalid("locations", "Wix Meetings supports exactly one location", "INVALID_LOCATIONS")
    service["locations"] = _fill_locations(fake, locations)
    bump(service, fake.clock())
    return {"service": render_service(fake, service, [])}


def _staff(fake: FakeWix, staff_id: str) -> dict[str, Any]:
    if staff_id not in fake.staff:
        raise WixError(404, "STAFF_MEMBER_NOT_FOUND", f"NOT_FOUND: staff member {staff_id} not found")
    return fake.staff[staff_id]


def render_staff(staff: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    shown = copy.deepcopy(staff)
    if "RESOURCE_DETAILS" not in fields:
        shown.pop("resource", None)
    return shown


def create_staff(fake: FakeWix, req: Req) -> dict[str, Any]:
    raw = req.body.get("staffMember", {})
    name, email = raw.get("name"), raw.get("email")
    if not name or len(name) > 40:
        raise invalid("staffMember.name", "must be 1 to 40 characters")
    if email is not None and "@" not in email:
        raise invalid("staffMember.email", "must be a valid email")
    return {"staffMember": render_staff(new_staff(fake, name, email), req.body.get("fields", []))}


def get_staff(fake: FakeWix, req: Req) -> dict[str, Any]:
    return {"staffMember": render_staff(_staff(fake, req.groups[0]), req.params.get("fields", []))}


def query_staff(fake: FakeWix, req: Req) -> dict[str, Any]:
    """`POST /bookings/v1/staff-members/query` (cursor query); `resourceId` is not a filterable field."""
    query = req.body.get("query", {})
    paging = query.get("cursorPaging", {})
    if paging.get("cursor"):
        if "filter" in query or "sort" in query:
            raise invalid("query.cursorPaging.cursor", "a cursor request takes no filter or sort")
        flt, offset = {}, int(paging["cursor"])
    else:
        flt, offset = query.get("filter", {}), 0
    if any(key.startswith("resource") for key in flt):
        raise invalid("query.filter", "resourceId is not a supported filter field")
    limit = min(int(paging.get("limit") or 50), 100)
    found = [s for s in fake.staff.values() if matches(s, flt)]
    page, more = found[offset : offset + limit], offset + limit < len(found)
    fields = req.body.get("fields", [])
    return {
        "staffMembers": [render_staff(s, fields) for s in page],
        "pagingMetadata": {
            "count": len(page),
            "cursors": {"next": str(offset + limit)} if more else {},
            "hasNext": more,
        },
    }


def connect_staff(fake: FakeWix, req: Req) -> dict[str, Any]:
    staff = _staff(fake, req.groups[0])
    email = req.body.get("email") or staff.get("email")
    if not email:
        raise invalid("email", "the staff member has no email; pass one")
    staff["associatedWixIdentity"] = {
        "identificationData": {"wixUserId": new_id(), "identityType": "WIX_USER"},
        "connection": {"status": "PENDING"},
    }
    bump(staff, fake.clock())
    return {"staffMember": render_staff(staff, req.body.get("fields", []))}


def get_policy(fake: FakeWix, req: Req) -> dict[str, Any]:
    if req.groups[0] not in fake.policies:
        raise WixError(404, "BOOKING_POLICY_NOT_FOUND", "NOT_FOUND: booking policy not found")
    return {"bookingPolicy": copy.deepcopy(fake.policies[req.groups[0]])}


def update_policy(fake: FakeWix, req: Req) -> dict[str, Any]:
    policy = get_policy(fake, req)["bookingPolicy"]
    stored = fake.policies[policy["id"]]
    sent = req.body.get("bookingPolicy", {})
    check_revision(stored, sent.get("revision"), "booking policy")
    stored.update({k: copy.deepcopy(v) for k, v in sent.items() if k not in ("id", "revision", "default")})
    bump(stored, fake.clock())
    return {"bookingPolicy": copy.deepcopy(stored)}


def provision(fake: FakeWix, req: Req) -> dict[str, Any]:
    """Idempotent: the first call creates policy, form, schedule and default service; later ones repeat the ids."""
    if fake.provisioning is None:
        owner = next(iter(fake.staff.values()), None) or new_staff(fake, "Site Owner", "owner@example.com")
        service = build_service(
            fake,
            {
                "type": "APPOINTMENT",
                "name": "30 minute meeting",
                "staffMemberIds": [owner["resourceId"]],
                "locations": [{"type": "CUSTOMER"}],
                "schedule": {"availabilityConstraints": {"sessionDurations": [30]}},
            },
        )
        fake.provisioning = {
            "bookingFormId": service["form"]["id"],
            "bookingPolicyId": service["bookingPolicy"]["id"],
            "serviceId": service["id"],
        }
    return {"meetingsProvisioning": dict(fake.provisioning)}
