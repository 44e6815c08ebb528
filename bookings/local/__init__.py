"""The embedded scheduling engine (SQLite), the default backend: zero set-up, also a sandbox."""

from bookings.local.backend import LocalBackend

__all__ = ["LocalBackend"]
