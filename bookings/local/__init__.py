"""The embedded scheduling engine (SQLite), the default backend: zero set-up, also a sandbox."""

from wix_meetings_mcp.bookings.local.backend import LocalBackend

__all__ = ["LocalBackend"]
