"""Idempotency keys: a write repeated with the same key returns the first result and writes nothing.

Keys are scoped per tool and kept 24 hours; reusing a key with other arguments is refused.
The store is a port: server/ supplies the SQLite implementation that shares the server's database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, TypeVar

from pydantic import BaseModel

from bookings.errors import IdempotencyConflict

KEY_LIFETIME = timedelta(hours=24)
R = TypeVar("R", bound=BaseModel)


class StoredResult(NamedTuple):
    args_hash: str
    result_json: str


class IdempotencyStore(Protocol):
    async def get(self, scope: str, key: str, *, not_before: datetime) -> StoredResult | None: ...

    async def put(self, scope: str, key: str, record: StoredResult, *, at: datetime) -> None: ...


def args_hash(args: Mapping[str, object]) -> str:
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def once(
    store: IdempotencyStore,
    *,
    scope: str,
    key: str | None,
    args: Mapping[str, object],
    now: datetime,
    result_type: type[R],
    run: Callable[[], Awaitable[R]],
) -> R:
    """Run `run` unless `key` already produced a result for the same arguments."""
    if key is None:
        return await run()
    digest = args_hash(args)
    previous = await store.get(scope, key, not_before=now - KEY_LIFETIME)
    if previous is not None:
        if previous.args_hash != digest:
            raise IdempotencyConflict(
                f"idempotency_key {key!r} was already used for a different {scope} call",
                next_step="Use a new idempotency_key for a different request.",
            )
        return result_type.model_validate_json(previous.result_json)
    result = await run()
    await store.put(scope, key, StoredResult(digest, result.model_dump_json()), at=now)
    return result
