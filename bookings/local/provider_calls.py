"""What the Google and Microsoft calendar clients do alike with one API call: send it under the
connection's access token (a 401 refreshes the token once, a second one is final), and read a
write's answer (a refusal for good, a failure to retry, or the event's id) or an error's body."""

from __future__ import annotations

import json

from wix_meetings_mcp.bookings.local.calendar_api import AccessRevoked, Bearer, EventRefused
from wix_meetings_mcp.bookings.local.provider_http import ProviderHttp, Retryable, json_body, retry_status
from wix_meetings_mcp.bookings.outbound import Answer, OutboundError


async def call(
    http: ProviderHttp,
    bearer: Bearer,
    method: str,
    url: str,
    payload: dict[str, object] | None = None,
    *,
    headers: dict[str, str] | None = None,
    retryable: Retryable = retry_status,
) -> Answer:
    """The answer to one API call with the connection's token. AccessRevoked when the provider
    still refuses a fresh token: 401, or a 403 that is not throttling (one `retryable` accepts); a
    throttling 403 still there after the retries is OutboundError, for a later try."""
    body = b"" if payload is None else json.dumps(payload).encode()
    sent = {"Accept": "application/json"} | (headers or {})
    if payload is not None:
        sent["Content-Type"] = "application/json"
    answer = None
    for fresh in (False, True):
        token = await bearer(fresh)
        answer = await http.send(
            method, url, headers=sent | {"Authorization": f"Bearer {token}"}, body=body, retryable=retryable
        )
        if answer.status != 401:
            break
    assert answer is not None
    if answer.status == 403 and retryable(answer):  # throttled (Google's usageLimits), not refused
        raise OutboundError("unreachable")
    if answer.status in (401, 403):
        raise AccessRevoked
    return answer


def written(answer: Answer) -> Answer:
    """A write's answer when it succeeded; EventRefused for a refusal repeating will not change (a
    4xx other than throttling); OutboundError for the rest, which a later try may get past."""
    if answer.status in (200, 201, 204):
        return answer
    if 400 <= answer.status < 500 and answer.status != 429:
        raise EventRefused(answer.status)
    raise OutboundError("unreachable")


def created_id(answer: Answer) -> str:
    """The id of the event a create answered with."""
    found = json_body(answer).get("id")
    if not isinstance(found, str) or not found:
        raise OutboundError("unreachable")
    return found


def error_body(answer: Answer) -> dict[str, object] | None:
    """The `error` object both APIs answer a failure with; None when the answer holds none."""
    try:
        error = json_body(answer).get("error")
    except OutboundError:
        return None
    return error if isinstance(error, dict) else None
