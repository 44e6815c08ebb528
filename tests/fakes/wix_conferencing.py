"""Fake Wix handlers for the Conferencing API (Conference V1, Developer Preview): providers, connect,
list connections, disconnect — only as far as a static custom link needs them.

Written from dev.wix.com, business-management/calendar/conferencing/ (the Wix SDK's typings for this
API are not in any source we could read, so these pages are the only primary source):
- conference-v1/list-providers: `GET .../providers`; installed providers plus Custom Link, always
  listed last. conference-v1/sample-flows: a provider's `id` is the `appId` to connect with.
- conference-v1/connect: `POST .../connections/connect`; `connectionMethod` is OAUTH, CREDENTIALS
  or CUSTOM (anything else is a 400 here), CUSTOM takes `customOptions` (a static URL, password
  and description) and answers `connection`; one connection per provider and resource, a
  reconnect replaces it and refreshes `connectedDate`. Errors: one each of 400, 401, 403, 404, 428.
  sample-flows names the body's `appId`, `resourceId` and `connectionMethod`.
- conference-v1/list-connections: `GET .../connections`, newest `connectedDate` first, with each
  connection's status.
- conference-v1/mark-connection-as-disconnected: `POST .../connections/mark-as-disconnected`; for a
  custom link it removes the stored link. Errors: one each of 403, 404, 428. The 428 is taken to
  be the resource-not-connected answer: conferencing-provider-v1/mark-connection-as-disconnected
  names its one 428 `ResourceNotConnected`, and Wix passes a provider's error on to the caller.
- conference-v1/conference-object: the default business resource id.
Not shown by any page we could read, so kept as the adapter spells them (a mismatch with the real
API would not show here): the names inside `customOptions` (`url`, `password`, `description`, as
the Conference object names its own), the fields of a connection other than `connectedDate`, the
disconnect body (`appId`, `resourceId`), the wrapper keys `providers` / `connections`, any filter
or paging of List Connections, and the application error codes (ours).
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
CONNECTION_METHODS = ("OAUTH", "CREDENTIALS", "CUSTOM")


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
    method = body["connectionMethod"]
    if method not in CONNECTION_METHODS:
        raise invalid("connectionMethod", f"must be one of {', '.join(CONNECTION_METHODS)}")
    provider = next((p for p in fake.conferencing_providers if p["id"] == body["appId"]), None)
    if provider is None:
        raise WixError(404, "PROVIDER_NOT_FOUND", "NOT_FOUND: conferencing provider not found")
    if body["resourceId"] not in _resources(fake):  # a staff member id is not a resource id
        raise WixError(404, "RESOURCE_NOT_FOUND", "NOT_FOUND: resource not found")
    if method not in provider["connectionMethods"] or method != "CUSTOM":  # the fake has CUSTOM only
        raise WixError(428, "CONNECTION_METHOD_NOT_SUPPORTED", f"FAILED_PRECONDITION: no {method}")
    options = body.get("customOptions")
    if not isinstance(options, dict) or not options.get("url"):
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


def add_oauth_connection(fake: FakeWix, resource_id: str, app_id: str = ZOOM_APP_ID) -> dict[str, Any]:
    """A resource's connection to another provider, as if its OAuth flow had completed just now."""
    connection = {
        "id": new_id(),
        "appId": app_id,
        "resourceId": resource_id,
        "connectionMethod": "OAUTH",
        "status": "CONNECTED",
        "connectedDate": wire_time(fake.clock()),
    }
    fake.conferencing[(resource_id, app_id)] = connection
    return connection


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
