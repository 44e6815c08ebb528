"""Video-conferencing accounts on Wix as custom-link connections of the Conferencing API
(Conference V1, a Developer Preview): a host's account is its staff resource's connection, the
business default is the default business resource's. Wix itself falls back to the business
resource when a host's resource has no connection.

Sources are dev.wix.com pages under docs/api-reference/business-management/calendar/conferencing/
(below, `cv1/` is conference-v1/, `cp1/` conferencing-provider-v1/). The Wix SDK's typings for this
API are in no source we could read, and the shared Wix reference has no Conferencing section.
Confirmed:
- `GET /calendar/v3/conferences/v1/providers` (cv1/list-providers): the installed providers plus
  Custom Link, always listed last; a provider's `id` is the `appId` to connect with
  (cv1/sample-flows).
- `POST .../connections/connect` (cv1/connect): body `appId`, `resourceId`, `connectionMethod`
  (cv1/sample-flows names all three), method OAUTH | CREDENTIALS | CUSTOM; CUSTOM takes
  `customOptions`, stores a static URL, password and description, and answers `connection`. One
  connection per provider and resource: a reconnect replaces it and refreshes `connectedDate`, so
  repeating a connect is safe. A resource may hold connections to several providers.
- `GET .../connections` (cv1/list-connections): each connection with its status, newest
  `connectedDate` first; callers with full conferencing permission see every connection in full,
  others see sensitive fields of other resources' connections empty.
- `POST .../connections/mark-as-disconnected` (cv1/mark-connection-as-disconnected): for a custom
  link it removes the stored link; errors 403, 404, 428 (one each).
- The default business resource is `4e0579a5-491e-4e70-a872-d097eed6e520` (cv1/conference-object).
Supported, not confirmed: 428 as the answer for a resource with no connection (the Conference V1
page does not name its 428; cp1/mark-connection-as-disconnected names its own `ResourceNotConnected`
and Wix passes a provider's error on to the caller). So a refused disconnect (428 or 404) counts as
done only when the connections, read back, no longer hold the link.
Still unverified (no page we could read shows them): the names inside `customOptions` (`url`,
`password`, `description`, as the Conference object names its own), a connection's fields other
than `connectedDate` (`id`, `appId`, `resourceId`, `connectionMethod`, `status` and its values,
the `customOptions` echo), the disconnect body (`appId`, `resourceId`), the wrapper keys `providers`
/ `connections`, and any filter or paging of List Connections (none is sent: one unfiltered read).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from wix_meetings_mcp.bookings.errors import InvalidArgument, NotFound, NotSupported
from wix_meetings_mcp.bookings.model import VideoAccount
from wix_meetings_mcp.bookings.wix._catalog import Catalog
from wix_meetings_mcp.bookings.wix._payloads import Wire
from wix_meetings_mcp.bookings.wix.client import WixClient

BASE = "/calendar/v3/conferences/v1"
BUSINESS_RESOURCE_ID = "4e0579a5-491e-4e70-a872-d097eed6e520"
MAX_PASSWORD = 100  # the Conference object's `password` (conference-object); our tool takes 128


class CustomOptions(Wire):
    url: str | None = None
    password: str | None = None
    description: str | None = None


class ConferencingProvider(Wire):
    id: str


class ProvidersResponse(Wire):
    providers: list[ConferencingProvider] = Field(default_factory=list)


class ConferencingConnection(Wire):
    id: str | None = None
    app_id: str | None = None
    resource_id: str | None = None
    connection_method: str | None = None
    status: str | None = None
    custom_options: CustomOptions | None = None


class ConnectionResponse(Wire):
    connection: ConferencingConnection | None = None


class ConnectionsResponse(Wire):
    connections: list[ConferencingConnection] = Field(default_factory=list)


class Conferencing:
    def __init__(self, client: WixClient, catalog: Catalog) -> None:
        self._client = client
        self._catalog = catalog
        self._custom_link_app_id: str | None = None  # the site's Custom Link provider, found once

    async def accounts(self) -> list[VideoAccount]:
        found: list[VideoAccount] = []
        for connection in await self._custom_links():
            host_id = await self._host_of(connection.resource_id)
            if host_id is not None and connection.custom_options and connection.custom_options.url:
                found.append(_account(connection, None if host_id == "" else host_id))
        return found

    async def connect(self, account: VideoAccount) -> VideoAccount:
        if account.unique_rooms:
            raise NotSupported(
                "Wix keeps one static custom link per account (Conferencing API, Connect: CUSTOM stores "
                "a static URL), so it cannot give each meeting its own room",
                next_step="Connect the account without unique rooms.",
            )
        if account.password is not None and len(account.password) > MAX_PASSWORD:
            raise InvalidArgument(
                f"Wix keeps at most {MAX_PASSWORD} characters of a meeting password (Conference object)",
                next_step="Use a shorter password, or put the long one in the room URL or description.",
            )
        options = {
            k: v
            for k, v in (
                ("url", account.url),
                ("password", account.password),
                ("description", account.description),
            )
            if v
        }
        body: dict[str, Any] = {
            "appId": await self._app_id(),
            "resourceId": await self._resource_id(account.host_id),
            "connectionMethod": "CUSTOM",
            "customOptions": options,
        }
        # A reconnect replaces the connection, so a retried connect lands on the same state.
        answer = await self._client.write(
            "POST", f"{BASE}/connections/connect", ConnectionResponse, body=body, idempotent=True
        )
        saved = answer.connection
        if saved is None or saved.custom_options is None or not saved.custom_options.url:
            return account
        return _account(saved, account.host_id)

    async def disconnect(self, host_id: str | None) -> VideoAccount | None:
        resource_id = await self._resource_id(host_id)
        current = next((c for c in await self._custom_links() if c.resource_id == resource_id), None)
        if current is None:
            return None
        body = {"appId": await self._app_id(), "resourceId": resource_id}
        try:
            await self._client.write(
                "POST",
                f"{BASE}/connections/mark-as-disconnected",
                ConnectionResponse,
                body=body,
                idempotent=True,
            )
        except (InvalidArgument, NotFound):
            # A retry after a lost answer finds nothing left to disconnect. Which status Wix gives
            # then is not confirmed (428 by the provider page; the method also lists a 404), so
            # reading the connections back decides whether the link is gone.
            if any(c.resource_id == resource_id for c in await self._custom_links()):
                raise
        return _account(current, host_id)

    async def _app_id(self) -> str:
        if self._custom_link_app_id is None:
            providers = (await self._client.read("GET", f"{BASE}/providers", ProvidersResponse)).providers
            if not providers:
                raise NotSupported(
                    "This Wix site lists no conferencing providers, not even Custom Link "
                    "(Conferencing API, List Providers)."
                )
            self._custom_link_app_id = providers[-1].id  # Custom Link is always listed last
        return self._custom_link_app_id

    async def _custom_links(self) -> list[ConferencingConnection]:
        app_id = await self._app_id()
        listed = await self._client.read("GET", f"{BASE}/connections", ConnectionsResponse)
        return [
            c
            for c in listed.connections
            if c.app_id == app_id and c.resource_id and (c.status or "").upper() != "DISCONNECTED"
        ]

    async def _resource_id(self, host_id: str | None) -> str:
        if host_id is None:
            return BUSINESS_RESOURCE_ID
        staff = await self._catalog.staff_member(host_id)
        resource_id = staff.resource_id or (staff.resource.id if staff.resource else None)
        if not resource_id:
            raise NotFound(f"Host {host_id!r} has no staff resource on Wix.", host_id=host_id)
        return resource_id

    async def _host_of(self, resource_id: str | None) -> str | None:
        """ "" for the business default, the staff member id of a host, None for other resources."""
        if resource_id == BUSINESS_RESOURCE_ID:
            return ""
        if not resource_id:
            return None
        staff = (await self._catalog.staff_by_resource([resource_id])).get(resource_id)
        return staff.id if staff else None


def _account(connection: ConferencingConnection, host_id: str | None) -> VideoAccount:
    options = connection.custom_options or CustomOptions()
    return VideoAccount(
        host_id=host_id, url=options.url or "", password=options.password, description=options.description
    )
