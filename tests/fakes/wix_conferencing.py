"""Fake Wix handlers for the Conferencing API (Conference V1, Developer Preview): providers, connect,
list connections, disconnect — only as far as a static custom link needs them.

Written from dev.wix.com (business-management/calendar/conferencing/conference-v1/): the paths and
methods, the `connectionMethod` values, `customOptions` holding a static URL, password and
description, the Custom Link provider listed last by List Providers, one connection per provider
and resource (a reconnect replaces it and refreshes `connectedDate`), connections sorted newest
first, and the default business resource id are documented. The inner field names of
`customOptions` and of a connection, the error codes and the disconnect body are inferred.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tests.fakes.wix_common import Req, WixError, invalid, new_id, wire_time

if TYPE_CHECKING:
    from tests.fakes.wix import FakeWix

BASE = "/calendar/v3/conferences/v1"
# The site's default business resource (Conference Object, `resourceId`).
BUSINESS_RESOURCE_ID = "4e0579a5-491e-4e70-a872-d097eed6e520"
CUSTOM_LINK_APP_ID = "0c5e7a1d-6f3b-4c8e-9a2d-5b7f1e3c9d40"  # any id: clients find it by its place
ZOOM_APP_ID = "3f1c2b7e-8d4a-4e6f-a1b2-c3d4e5f60718"


def default_providers() -> list[dict[str, Any]]:
    return [
        {"id": ZOOM_APP_ID, "name": "Zoom", "connectionMethods": ["OAUTH"]},
        {"id": CUSTOM_LINK_APP_ID, "name": "Custom Link", "connectionMethods": ["CUSTOM"]},
    ]


def list_providers(fake: FakeWix, req: Req) -> dict[str, Any]:
    return {"providers": copy.deepcopy(fake.conferencing_providers)}


def _resources(fake: FakeWix) -> set[str]:
    return {str(s["resourceId"]) for s in fake.staff.values()} | {BUSINESS_RESOURCE_ID}


def connect(fake: FakeWix, req: Req) -> dict[str, Any]:
    body = req.body
    for name in ("appId", "resourceId", "connectionMethod"):
        if not body.get(name):
            raise invalid(name, "must not be empty")
    provider = next((p for p in fake.conferencing_providers if p["id"] == body["appId"]), None)
    if provider is None:
        raise WixError(404, "PROVIDER_NOT_FOUND", "NOT_FOUND: conferencing provider not found")
    if body["resourceId"] not in _resources(fake):
        raise WixError(404, "RESOURCE_NOT_FOUND", "NOT_FOUND: resource not found")
    method = body["connectionMethod"]
    if method not in provider["connectionMethods"]:
        raise WixError(428, "CONNECTION_METHOD_NOT_SUPPORTED", f"FAILED_PRECONDITION: no {method}")
    if method != "CUSTOM":
        raise WixError(428, "CONNECTION_METHOD_NOT_SUPPORTED", "FAILED_PRECONDITION: fake has CUSTOM only")
    options = body.get("customOptions") or {}
    if not options.get("url"):
        raise invalid("customOptions.url", "must not be empty")
    connection = {
        "id": new_id(),
        "appId": provider["id"],
        "resourceId": body["resourceId"],
        "connectionMethod": "CUSTOM",
        "status": "CONNECTED",
        "connectedDate": wire_time(fake.clock()),
        "customOptions": {k: options[k] for k in ("url", "password", "description") if options.get(k)},
    }
    fake.conferencing[(body["resourceId"], provider["id"])] = connection  # replaces the previous one
    return {"connection": copy.deepcopy(connection)}


def list_connections(fake: FakeWix, req: Req) -> dict[str, Any]:
    found = sorted(fake.conferencing.values(), key=lambda c: str(c["connectedDate"]), reverse=True)
    return {"connections": copy.deepcopy(found)}


def mark_as_disconnected(fake: FakeWix, req: Req) -> dict[str, Any]:
    for name in ("appId", "resourceId"):
        if not req.body.get(name):
            raise invalid(name, "must not be empty")
    connection = fake.conferencing.pop((req.body["resourceId"], req.body["appId"]), None)
    if connection is None:
        raise WixError(428, "RESOURCE_NOT_CONNECTED", "FAILED_PRECONDITION: resource is not connected")
    return {"connection": {**copy.deepcopy(connection), "status": "DISCONNECTED"}}
