"""WixBackend: the `Backend` port on the Wix REST APIs behind Wix Meetings (wix-api.md).

Links are Meetings services, slots come from Time Slots V2, meetings are Bookings V2 bookings read
through Query Extended Bookings, calendars are External Calendar V2 connections of the host's
schedule. Stable data is cached in `Catalog`, so a warm `find_slots` is one Wix call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wix_meetings_mcp.bookings.errors import (
    AuthFailed,
    InvalidArgument,
    NotFound,
    NotSupported,
    PremiumRequired,
)
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
from wix_meetings_mcp.bookings.wix import _mapping as m
from wix_meetings_mcp.bookings.wix import _payloads as p
from wix_meetings_mcp.bookings.wix._catalog import Catalog
from wix_meetings_mcp.bookings.wix._meetings import Meetings
from wix_meetings_mcp.bookings.wix.admin import WixAdmin
from wix_meetings_mcp.bookings.wix.client import WixClient

TIME_SLOTS = "/service-availability/v2/time-slots"
CONNECTIONS = "/bookings/v2/external-calendars/connections"
FREE_PLAN_MEETINGS = 3
DEFAULT_OAUTH_REDIRECT = "https://www.wix.com"  # Wix's recipe: any reachable page will do
_MAX_SLOT_PAGES = 20
_PAD = timedelta(hours=14)  # widest UTC offset: pads a range when the business zone is not known yet


class WixBackend:
    """The Wix adapter. `premium=None` learns the plan from Wix (List Providers answers 403 on free sites)."""

    def __init__(
        self,
        *,
        client: WixClient,
        clock: Callable[[], datetime],
        premium: bool | None = None,
        business_name: str = "Wix site",
        time_zone: str | None = None,
        cache_ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self._client = client
        self._clock = clock
        self._premium = premium
        self._business_name = business_name
        self._catalog = Catalog(client, clock, ttl=cache_ttl, time_zone=time_zone)
        self._meetings = Meetings(client, self._catalog, clock)
        self.admin = WixAdmin(client, self._catalog, premium=lambda: self.premium)

    @property
    def name(self) -> str:
        return "wix"

    @property
    def premium(self) -> bool | None:
        """Known plan: a PREMIUM_FEATURE_NOT_ENABLED from Wix overrides the configured flag."""
        return False if self._client.premium_denied else self._premium

    # ---- account ----

    async def get_account(self) -> Account:
        premium = self.premium
        if premium is None:
            try:
                await self._catalog.providers()
                premium = self._premium = True
            except PremiumRequired:
                premium = False  # remembered by the client
            except AuthFailed:
                premium = False  # the key may lack the calendar scope: gate conservatively, don't remember
        zone = await self._business_time_zone()
        return Account(
            backend=self.name,
            business=Business(name=self._business_name, time_zone=zone),
            plan=Plan(
                name="premium" if premium else "free",
                premium=premium,
                meetings_limit=None if premium else FREE_PLAN_MEETINGS,
            ),
            features=Features(external_calendars=premium, video_conferencing=premium, paid_meetings=premium),
            meetings_used=await self._meetings.count_active(),
        )

    async def _business_time_zone(self) -> str:
        """Configured or learned; else ask Time Slots V2 (its `timeZone` defaults to the site's)."""
        if self._catalog.time_zone is None:
            services = await self._catalog.services()
            if services:
                now, utc = self._clock(), ZoneInfo("UTC")
                body = {
                    "serviceId": next(iter(services)),
                    "fromLocalDate": m.local_string(now, utc),
                    "toLocalDate": m.local_string(now + timedelta(days=1), utc),
                    "cursorPaging": {"limit": 1},
                }
                answer = await self._client.read("POST", TIME_SLOTS, p.TimeSlotsResponse, body=body)
                self._catalog.learn_time_zone(answer.time_zone)
        return self._catalog.time_zone or "UTC"

    # ---- links ----

    async def list_links(self, *, include_inactive: bool = False) -> list[Link]:
        links = await self._catalog.links(list((await self._catalog.services()).values()))
        return [link for link in links if include_inactive or link.active]

    async def get_link(self, link_id: str) -> Link:
        return await self._catalog.link(await self._catalog.service(link_id))

    async def set_link_active(self, link_id: str, *, active: bool, redirect_url: str | None = None) -> Link:
        def change(service: p.Service) -> tuple[dict[str, Any], str] | None:
            same_redirect = redirect_url is None or m.redirect_url_of(service) == redirect_url
            if service.online_booking.enabled == active and same_redirect:
                return None
            fields: dict[str, Any] = {"onlineBooking": {"enabled": active}}
            mask = "onlineBooking.enabled"
            if redirect_url is not None:
                namespaces = dict(service.extended_fields.namespaces)
                ours = {**namespaces.get(m.REDIRECT_NAMESPACE, {}), m.REDIRECT_KEY: redirect_url}
                fields["extendedFields"] = {"namespaces": {**namespaces, m.REDIRECT_NAMESPACE: ours}}
                mask += ",extendedFields"
            return fields, mask

        return await self._catalog.link(await self._catalog.update_service(link_id, change))

    # ---- slots ----

    async def find_slots(
        self, link: Link, *, start: datetime, end: datetime, duration: timedelta, limit: int | None = None
    ) -> list[Slot]:
        now = self._clock()
        start = max(start, now + (link.policy.min_notice or timedelta(0)))
        if link.policy.max_advance is not None:
            end = min(end, now + link.policy.max_advance)
        if end <= start:
            return []
        known = self._catalog.time_zone
        zone = ZoneInfo(known or "UTC")
        body: dict[str, Any] = {
            "serviceId": link.link_id,
            "fromLocalDate": m.local_string(start if known else start - _PAD, zone),
            "toLocalDate": m.local_string(end if known else end + _PAD, zone),
            "bookable": True,
            "cursorPaging": {"limit": 1000},
        }
        if known:
            body["timeZone"] = known  # else Wix uses the site's zone and names it in the answer
        # One duration per Meetings link: `customerChoices.durationInMinutes` applies only to
        # service variants (Verified correction 5), so the link's own duration is what Wix offers.
        slots: list[Slot] = []
        for _ in range(_MAX_SLOT_PAGES):
            page = await self._client.read("POST", TIME_SLOTS, p.TimeSlotsResponse, body=body)
            self._catalog.learn_time_zone(page.time_zone)
            page_zone = self._catalog.zone() if page.time_zone == self._catalog.time_zone else zone
            for wire in page.time_slots:
                if wire.bookable is False or wire.remaining_capacity == 0:
                    continue
                slot_start = m.parse_local(wire.local_start_date, page_zone)
                if start <= slot_start < end:
                    slot_end = m.parse_local(wire.local_end_date, page_zone)
                    slots.append(
                        Slot(
                            link_id=link.link_id,
                            host_id=link.host.host_id,
                            start=slot_start,
                            end=slot_end,
                            location_kind=link.location.kind,
                        )
                    )
            cursor = page.cursor_paging_metadata.cursors.next
            if not cursor or page.cursor_paging_metadata.has_next is False:
                break
            body = {"cursorPaging": {"cursor": cursor, "limit": 1000}}  # the cursor carries the query
        return sorted(slots, key=lambda s: s.start)

    async def is_slot_free(self, slot: Slot, *, ignore_meeting_id: str | None = None) -> bool:
        if slot.start <= self._clock():
            return False
        service = await self._catalog.service(slot.link_id)
        zone = self._catalog.zone()
        body = {
            "serviceId": slot.link_id,
            "localStartDate": m.local_string(slot.start, zone),
            "localEndDate": m.local_string(slot.end, zone),
            "timeZone": zone.key,
            "location": m.slot_location(service),
        }
        try:
            found = (
                await self._client.read("POST", f"{TIME_SLOTS}/get", p.TimeSlotResponse, body=body)
            ).time_slot
        except NotFound:
            return False
        free = found is not None and found.bookable is not False and found.remaining_capacity != 0
        if not free and ignore_meeting_id:
            # The meeting being moved may be what fills the slot; Reschedule Booking re-validates.
            own = await self._meetings.get(ignore_meeting_id)
            return own.status != "cancelled" and own.start < slot.end and slot.start < own.end
        return free

    # ---- meetings ----

    async def book(
        self, request: BookingRequest, *, meetings_limit: int | None, receipt: Receipt | None = None
    ) -> Meeting:
        # `meetings_limit` is not enforced here: tools/ checks the free plan's limit up front, and
        # Wix offers no way to check it atomically with Create Booking.
        return await self._meetings.book(request)

    async def reschedule(
        self, meeting_id: str, slot: Slot, *, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        return await self._meetings.reschedule(
            meeting_id, slot, notify_attendee=notify_attendee, override_policy=override_policy
        )

    async def cancel(
        self, meeting_id: str, *, reason: str | None, notify_attendee: bool, override_policy: bool = False
    ) -> Meeting:
        return await self._meetings.cancel(
            meeting_id, reason=reason, notify_attendee=notify_attendee, override_policy=override_policy
        )

    async def get_meeting(self, meeting_id: str) -> Meeting:
        return await self._meetings.get(meeting_id)

    async def list_meetings(self, query: MeetingQuery) -> MeetingPage:
        return await self._meetings.list(query)

    # ---- external calendars ----

    async def connect_calendar(self, request: ConnectCalendarRequest) -> ConnectCalendarResult:
        if request.ics_url:
            raise NotSupported(
                "Wix connects calendars through the provider, not through an iCal address.",
                next_step="Connect Google or Outlook by OAuth, or Apple with the Apple ID email "
                "and an app-specific password.",
            )
        host_id = request.host_id or await self._only_host_id()
        schedule_id = await self._catalog.schedule_id(host_id)
        provider = await self._provider(request.provider)
        if "OAUTH" in provider.features.connect_methods:
            body = {
                "providerId": provider.id,
                "scheduleId": schedule_id,
                "redirectUrl": request.redirect_url or DEFAULT_OAUTH_REDIRECT,
            }
            oauth = await self._client.write(
                "POST", f"{CONNECTIONS}:connectByOAuth", p.OAuthResponse, body=body
            )
            return ConnectCalendarResult(
                status="authorization_required",
                authorization_url=oauth.oauth_url,
                next_step="Ask the host to open the authorization URL and allow access; "
                "the connection then shows among the host's calendar connections.",
            )
        if not request.email or not request.password:
            raise InvalidArgument(
                f"{provider.name or request.provider} connects with an email and an app-specific password.",
                next_step="Try again with the account email and an app-specific password.",
            )
        body = {"providerId": provider.id, "scheduleId": schedule_id, "email": request.email}
        answer = await self._client.write(
            "POST",
            f"{CONNECTIONS}:connectByCredentials",
            p.ConnectionResponse,
            body={**body, "password": request.password},
            redact=(request.password,),
        )
        connection = m.to_connection(answer.connection, host_id=host_id, provider=request.provider)
        connected = connection.status == "connected"
        return ConnectCalendarResult(
            status="connected" if connected else "pending",
            connection=connection,
            next_step="Busy times now block slots." if connected else "Check the connection again later.",
        )

    async def list_calendar_connections(self, host_id: str | None = None) -> list[CalendarConnection]:
        hosts = [host_id] if host_id else sorted(await self._catalog.host_ids())
        schedules = {await self._catalog.schedule_id(h): h for h in hosts if h}
        if not schedules:
            return []
        answer = await self._client.read(
            "GET", CONNECTIONS, p.ConnectionsResponse, params={"scheduleIds": list(schedules)}
        )
        result: list[CalendarConnection] = []
        for wire in answer.connections:
            kind = await self._catalog.provider_kind(wire)
            if kind is not None:
                owner = schedules.get(wire.schedule_id or "", host_id or "")
                result.append(m.to_connection(wire, host_id=owner, provider=kind))
        return result

    async def update_calendar_sync(
        self, connection_id: str, *, import_enabled: bool | None, export_enabled: bool | None
    ) -> CalendarConnection:
        """Update Sync Config (PATCH …/sync-config); the directions' calendar choices are sent back as read."""
        current = (
            await self._client.read("GET", f"{CONNECTIONS}/{connection_id}", p.ConnectionResponse)
        ).connection
        sync = current.sync_config
        changed = p.SyncConfig(
            list_event_from_calendars=_switched(sync.list_event_from_calendars, import_enabled),
            sync_to_calendar=_switched(sync.sync_to_calendar, export_enabled),
        )
        body = {"syncConfig": changed.model_dump(by_alias=True, exclude_none=True)}
        path = f"{CONNECTIONS}/{connection_id}/sync-config"
        wire = (
            await self._client.write("PATCH", path, p.ConnectionResponse, body=body, idempotent=True)
        ).connection
        kind = await self._catalog.provider_kind(wire)
        if kind is None:
            raise NotSupported(f"Updated {connection_id!r}, but its calendar provider is unknown.")
        hosts = sorted(await self._catalog.host_ids())
        owners = {await self._catalog.schedule_id(h): h for h in hosts}
        return m.to_connection(wire, host_id=owners.get(wire.schedule_id or "", ""), provider=kind)

    async def _only_host_id(self) -> str:
        hosts = await self._catalog.host_ids()
        if len(hosts) != 1:
            raise InvalidArgument(
                "Name the host whose calendar to connect." if hosts else "No scheduling link has a host yet.",
                next_step="Pass the host_id of the host whose calendar it is.",
            )
        return hosts.pop()

    async def _provider(self, kind: str) -> p.Provider:
        for provider in await self._catalog.providers():
            if m.provider_kind(provider.calendar_type, provider.name) == kind:
                return provider
        raise NotSupported(f"Wix offers no {kind} calendar provider on this site.")


def _switched(direction: p.SyncDirection, enabled: bool | None) -> p.SyncDirection:
    return direction if enabled is None else direction.model_copy(update={"enabled": enabled})
