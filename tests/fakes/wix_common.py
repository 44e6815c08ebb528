"""Shared pieces of the fake Wix: the request view handlers get, the error they raise, wire helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

MEETINGS_APP_ID = "6646a75c-2027-4f49-976c-58f3d713ed0f"
BOOKINGS_APP_ID = "13d21c63-b5ec-5912-8397-c3a5ddb27a97"
ACTIVE = ("CREATED", "CONFIRMED", "PENDING", "WAITING_LIST")


class WixError(Exception):
    """Rendered as the §1.4 envelope: an applicationError, or a validationError when `violations`."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        violations: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.violations = status, code, message, violations

    def envelope(self) -> dict[str, Any]:
        if self.violations is not None:
            return {
                "message": self.message,
                "details": {"validationError": {"fieldViolations": self.violations}},
            }
        details: dict[str, Any] = {
            "applicationError": {"code": self.code, "description": self.message, "data": {}}
        }
        return {"message": self.message, "details": details}


def invalid(field_name: str, description: str, rule: str | None = None) -> WixError:
    violation: dict[str, Any] = {"field": field_name, "description": description, "violatedRule": "OTHER"}
    if rule:
        violation["ruleName"] = rule
    return WixError(400, None, f"INVALID_ARGUMENT: {description}", violations=[violation])


@dataclass
class Req:
    method: str
    path: str  # the public form (aliases of §1.1 already mapped)
    groups: tuple[str, ...]
    body: dict[str, Any]
    params: dict[str, list[str]] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


def new_id() -> str:
    return str(uuid.uuid4())


def wire_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as Wix emits timestamps."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def with_offset(moment: datetime, zone: ZoneInfo) -> str:
    """Booking slot dates as Wix echoes them: local, with milliseconds and the offset."""
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S.000") + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def parse_local(value: str, zone: ZoneInfo, field_name: str) -> datetime:
    """A local date-time (`2026-03-10T10:00:00`, optional ms or offset); plain dates are rejected."""
    if "T" not in value:
        raise invalid(field_name, "must be a local date-time YYYY-MM-DDThh:mm:ss")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(
            field_name, "must be a local date-time YYYY-MM-DDThh:mm:ss", "INVALID_DATE_FORMAT"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def revision_of(value: object) -> int | None:
    """Revisions are int64 as JSON strings; accept strings or numbers (§1.2)."""
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        raise invalid("revision", "must be a number") from None


def check_revision(entity: dict[str, Any], sent: object, what: str) -> None:
    revision = revision_of(sent)
    if revision is None:
        raise invalid("revision", "revision must not be empty")
    if revision != int(entity["revision"]):
        raise WixError(
            409, "INVALID_REVISION", f"ABORTED: {what} has a different revision than the one you sent"
        )


def bump(entity: dict[str, Any], now: datetime) -> None:
    entity["revision"] = str(int(entity["revision"]) + 1)
    entity["updatedDate"] = wire_time(now)
