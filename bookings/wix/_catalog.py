"""What is stable on a Wix site, cached: the Meetings services, the staff members behind their
resource ids, booking forms, calendar providers and the business time zone — plus the one
revision-aware writer of services that keeps that cache true.

Invalidation: our own Update Service puts the returned (newer) revision in the cache; a stale-revision
conflict drops the services; a TTL bounds how long changes made elsewhere (the Wix dashboard) go
unseen. A cached service is for reading only: whatever changes what a write does (approval, price,
active flag) is read fresh (`fresh_service`) or left to Wix to decide.

Hosts: a service names its host by staff *resource* id (Verified correction 1); the host id we
hand out is the staff member's own id. Query Staff Members with RESOURCE_DETAILS maps one to the
other (resourceId is not filterable, so the whole staff list is read and cached).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wix_meetings_mcp.bookings.errors import AuthFailed, BackendUnavailable, InvalidArgument, NotFound
from wix_meetings_mcp.bookings.model import CalendarProvider, Host, Link
from wix_meetings_mcp.bookings.wix import _mapping as m
from wix_meetings_mcp.bookings.wix import _payloads as p
from wix_meetings_mcp.bookings.wix._mapping import MEETINGS_APP_ID, provider_kind
from wix_meetings_mcp.bookings.wix.client import WixClient, WixConflict, WriteOutcomeUnknown

SERVICES = "/bookings/v2/services"
STAFF = "/bookings/v1/staff-members"
FORMS = "/form-schema-service/v4/forms"
MEETINGS_FORM_NAMESPACE = "wix.meetings.form"
PROVIDERS = "/bookings/v2/external-calendars/providers"
_MAX_PAGES = 20

# Builds an Update Service change from the current service: (service fields, mask), or None when
# the service already is as wanted.
ServiceChange = Callable[[p.Service], tuple[dict[str, Any], str] | None]


def _revision(service: p.Service) -> int:
    try:
        return int(service.revision or 0)
    except ValueError:
        return 0


class Catalog:
    def __init__(
        self,
        client: WixClient,
        clock: Callable[[], datetime],
        *,
        ttl: timedelta,
        time_zone: str | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._services: dict[str, p.Service] | None = None
        self._loaded_at: datetime | None = None
        self._staff: dict[str, p.StaffMember] = {}  # by staff member id
        self._by_resource: dict[str, p.StaffMember] | None = None  # by staff resource id
        self._forms: dict[str, p.Form | None] = {}
        self._providers: list[p.Provider] | None = None
        self.time_zone: str | None = time_zone

    # ---- business time zone ----

    def zone(self) -> ZoneInfo:
        """The business zone when known (configured or learned from Wix), else UTC."""
        return ZoneInfo(self.time_zone or "UTC")

    def learn_time_zone(self, name: str | None) -> None:
        if not name or name == self.time_zone:
            return
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return
        self.time_zone = name

    # ---- services ----

    def _cached(self) -> dict[str, p.Service] | None:
        if self._services is None or self._loaded_at is None:
            return None
        return self._services if self._clock() - self._loaded_at < self._ttl else None

    async def services(self) -> dict[str, p.Service]:
        """Meetings services by id: appId AND createdByAppId = Meetings (leaves out Scheduling Form Fields)."""
        cached = self._cached()
        if cached is not None:
            return cached
        now = self._clock()
        found: dict[str, p.Service] = {}
        offset = 0
        for _ in range(_MAX_PAGES):
            body = {
                "query": {
                    "filter": {"appId": MEETINGS_APP_ID, "createdByAppId": MEETINGS_APP_ID},
                    "paging": {"limit": 100, "offset": offset},
                },
            }
            page = await self._client.read("POST", f"{SERVICES}/query", p.ServicesResponse, body=body)
            found.update((s.id, s) for s in page.services if s.type in (None, "APPOINTMENT"))
            offset += len(page.services)
            meta = page.paging_metadata
            more = meta.has_next if meta.has_next is not None else bool(meta.total and offset < meta.total)
            if not more or not page.services:
                break
        self._services, self._loaded_at = found, now
        return found

    async def service(self, link_id: str) -> p.Service:
        was_cached = self._cached() is not None
        services = await self.services()
        if link_id not in services and was_cached:
            self.invalidate()  # perhaps created elsewhere since we cached: look once more
            services = await self.services()
        if link_id not in services:
            raise NotFound(f"No scheduling link {link_id!r}.", link_id=link_id)
        return services[link_id]

    def invalidate(self) -> None:
        self._services, self._loaded_at = None, None

    def put(self, service: p.Service) -> None:
        """Cache a service we just read or wrote, unless the cache already holds a newer revision."""
        if self._services is None:
            return
        cached = self._services.get(service.id)
        if cached is None or _revision(service) >= _revision(cached):
            self._services[service.id] = service

    async def fetch_service(self, link_id: str) -> p.Service:
        """A fresh read (current revision), restricted to Meetings services."""
        path = f"{SERVICES}/{link_id}"
        service = (await self._client.read("GET", path, p.ServiceResponse)).service
        if service.app_id != MEETINGS_APP_ID:
            raise NotFound(f"No scheduling link {link_id!r}.", link_id=link_id)
        return service

    async def fresh_service(self, link_id: str) -> p.Service:
        """Get Service now, for a write that depends on price, deposit or form; the cache learns it too."""
        service = await self.fetch_service(link_id)
        self.put(service)
        return service

    async def update_service(self, link_id: str, change: ServiceChange) -> p.Service:
        """Get Service + Update Service with its current revision; a stale revision re-read and retried once."""
        for attempt in range(2):
            current = await self.fetch_service(link_id)
            wanted = change(current)
            if wanted is None:
                self.put(current)
                return current
            fields, mask = wanted
            body = {"service": {"id": link_id, "revision": current.revision, **fields}, "mask": mask}
            try:
                response = await self._client.write(
                    "PATCH", f"{SERVICES}/{link_id}", p.ServiceResponse, body=body
                )
            except WixConflict:
                self.invalidate()
                if attempt:
                    raise
                continue
            except WriteOutcomeUnknown:
                self.invalidate()
                after = await self.fetch_service(link_id)
                if change(after) is None:
                    return after  # it was applied; only the response was lost
                raise
            updated = response.service
            self.put(updated)
            return updated
        raise BackendUnavailable("Wix kept reporting a newer revision of the link.")  # pragma: no cover

    # ---- hosts ----

    async def _load_staff(self) -> dict[str, p.StaffMember]:
        """Query Staff Members (all pages) with RESOURCE_DETAILS, keyed by resource id."""
        found: dict[str, p.StaffMember] = {}
        body: dict[str, Any] = {"query": {"cursorPaging": {"limit": 100}}, "fields": ["RESOURCE_DETAILS"]}
        for _ in range(_MAX_PAGES):
            page = await self._client.read("POST", f"{STAFF}/query", p.StaffMembersResponse, body=body)
            for staff in page.staff_members:
                self._staff[staff.id] = staff
                resource_id = staff.resource_id or (staff.resource.id if staff.resource else None)
                if resource_id:
                    found[resource_id] = staff
            cursor = page.paging_metadata.cursors.next
            if not cursor or page.paging_metadata.has_next is False:
                break
            body = {
                "query": {"cursorPaging": {"limit": 100, "cursor": cursor}},
                "fields": ["RESOURCE_DETAILS"],
            }
        self._by_resource = found
        return found

    async def staff_by_resource(self, resource_ids: list[str]) -> dict[str, p.StaffMember]:
        """Staff members by resource id, cached; one more Query Staff Members when one is unknown."""
        known = self._by_resource
        if known is None or any(r not in known for r in resource_ids if r):
            known = await self._load_staff()
        return known

    async def hosts_of(self, services: list[p.Service]) -> dict[str, p.StaffMember]:
        return await self.staff_by_resource([r for s in services for r in s.staff_member_ids])

    async def link(self, service: p.Service) -> Link:
        return m.to_link(service, await self.hosts_of([service]))

    async def links(self, services: list[p.Service]) -> list[Link]:
        hosts = await self.hosts_of(services)
        return [m.to_link(service, hosts) for service in services]

    async def host_ids(self) -> set[str]:
        """The staff member ids hosting the Meetings links (empty ids left out)."""
        links = await self.links(list((await self.services()).values()))
        return {link.host.host_id for link in links} - {""}

    async def staff_member(self, host_id: str) -> p.StaffMember:
        """A host by staff member id (Get Staff Member takes that id, never a resource id)."""
        if host_id not in self._staff:
            path = f"{STAFF}/{host_id}"
            response = await self._client.read(
                "GET", path, p.StaffMemberResponse, params={"fields": "RESOURCE_DETAILS"}
            )
            self.remember_staff(response.staff_member)
        return self._staff[host_id]

    def remember_staff(self, staff: p.StaffMember) -> None:
        self._staff[staff.id] = staff
        resource_id = staff.resource_id or (staff.resource.id if staff.resource else None)
        if resource_id and self._by_resource is not None:
            self._by_resource[resource_id] = staff

    def host(self, staff: p.StaffMember) -> Host:
        return Host(host_id=staff.id, name=staff.name or "Host", email=staff.email)

    async def schedule_id(self, host_id: str) -> str:
        """The host's calendar schedule (`resource.eventsSchedule.id`), the id External Calendars use."""
        staff = await self.staff_member(host_id)
        schedule = staff.resource.events_schedule if staff.resource else None
        if schedule is None or not schedule.id:
            raise NotFound(f"Host {host_id!r} has no calendar schedule on Wix.", host_id=host_id)
        return schedule.id

    # ---- booking forms ----

    async def form(self, form_id: str | None) -> p.Form | None:
        """The service's booking form (wix-forms.md §1.1), cached by id; None when it cannot be read.

        The two Wix recipes disagree on whether Get Form needs `namespace`: without it first, then
        with the Meetings namespace on a 400. A key without Forms read scope gets None: the booking
        then goes without a form submission and the notes are reported as not saved.
        """
        if not form_id:
            return None
        if form_id not in self._forms:
            path = f"{FORMS}/{form_id}"
            try:
                try:
                    found: p.Form | None = (await self._client.read("GET", path, p.FormResponse)).form
                except InvalidArgument:
                    params = {"namespace": MEETINGS_FORM_NAMESPACE}
                    found = (await self._client.read("GET", path, p.FormResponse, params=params)).form
            except (AuthFailed, NotFound, InvalidArgument):
                found = None
            self._forms[form_id] = found
        return self._forms[form_id]

    # ---- external calendar providers ----

    async def providers(self) -> list[p.Provider]:
        if self._providers is None:
            self._providers = (await self._client.read("GET", PROVIDERS, p.ProvidersResponse)).providers
        return self._providers

    async def provider_kind(self, connection: p.Connection) -> CalendarProvider | None:
        """google / outlook / apple from the connection's calendar type, else its provider's name."""
        kind = provider_kind(connection.calendar_type)
        if kind is None:
            names = {provider.id: provider.name for provider in await self.providers()}
            kind = provider_kind("", names.get(connection.provider_id or "", ""))
        return kind
