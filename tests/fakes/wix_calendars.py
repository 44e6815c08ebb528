"""Fake Wix handlers for External Calendar V2 (§10): providers, OAuth/credential connections, disconnect.

A premium feature: every route answers 403 PREMIUM_FEATURE_NOT_ENABLED on a free site. No password is
stored: a credential connection keeps only the account email.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tests.fakes.wix_common import Req, WixError, invalid, new_id

if TYPE_CHECKING:
    from tests.fakes.wix import FakeWix

WRONG_PASSWORD = "wrong-password"  # the one password the fake Apple provider refuses

PROVIDERS = (
    ("Google", "GOOGLE", "OAUTH"),
    ("Outlook or Office 365", "OUTLOOK", "OAUTH"),
    ("Apple", "I_CAL", "CREDENTIALS"),
)


def default_providers() -> list[dict[str, Any]]:
    return [
        {
            "id": new_id(),
            "name": name,
            "calendarType": calendar_type,
            "features": {
                "connectMethods": [method],
                "updateSyncConfig": True,
                "listEventFromCalendars": "PRIMARY_CALENDAR_ONLY",
                "syncToCalendar": "DEDICATED_CALENDAR"
                if method == "CREDENTIALS"
                else "PRIMARY_CALENDAR_ONLY",
            },
        }
        for name, calendar_type, method in PROVIDERS
    ]


def require_premium(fake: FakeWix) -> None:
    if not fake.premium:
        raise WixError(403, "PREMIUM_FEATURE_NOT_ENABLED", "PERMISSION_DENIED: premium feature not enabled")


def _provider(fake: FakeWix, provider_id: str, method: str) -> dict[str, Any]:
    provider = next((p for p in fake.providers if p["id"] == provider_id), None)
    if provider is None:
        raise WixError(404, "PROVIDER_NOT_FOUND", "NOT_FOUND: provider not found")
    if method not in provider["features"]["connectMethods"]:
        raise WixError(
            428, "NOT_SUPPORTED_BY_PROVIDER", f"FAILED_PRECONDITION: {provider['name']} has no {method}"
        )
    return provider


def _schedule(fake: FakeWix, schedule_id: str) -> str:
    schedules = {s["resource"]["eventsSchedule"]["id"] for s in fake.staff.values()}
    if schedule_id not in schedules:
        raise WixError(404, "SCHEDULE_NOT_FOUND", "NOT_FOUND: schedule not found")
    return schedule_id


def _new_connection(provider: dict[str, Any], schedule_id: str, email: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "providerId": provider["id"],
        "calendarType": provider["calendarType"],
        "scheduleId": schedule_id,
        "userId": new_id(),
        "externalAccountEmail": email,
        "status": "CONNECTED",
        "syncConfig": {
            "listEventFromCalendars": {"enabled": True, "primaryCalendar": {}},
            "syncToCalendar": {"enabled": False},
        },
    }


def list_providers(fake: FakeWix, req: Req) -> dict[str, Any]:
    require_premium(fake)
    return {"providers": copy.deepcopy(fake.providers)}


def connect_by_oauth(fake: FakeWix, req: Req) -> dict[str, Any]:
    require_premium(fake)
    for name in ("providerId", "scheduleId", "redirectUrl"):
        if not req.body.get(name):
            raise invalid(name, "must not be empty")
    provider = _provider(fake, req.body["providerId"], "OAUTH")
    state = new_id()
    fake.oauth_requests[state] = {
        "provider": provider,
        "scheduleId": _schedule(fake, req.body["scheduleId"]),
        "redirectUrl": req.body["redirectUrl"],
    }
    return {"oauthUrl": f"https://accounts.example.com/oauth/authorize?state={state}"}


def connect_by_credentials(fake: FakeWix, req: Req) -> dict[str, Any]:
    require_premium(fake)
    for name in ("providerId", "scheduleId", "email", "password"):
        if not req.body.get(name):
            raise invalid(name, "must not be empty")
    provider = _provider(fake, req.body["providerId"], "CREDENTIALS")
    schedule_id = _schedule(fake, req.body["scheduleId"])
    if req.body["password"] == WRONG_PASSWORD:
        raise WixError(401, "BAD_CREDENTIALS", "UNAUTHENTICATED: the provider rejected the credentials")
    connection = _new_connection(provider, schedule_id, req.body["email"])
    fake.connections[connection["id"]] = connection
    return {"connection": copy.deepcopy(connection)}


def list_connections(fake: FakeWix, req: Req) -> dict[str, Any]:
    require_premium(fake)
    wanted = set(req.params.get("scheduleIds", []))
    found = [c for c in fake.connections.values() if not wanted or c["scheduleId"] in wanted]
    return {"connections": copy.deepcopy(found), "failedProviderIds": []}


def _connection(fake: FakeWix, connection_id: str) -> dict[str, Any]:
    if connection_id not in fake.connections:
        raise WixError(404, "CONNECTION_NOT_FOUND", "NOT_FOUND: connection not found")
    return fake.connections[connection_id]


def get_connection(fake: FakeWix, req: Req) -> dict[str, Any]:
    require_premium(fake)
    return {"connection": copy.deepcopy(_connection(fake, req.groups[0]))}


def disconnect(fake: FakeWix, req: Req) -> dict[str, Any]:
    require_premium(fake)
    connection = _connection(fake, req.groups[0])
    if connection["status"] == "DISCONNECTED":
        raise WixError(428, "CONNECTION_ALREADY_DISCONNECTED", "FAILED_PRECONDITION: already disconnected")
    connection["status"] = "DISCONNECTED"
    return {"connection": copy.deepcopy(connection)}


def update_sync_config(fake: FakeWix, req: Req) -> dict[str, Any]:
    """PATCH: the directions named in `syncConfig` are replaced; a provider whose features say
    `updateSyncConfig: false` answers 428 NOT_SUPPORTED_BY_PROVIDER."""
    require_premium(fake)
    connection = _connection(fake, req.groups[0])
    sync = req.body.get("syncConfig")
    if not isinstance(sync, dict):
        raise invalid("syncConfig", "must not be empty")
    provider = next((p for p in fake.providers if p["id"] == connection["providerId"]), None)
    if provider is None or not provider["features"].get("updateSyncConfig"):
        raise WixError(428, "NOT_SUPPORTED_BY_PROVIDER", "FAILED_PRECONDITION: sync config not supported")
    for direction in ("listEventFromCalendars", "syncToCalendar"):
        if direction in sync:
            connection["syncConfig"][direction] = copy.deepcopy(sync[direction])
    return {"connection": copy.deepcopy(connection)}


def complete_oauth(fake: FakeWix, oauth_url: str, email: str) -> str:
    """Test hook: the host approves at the provider; returns Wix's redirect with `connectionId`."""
    state = oauth_url.rsplit("state=", 1)[-1]
    pending = fake.oauth_requests.pop(state)
    connection = _new_connection(pending["provider"], pending["scheduleId"], email)
    fake.connections[connection["id"]] = connection
    return f"{pending['redirectUrl']}?connectionId={connection['id']}"
