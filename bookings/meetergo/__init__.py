"""meetergo backend: an httpx client for the meetergo REST API v4 and its mapping to the domain."""

from wix_meetings_mcp.bookings.meetergo.backend import MeetergoBackend
from wix_meetings_mcp.bookings.meetergo.client import MeetergoClient

__all__ = ["MeetergoBackend", "MeetergoClient"]
