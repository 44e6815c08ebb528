"""The Admin port on the local engine: Meetings set-up mapped onto LocalBackend's own operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wix_meetings_mcp.bookings.model import (
    CalendarConnection,
    Host,
    HostUser,
    Link,
    LinkChange,
    NewLink,
    VideoAccount,
)

if TYPE_CHECKING:
    from wix_meetings_mcp.bookings.local.backend import LocalBackend
    from wix_meetings_mcp.bookings.port import Admin

_CHANGEABLE = ("name", "durations_minutes", "buffer_minutes", "location", "price", "requires_approval")


class LocalAdmin:
    def __init__(self, backend: LocalBackend) -> None:
        self._backend = backend

    async def provision_meetings(self) -> Link:
        # The engine provisions a fresh database on first use, as Provision Meetings App does; the
        # default link is the one made then, the oldest.
        return (await self._backend.list_links(include_inactive=True))[0]

    async def create_scheduling_link(self, request: NewLink) -> Link:
        return await self._backend.create_link(
            name=request.name,
            durations_minutes=request.durations_minutes,
            buffer_minutes=request.buffer_minutes,
            location=request.location,
            price=request.price,
            requires_approval=request.requires_approval,
            policy=request.policy,
            host_id=request.host_id,
        )

    async def update_scheduling_link(self, link_id: str, change: LinkChange) -> Link:
        fields: dict[str, object] = {
            name: getattr(change, name) for name in _CHANGEABLE if getattr(change, name) is not None
        }
        if change.remove_price:
            fields["price"] = None
        if not fields:
            return await self._backend.get_link(link_id)
        return await self._backend.update_link(link_id, **fields)

    async def create_host(self, *, name: str, email: str | None = None) -> Host:
        return await self._backend.create_host(name=name, email=email)

    async def connect_host(self, host_id: str, *, email: str | None = None) -> HostUser:
        host = await self._backend.connect_host_to_user(host_id, email=email)
        assert host.email is not None  # connect_host_to_user refuses a host without one
        return HostUser(host=host, user_email=host.email, status="connected")

    async def disconnect_calendar_connection(self, connection: CalendarConnection) -> CalendarConnection:
        return await self._backend.disconnect_calendar(connection.connection_id)

    async def video_accounts(self) -> list[VideoAccount]:
        return await self._backend.video_accounts()

    async def connect_video_account(self, account: VideoAccount) -> VideoAccount:
        return await self._backend.connect_video_account(account)

    async def disconnect_video_account(self, host_id: str | None) -> VideoAccount | None:
        return await self._backend.disconnect_video_account(host_id)


if TYPE_CHECKING:

    def _implements_the_port(admin: LocalAdmin) -> Admin:
        return admin  # mypy proves LocalAdmin satisfies the Admin protocol
