"""Scheduling-link defaults and rules of the local engine: what provisioning creates, what a valid link is.

Meetings' own restrictions (one host, one location per link) are built into model.Link; the rest
is checked here before a link is stored.
"""

from __future__ import annotations

import re
import uuid
from datetime import time, timedelta

from pydantic import ValidationError

from wix_meetings_mcp.bookings.errors import InvalidArgument
from wix_meetings_mcp.bookings.local.slots import Window
from wix_meetings_mcp.bookings.model import Host, Link, Location, Policy

DEFAULT_HOST_ID = "host_1"
BUSINESS_HOURS: dict[int, list[Window]] = {day: [(time(9), time(17))] for day in range(5)}  # Mon-Fri


def default_link() -> Link:
    """What Provision Meetings App creates: one host and a 30-minute phone meeting, 24 h cancellation."""
    return Link(
        link_id=uuid.uuid4().hex,
        name="30 Minute Meeting",
        slug="30-minute-meeting",
        durations_minutes=(30,),
        location=Location(kind="phone"),
        host=Host(host_id=DEFAULT_HOST_ID, name="Host"),
        policy=Policy(cancellation_window=timedelta(hours=24), min_notice=None, max_advance=None),
    )


def validated(**fields: object) -> Link:
    try:
        link = Link.model_validate(fields)
    except ValidationError as exc:
        raise InvalidArgument(f"Invalid link: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']}).") from None
    problems = []
    if not link.name.strip():
        problems.append("the name is empty")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", link.slug):
        problems.append("the slug must be lowercase letters, digits and single dashes")
    if not link.durations_minutes or any(not 0 < d <= 24 * 60 for d in link.durations_minutes):
        problems.append("durations must be 1 to 1440 minutes")
    if link.buffer_minutes < 0:
        problems.append("the buffer cannot be negative")
    if link.price is not None and (
        link.price.amount < 0
        or (link.price.deposit is not None and not 0 <= link.price.deposit <= link.price.amount)
    ):
        problems.append("the price must be positive and the deposit between 0 and the price")
    limits = (link.policy.cancellation_window, link.policy.min_notice, link.policy.max_advance)
    if any(value is not None and value < timedelta(0) for value in limits):
        problems.append("policy durations cannot be negative")
    if problems:
        raise InvalidArgument(f"Invalid link: {'; '.join(problems)}.")
    return link


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "meeting"
