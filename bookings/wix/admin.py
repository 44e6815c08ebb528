"""Set-up for the `admin` toolset: provision Meetings, create and edit scheduling links within the
Meetings restrictions, create hosts and connect them to site users, disconnect calendars (wix-api.md
§3, §4, §9, §10), and video accounts as Conferencing custom links (`_conferencing`).

The Wix operations come one per endpoint (`provision`, `create_link`, `set_link_price`...); the
methods of the `Admin` port at the end compose them into the sample flows' use cases.
Meetings restrictions kept here: type APPOINTMENT, the Meetings app id, one host, one location, and
one duration (Wix itself refuses several without service variants, Verified correction 5).
Premium gates are not restated here: tools/ checks them, and Wix's own refusal maps to the same
error. Host ids are staff member ids; services take the staff member's resource id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wix_meetings_mcp.bookings.errors import (
    BackendUnavailable,
    InvalidArgument,
    NotFound,
    NotSupported,
)
from wix_meetings_mcp.bookings.model import (
    CalendarConnection,
    Host,
    HostUser,
    HostUserStatus,
    Link,
    LinkChange,
    Location,
    NewLink,
    Policy,
    Price,
    VideoAccount,
)
from wix_meetings_mcp.bookings.wix import _mapping as m
from wix_meetings_mcp.bookings.wix import _payloads as p
from wix_meetings_mcp.bookings.wix._catalog import SERVICES, STAFF, Catalog
from wix_meetings_mcp.bookings.wix._conferencing import Conferencing
from wix_meetings_mcp.bookings.wix.client import WixClient

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.port import Admin

PROVISION = "/meetings/v1/provision-meetings-app"
CONNECTIONS = "/bookings/v2/external-calendars/connections"
_USER_STATUS: dict[str, HostUserStatus] = {"CONNECTED": "connected", "EXPIRED": "expired"}


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


# A free link: `payment` cannot be cleared through the (internal) mask (Verified correction 7), so
# the rate type says "no fee" and the service is read back to check that the price is gone.
NO_FEE: dict[str, Any] = {"rateType": "NO_FEE"}


def one_duration(durations_minutes: tuple[int, ...]) -> None:
    if len(durations_minutes) > 1:
        raise NotSupported(
            "A Wix Meetings link has a single duration; several durations need Wix service "
            "variants (varied pricing), which are not supported here",
            next_step="Give one duration, or make one link per duration.",
        )


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
        self._premium = premium  # the known plan, for callers; no gate is decided here
        self._conferencing = Conferencing(client, catalog)

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
        return await self._create_service(
            name=name,
            host_id=host_id,
            location=location,
            durations_minutes=(duration_minutes,),
            price=price,
            business_location_id=business_location_id,
        )

    async def _create_service(
        self,
        *,
        name: str,
        host_id: str,
        location: Location,
        durations_minutes: tuple[int, ...],
        buffer_minutes: int = 0,
        price: Price | None = None,
        requires_approval: bool = False,
        business_location_id: str | None = None,
    ) -> Link:
        one_duration(durations_minutes)
        resource_id = (await self._catalog.staff_member(host_id)).resource_id
        if not resource_id:
            raise NotFound(f"Host {host_id!r} has no staff resource on Wix.", host_id=host_id)
        service: dict[str, Any] = {
            "type": "APPOINTMENT",
            "appId": m.MEETINGS_APP_ID,
            "name": name,
            "onlineBooking": {"enabled": True, "requireManualApproval": requires_approval},
            "schedule": {
                "availabilityConstraints": {
                    "sessionDurations": list(durations_minutes),
                    "timeBetweenSessions": buffer_minutes,
                }
            },
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
        return await self._catalog.link(await self._catalog.service(link_id))

    async def update_link(
        self,
        link_id: str,
        *,
        name: str | None = None,
        durations_minutes: tuple[int, ...] | None = None,
        buffer_minutes: int | None = None,
        requires_approval: bool | None = None,
    ) -> Link:
        fields: dict[str, Any] = {}
        masks: list[str] = []
        if name is not None:
            fields["name"] = name
            masks.append("name")
        if requires_approval is not None:
            fields["onlineBooking"] = {"requireManualApproval": requires_approval}
            masks.append("onlineBooking.requireManualApproval")
        constraints: dict[str, Any] = {}
        if durations_minutes is not None:
            one_duration(durations_minutes)
            constraints["sessionDurations"] = list(durations_minutes)
            masks.append("schedule.availabilityConstraints.sessionDurations")
        if buffer_minutes is not None:
            constraints["timeBetweenSessions"] = buffer_minutes
            masks.append("schedule.availabilityConstraints.timeBetweenSessions")
        if constraints:
            fields["schedule"] = {"availabilityConstraints": constraints}
        if not masks:
            return await self._link(link_id)
        return await self._catalog.link(
            await self._catalog.update_service(link_id, lambda _: (fields, ",".join(masks)))
        )

    async def set_link_price(self, link_id: str, price: Price | None) -> Link:
        """A price (with an optional deposit), or None for a free link: then the service is read
        back, and a price Wix kept is reported as a failure rather than as a free link."""
        if price is not None:
            fields = {"payment": payment(price)}
            updated = await self._catalog.update_service(link_id, lambda _: (fields, "payment"))
            return await self._catalog.link(updated)

        def free(current: p.Service) -> tuple[dict[str, Any], str] | None:
            return None if m.price_of(current.payment) is None else ({"payment": NO_FEE}, "payment")

        await self._catalog.update_service(link_id, free)
        after = await self._catalog.fresh_service(link_id)
        if m.price_of(after.payment) is not None:
            raise NotSupported(
                "Wix kept the link's price after the update; the link is still paid",
                next_step="Remove the price in the Wix dashboard (the service's payment settings).",
                link_id=link_id,
            )
        return await self._catalog.link(after)

    async def set_link_location(
        self, link_id: str, location: Location, *, business_location_id: str | None = None
    ) -> Link:
        """One location; video and phone are the `conferencing` / `phoneCall` switches (§4.1)."""
        if location.kind not in ("video", "phone"):
            path = f"{SERVICES}/{link_id}/locations"
            body = {"locations": service_locations(location, business_location_id)}
            await self._client.write("POST", path, p.ServiceResponse, body=body)
        toggles = {
            "conferencing": {"enabled": location.kind == "video"},
            "phoneCall": {"enabled": location.kind == "phone"},
        }
        return await self._catalog.link(
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
        staff = await self._connect_staff(host_id, email)
        return Host(host_id=staff.id, name=staff.name, email=staff.email)

    async def _connect_staff(self, host_id: str, email: str | None) -> p.StaffMember:
        body: dict[str, Any] = {"fields": ["ASSOCIATED_IDENTITY_STATUS"]}
        if email:
            body["email"] = email
        path = f"{STAFF}/{host_id}/connect-staff-member-to-user"
        return (await self._client.write("POST", path, p.StaffMemberResponse, body=body)).staff_member

    async def disconnect_calendar(self, connection_id: str, *, host_id: str = "") -> CalendarConnection:
        path = f"{CONNECTIONS}/{connection_id}/disconnect"
        wire = (await self._client.write("POST", path, p.ConnectionResponse, body={})).connection
        kind = await self._catalog.provider_kind(wire)
        if kind is None:
            raise NotSupported(f"Disconnected {connection_id!r}, but its calendar provider is unknown.")
        return m.to_connection(wire, host_id=host_id, provider=kind)

    # ---- the Admin port ----

    async def provision_meetings(self) -> Link:
        provisioned = await self.provision()
        services = await self._catalog.services()
        chosen = services.get(provisioned.service_id) if provisioned.service_id else None
        if chosen is None:
            # The answer's shape is unconfirmed (§3); as the sample flow does, take the Meetings
            # service Query Services lists first (the oldest: provisioning makes it).
            chosen = next(iter(services.values()), None)
        if chosen is None:
            raise BackendUnavailable(
                "Wix provisioned Meetings but lists no scheduling link yet.",
                next_step="Try again in a minute.",
            )
        return await self._catalog.link(chosen)

    async def create_scheduling_link(self, request: NewLink) -> Link:
        if request.policy not in (None, Policy()):
            # Services share the site's booking policy; Booking Policies V1 here offers no create (§8),
            # and updating the shared one would change every link.
            raise NotSupported(
                "On Wix a new scheduling link takes the site's booking policy; it cannot get its own here",
                next_step="Leave out the policy arguments and change the booking policy in the Wix dashboard.",
            )
        host_id = request.host_id or await self._only_host_id()
        business = await self._business_location_id() if request.location.kind == "business_address" else None
        return await self._create_service(
            name=request.name,
            host_id=host_id,
            location=request.location,
            durations_minutes=request.durations_minutes,
            buffer_minutes=request.buffer_minutes,
            price=request.price,
            requires_approval=request.requires_approval,
            business_location_id=business,
        )

    async def update_scheduling_link(self, link_id: str, change: LinkChange) -> Link:
        """Update Service for the plain fields, then the price, then Set Service Locations: up to three
        writes, so what Wix would refuse (several durations) is refused before the first."""
        if change.durations_minutes is not None:
            one_duration(change.durations_minutes)
        location = change.location
        link: Link | None = None
        plain = (change.name, change.durations_minutes, change.buffer_minutes, change.requires_approval)
        if any(value is not None for value in plain):
            link = await self.update_link(
                link_id,
                name=change.name,
                durations_minutes=change.durations_minutes,
                buffer_minutes=change.buffer_minutes,
                requires_approval=change.requires_approval,
            )
        if change.remove_price or change.price is not None:
            link = await self.set_link_price(link_id, None if change.remove_price else change.price)
        if location is not None:
            business = await self._business_location_id() if location.kind == "business_address" else None
            link = await self.set_link_location(link_id, location, business_location_id=business)
        return link or await self._link(link_id)

    async def connect_host(self, host_id: str, *, email: str | None = None) -> HostUser:
        staff = await self._connect_staff(host_id, email)
        identity = staff.associated_wix_identity
        status = identity.connection.status if identity and identity.connection else None
        return HostUser(
            host=Host(host_id=staff.id, name=staff.name, email=staff.email),
            user_email=email or staff.email or "",
            status=_USER_STATUS.get(status or "", "pending"),
        )

    async def disconnect_calendar_connection(self, connection: CalendarConnection) -> CalendarConnection:
        path = f"{CONNECTIONS}/{connection.connection_id}/disconnect"
        try:
            # Safe to retry: a repeat answers CONNECTION_ALREADY_DISCONNECTED, which is success here.
            answer = await self._client.write("POST", path, p.ConnectionResponse, body={}, idempotent=True)
        except InvalidArgument as exc:
            if exc.context.get("vendor_code") != "CONNECTION_ALREADY_DISCONNECTED":
                raise
            return connection.model_copy(update={"status": "disconnected"})
        return m.to_connection(answer.connection, host_id=connection.host_id, provider=connection.provider)

    # Video accounts are custom-link connections of the Conferencing API (see _conferencing).
    async def video_accounts(self) -> list[VideoAccount]:
        return await self._conferencing.accounts()

    async def connect_video_account(self, account: VideoAccount) -> VideoAccount:
        return await self._conferencing.connect(account)

    async def disconnect_video_account(self, host_id: str | None) -> VideoAccount | None:
        return await self._conferencing.disconnect(host_id)

    async def _only_host_id(self) -> str:
        hosts = await self._catalog.host_ids()
        if len(hosts) != 1:
            raise InvalidArgument(
                "The site has several hosts; name the new link's host" if hosts else "No link has a host yet",
                next_step="Name the host by its host_id, or create a host first.",
            )
        return hosts.pop()

    async def _business_location_id(self) -> str:
        """The site's business location as another link uses it (the Locations API is not wrapped)."""
        for service in (await self._catalog.services()).values():
            for location in service.locations:
                if location.type == "BUSINESS" and location.business and location.business.id:
                    return location.business.id
        raise NotSupported(
            "No Wix scheduling link uses the business address yet, so its location id is unknown",
            next_step="Use custom_address with the business's street address instead.",
        )


if TYPE_CHECKING:

    def _implements_the_port(admin: WixAdmin) -> Admin:
        return admin  # mypy proves WixAdmin satisfies the Admin protocol
