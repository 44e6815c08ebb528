"""Video-conferencing accounts on Wix as custom-link connections of the Conferencing API
(Conference V1, a Developer Preview): a host's account is its staff resource's connection, the
business default is the default business resource's. Wix itself falls back to the business
resource when a host's resource has no connection.

Documented on dev.wix.com, business-management/calendar/conferencing/conference-v1/:
- `GET /calendar/v3/conferences/v1/providers` (list-providers): the installed providers plus the
  Custom Link provider, always listed last; a provider's `id` is the `appId` to connect with.
- `POST /calendar/v3/conferences/v1/connections/connect` (connect): `appId`, `resourceId`,
  `connectionMethod` (OAUTH | CREDENTIALS | CUSTOM); CUSTOM takes `customOptions`, stores a static
  URL, password and description, and answers `connection`. One connection per provider and
  resource: a reconnect replaces it, so repeating a connect is safe.
- `GET /calendar/v3/conferences/v1/connections` (list-connections): sorted by `connectedDate`,
  newest first; callers with full conferencing permission see every connection in full.
- `POST /calendar/v3/conferences/v1/connections/mark-as-disconnected`: for a custom link, removes
  the stored link; errors 403, 404, 428.
- The default business resource is `4e0579a5-491e-4e70-a872-d097eed6e520` (conference-object,
  `resourceId`).
Inferred, not shown in the pages read: the names inside `customOptions` (`url`, `password`,
`description`), a connection's `appId` / `resourceId` / `status` / `customOptions` echo, the
disconnect body (`appId`, `resourceId`), the wrapper keys `providers` / `connections`, and 428 as
the answer to disconnecting a resource that has no connection.
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
                "Wix keeps a static custom link per account, so it cannot give each meeting its own room",
                next_step="Connect the account without unique rooms.",
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
        except InvalidArgument as exc:
            # A retry after a lost answer finds the resource already disconnected (428): done.
            if exc.context.get("status") != 428:
                raise
        return _account(current, host_id)

    async def _app_id(self) -> str:
        if self._custom_link_app_id is None:
            providers = (await self._client.read("GET", f"{BASE}/providers", ProvidersResponse)).providers
            if not providers:
                raise NotSupported("This Wix site lists no conferencing providers, not even Custom Link.")
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
