"""Wix adapter: the Backend port on the Wix REST APIs behind Wix Meetings.

server/ builds it from settings::

    http = httpx.AsyncClient(timeout=httpx.Timeout(20.0))   # owned and closed by the server's lifespan
    client = WixClient(client=http, api_key=..., site_id=..., base_url=...)
    backend = WixBackend(client=client, clock=lambda: datetime.now(UTC))
"""

from wix_meetings_mcp.bookings.wix._mapping import MEETINGS_APP_ID
from wix_meetings_mcp.bookings.wix.admin import Provisioned, WixAdmin
from wix_meetings_mcp.bookings.wix.backend import WixBackend
from wix_meetings_mcp.bookings.wix.client import DEFAULT_BASE_URL, WixClient, WixConflict, WriteOutcomeUnknown

__all__ = [
    "DEFAULT_BASE_URL",
    "MEETINGS_APP_ID",
    "Provisioned",
    "WixAdmin",
    "WixBackend",
    "WixClient",
    "WixConflict",
    "WriteOutcomeUnknown",
]
