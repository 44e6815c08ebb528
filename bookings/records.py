"""Small records an adapter must share with every server process on one database.

meetergo answers a booking that awaits confirmation with a provisional id it offers no way to read
back, so the adapter keeps what it booked; kept in one process only, a second process (or a
restart) could not find the meeting. `server/` supplies the store on the shared database; tests
and embedders may use the in-memory one.
"""

from __future__ import annotations

from typing import Protocol


class Records(Protocol):
    async def save(self, namespace: str, key: str, value: str) -> None:
        """Store `value` under (namespace, key), replacing what was there."""
        ...

    async def load(self, namespace: str, key: str) -> str | None: ...


class MemoryRecords:
    """Records for one process (tests, embedding without a database)."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], str] = {}

    async def save(self, namespace: str, key: str, value: str) -> None:
        self._values[(namespace, key)] = value

    async def load(self, namespace: str, key: str) -> str | None:
        return self._values.get((namespace, key))
