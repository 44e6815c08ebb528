"""Idempotency keys: a write repeated with the same key returns the first result and writes nothing.

Keys are scoped per tool and kept 24 hours; reusing a key with other arguments is refused.
A call claims its key before it runs, so two concurrent calls with one key (a client retrying
while the first attempt is still running, possibly in another server process) never both run:
the second waits for the first's result. A call that fails gives its claim back (errors are not
stored, so a retry runs again); a claim whose owner died is taken over after CLAIM_LEASE.
The store is a port: server/ supplies the SQLite implementation that shares the server's database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Literal, NamedTuple, Protocol, TypeVar

import anyio
from pydantic import BaseModel

from wix_meetings_mcp.bookings.errors import IdempotencyConflict, RateLimited
from wix_meetings_mcp.bookings.receipts import KeyClaim, Repeated, held

WAIT_FOR_OWNER = 20.0  # seconds a duplicate waits for the first call's result before giving up
POLL = 0.02
R = TypeVar("R", bound=BaseModel)


class StoredResult(NamedTuple):
    args_hash: str
    result_json: str | None  # None while the claiming call is still running


Claimed = Literal["claimed"]


class IdempotencyStore(Protocol):
    async def claim(self, scope: str, key: str, args_hash: str, *, now: datetime) -> Claimed | StoredResult:
        """Atomically claim (scope, key) unless a live record holds it; else return that record.

        Records older than KEY_LIFETIME count as absent, and so do unfinished claims older than
        CLAIM_LEASE (their owner died)."""
        ...

    async def complete(self, scope: str, key: str, result_json: str) -> None: ...

    async def release(self, scope: str, key: str) -> None: ...

    async def lookup(self, scope: str, key: str) -> tuple[str, str, float] | None:
        """The record holding (scope, key) as (args_hash, result_json, created_at), if any."""
        ...


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
    """Run `run` unless `key` already produced (or is producing) a result for the same arguments."""
    if key is None:
        return await run()
    digest = args_hash(args)
    held: Claimed | StoredResult | None = None
    with anyio.move_on_after(WAIT_FOR_OWNER):
        while True:
            with anyio.CancelScope(shield=True):  # a claim made must be known, or it would dangle
                held = await store.claim(scope, key, digest, now=now)
            if not isinstance(held, StoredResult):
                break
            if held.args_hash != digest:
                raise IdempotencyConflict(
                    f"idempotency_key {key!r} was already used for a different {scope} call",
                    next_step="Use a new idempotency_key for a different request.",
                )
            if held.result_json is not None:
                return result_type.model_validate_json(held.result_json)
            await anyio.sleep(POLL)  # the first call with this key is still running
    if held != "claimed":
        raise RateLimited(
            f"a {scope} call with idempotency_key {key!r} is still running",
            next_step="Wait a few seconds, then retry with the same idempotency_key.",
        )
    try:
        result = await run()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await store.release(scope, key)
        raise
    with anyio.CancelScope(shield=True):  # the write happened: its result must be kept
        await store.complete(scope, key, result.model_dump_json())
    return result


async def once_kept(
    store: IdempotencyStore,
    *,
    scope: str,
    key: str | None,
    args: Mapping[str, object],
    now: datetime,
    result_type: type[R],
    run: Callable[[KeyClaim | None], Awaitable[R]],
    wrote: Callable[[R], bool],
) -> R:
    """As `once`, for a write that keeps its result under the key in its own transaction (the
    local engine's booking, see bookings/receipts.py): no claim before it and no completion after,
    so a keyed booking costs what a plain one does. A duplicate that lost the race to its own first
    call, inside the write or before it, returns that call's result."""
    if key is None:
        return await run(None)
    claim = KeyClaim(scope, key, args_hash(args), now.timestamp())
    try:
        held(claim, await store.lookup(scope, key))
        result = await run(claim)
        if not wrote(result):  # the slot was taken already: by this key's first call?
            held(claim, await store.lookup(scope, key))
    except Repeated as first:
        return result_type.model_validate_json(first.result_json)
    return result
