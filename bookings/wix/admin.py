"""Set-up operations outside the port, for the `admin` toolset: provision Meetings, create and edit
scheduling links within the Meetings restrictions, create hosts and connect them to site users,
disconnect calendars (wix-api.md §3, §4, §9, §10).

Meetings restrictions kept here: type APPOINTMENT, the Meetings app id, one host, one location.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bookings.errors import InvalidArgument, NotFound, NotSupported, PremiumRequired
from bookings.model import CalendarConnection, Host, Link, Location, Price
from bookings.wix import _mapping as m
from bookings.wix import _payloads as p
from bookings.wix._catalog import SERVICES, STAFF, Catalog
from bookings.wix.client import WixClient

PROVISION = "/meetings/v1/provision-meetings-app"
CONNECTIONS = "/bookings/v2/external-calendars/connections"


@dataclass(frozen=True)
class Provisioned:
    """Ids Provision Meetings App returns (any may be missing: its response shape is unconfirmed)."""

    service_id: str | None
    booking_policy_id: str | None
    booking_form_id: str | None


def service_locations(location: Location, business_location_id: str | None = None) -> list[dict[str, Any]]:
    """One `locations[]` entry (services spell types BUSINESS | CUSTOM | CUSTOMER, §4.5)."""
    if location.kind == "business_address":
        if not business_location_id:
            raise InvalidArgument("A business-address link needs the Wix business location id.")
        return [{"type": "BUSINESS", "business": {"id": business_location_id}}]
    if location.kind == "custom_address":
        if not location.address:
            raise InvalidArgument("A custom-address link needs the address.")
        return [{"type": "CUSTOM", "custom": {"address": {"formattedAddress": location.address}}}]
    return [{"type": "CUSTOMER"}]  # the attendee's address; video and phone links as in §4.5's example


def payment(price: Price) -> dict[str, Any]:
    money = {"value": str(price.amount), "currency": price.currency}
    fixed: dict[str, Any] = {"price": money}
    if price.deposit is not None:
        fixed["deposit"] = {"value": str(price.deposit), "currency": price.currency}
    options = {"online": True, "inPerson": False, "deposit": price.deposit is not None}
    return {"rateType": "FIXED", "fixed": fixed, "options": options}


class WixAdmin:
    def __init__(self, client: WixClient, catalog: Catalog, *, premium: Callable[[], bool | None]) -> None:
        self._client = client
        self._catalog = catalog
        self._premium = premium

    def _require_premium(self, feature: str) -> None:
        if self._premium() is False:
            raise PremiumRequired(
                f"{feature} need a Wix premium plan.", next_step="Upgrade the Wix site to a premium plan."
            )

    async def provision(self) -> Provisioned:
        """Provision Meetings App: idempotent on Wix's side, so retried like a read."""
        answer = await self._client.write("POST", PROVISION, p.ProvisioningResponse, body={}, idempotent=True)
        self._catalog.invalidate()
        ids = answer.unwrap()
        return Provisioned(ids.service_id, ids.booking_policy_id, ids.booking_form_id)

    async def create_link(
        self,
        *,
        name: str,
        host_id: str,
        location: Location,
        duration_minutes: int = 30,
        price: Price | None = None,
        business_location_id: str | None = None,
    ) -> Link:
        if location.kind == "video":
            self._require_premium("Video meetings")
        if price is not None:
            self._require_premium("Paid meetings")
        resource_id = (await self._catalog.staff_member(host_id)).resource_id
        if not resource_id:
            raise NotFound(f"Host {host_id!r} has no staff resource on Wix.")
        service: dict[str, Any] = {
            "type": "APPOINTMENT",
            "appId": m.MEETINGS_APP_ID,
            "name": name,
            "onlineBooking": {"enabled": True},
            "schedule": {"availabilityConstraints": {"sessionDurations": [duration_minutes]}},
            "staffMemberIds": [resource_id],
            "conferencing": {"enabled": location.kind == "video"},
            "phoneCall": {"enabled": location.kind == "phone"},
            "locations": service_locations(location, business_location_id),
        }
        if price is not None:
            service["payment"] = payment(price)
        created = await self._client.write("POST", SERVICES, p.ServiceResponse, body={"service": service})
        self._catalog.invalidate()
        return await self._link(created.service.id)

    async def _link(self, link_id: str) -> Link:
        return m.to_link(await self._catalog.service(link_id))

    async def update_link(
        self,
        link_id: str,
        *,
        name: str | None = None,
        durations_minutes: tuple[int, ...] | None = None,
        buffer_minutes: int | None = None,
    ) -> Link:
        fields: dict[str, Any] = {}
        masks: list[str] = []
        if name is not None:
            fields["name"] = name
            masks.append("name")
        constraints: dict[str, Any] = {}
        if durations_minutes is not None:
            constraints["sessionDurations"] = list(durations_minutes)
            masks.append("schedule.availabilityConstraints.sessionDurations")
        if buffer_minutes is not None:
            constraints["timeBetweenSessions"] = buffer_minutes
            masks.append("schedule.availabilityConstraints.timeBetweenSessions")
        if constraints:
            fields["schedule"] = {"availabilityConstraints": constraints}
        if not masks:
            return await self._link(link_id)
        return m.to_link(await self._catalog.update_service(link_id, lambda _: (fields, ",".join(masks))))

    async def set_link_price(self, link_id: str, price: Price | None) -> Link:
        """A price (with an optional deposit) or None for a free link (`payment` cleared through the mask)."""
        if price is not None:
            self._require_premium("Paid meetings")
        fields = {"payment": payment(price)} if price is not None else {}
        return m.to_link(await self._catalog.update_service(link_id, lambda _: (fields, "payment")))

    async def set_link_location(
        self, link_id: str, location: Location, *, business_location_id: str | None = None
    ) -> Link:
        """One location; video and phone are the `conferencing` / `phoneCall` switches (§4.1)."""
        if location.kind == "video":
            self._require_premium("Video meetings")
        if location.kind not in ("video", "phone"):
            path = f"{SERVICES}/{link_id}/locations"
            body = {"locations": service_locations(location, business_location_id)}
            await self._client.write("POST", path, p.ServiceResponse, body=body)
        toggles = {
            "conferencing": {"enabled": location.kind == "video"},
            "phoneCall": {"enabled": location.kind == "phone"},
        }
        return m.to_link(
            await self._catalog.update_service(
                link_id, lambda _: (toggles, "conferencing.enabled,phoneCall.enabled")
            )
        )

    async def create_host(self, *, name: str, email: str | None = None) -> Host:
        staff: dict[str, Any] = {"name": name}
        if email:  # never an empty string: format validation rejects it
            staff["email"] = email
        body = {"staffMember": staff, "fields": ["RESOURCE_DETAILS"]}
        created = (await self._client.write("POST", STAFF, p.StaffMemberResponse, body=body)).staff_member
        self._catalog.remember_staff(created)
        return Host(host_id=created.id, name=created.name or name, email=created.email)

    async def connect_host_to_user(self, host_id: str, *, email: str | None = None) -> Host:
        """Connect Staff Member To User by email (the current API takes no accountOwnerId, §9.1)."""
        body = {"email": email} if email else {}
        path = f"{STAFF}/{host_id}/connect-staff-member-to-user"
        staff = (await self._client.write("POST", path, p.StaffMemberResponse, body=body)).staff_member
        return Host(host_id=staff.id, name=staff.name, email=staff.email)

    async def disconnect_calendar(self, connection_id: str, *, host_id: str = "") -> CalendarConnection:
        path = f"{CONNECTIONS}/{connection_id}/disconnect"
        wire = (await self._client.write("POST", path, p.ConnectionResponse, body={})).connection
        kind = await self._catalog.provider_kind(wire)
        if kind is None:
            raise NotSupported(f"Disconnected {connection_id!r}, but its calendar provider is unknown.")
        return m.to_connection(wire, host_id=host_id, provider=kind)
