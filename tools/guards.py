"""Guardrails, written once against domain types: plan limit, premium gates, link state, policies.

Each check raises the domain error the contract names, before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bookings.errors import (
    InvalidArgument,
    LinkInactive,
    PlanLimitReached,
    PolicyViolation,
    PremiumRequired,
    SlotUnavailable,
)
from bookings.model import Account, Attendee, Link, Meeting, Slot

_UPGRADE = "Ask the site owner to upgrade to a premium plan, then try again."


def link_active(link: Link) -> None:
    if not link.active:
        where = f" Visitors are sent to {link.redirect_url}." if link.redirect_url else ""
        raise LinkInactive(
            f"the scheduling link {link.name!r} is deactivated.{where}",
            next_step="Pick another link from list_scheduling_links, or activate_scheduling_link first.",
            link_id=link.link_id,
        )


def plan_allows_another_meeting(account: Account) -> None:
    limit = account.plan.meetings_limit
    if limit is not None and account.meetings_used >= limit:
        raise PlanLimitReached(
            f"the {account.plan.name} plan allows {limit} meetings and {account.meetings_used} are used "
            "(cancelled meetings do not count)",
            next_step="Cancel an unneeded meeting or upgrade to a premium plan.",
            limit=limit,
            used=account.meetings_used,
        )


def premium(account: Account, feature: str, enabled: bool) -> None:
    if not enabled:
        raise PremiumRequired(
            f"{feature} needs a premium plan (current plan: {account.plan.name})", next_step=_UPGRADE
        )


def link_features(account: Account, link: Link) -> None:
    """A link that charges or runs video needs the features it uses."""
    if link.price is not None:
        premium(account, "charging for meetings", account.features.paid_meetings)
    if link.location.kind == "video":
        premium(account, "video conferencing", account.features.video_conferencing)


def contact(attendee: Attendee, link: Link) -> None:
    if attendee.email is None and attendee.phone is None:
        raise InvalidArgument(
            "attendee needs an email or a phone number",
            next_step="Ask the person for their email address (or phone number) and call again.",
        )
    if attendee.email is None and not link.phone_only_allowed:
        raise InvalidArgument(
            f"the link {link.name!r} needs an email address; phone-only booking is not allowed on it",
            next_step="Ask the person for their email address and call again.",
        )


def bookable_time(slot: Slot, link: Link, now: datetime) -> None:
    """The link's policy on when a slot may start, relative to now."""
    policy = link.policy
    if slot.start <= now:
        raise SlotUnavailable("that slot is in the past", next_step="Call find_slots again.")
    if policy.min_notice is not None and slot.start < now + policy.min_notice:
        raise PolicyViolation(
            f"the link needs {_span(policy.min_notice.total_seconds())} notice before a meeting",
            next_step="Call find_slots for a later time.",
        )
    if policy.max_advance is not None and slot.start > now + policy.max_advance:
        raise PolicyViolation(
            f"the link takes bookings at most {_span(policy.max_advance.total_seconds())} ahead",
            next_step="Call find_slots for an earlier time.",
        )


def change_window(meeting: Meeting, link: Link, now: datetime, *, action: str, override: bool) -> None:
    """Cancellation and rescheduling close `cancellation_window` before the start (24 hours by default)."""
    window = link.policy.cancellation_window
    start = meeting.start.astimezone(UTC)  # timedelta arithmetic in a local zone would be wall-clock time
    if override or window is None or now <= start - window:
        return
    raise PolicyViolation(
        f"meetings can be {action} until {_span(window.total_seconds())} before the start; this one starts "
        f"in {_span(max((start - now).total_seconds(), 0))}",
        next_step="Only if the business owner asked for it, call again with override_policy=true.",
    )


def _span(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes % 1440 == 0 and minutes:
        days = minutes // 1440
        return f"{days} day{'s' * (days != 1)}" if days > 1 else "24 hours"
    if minutes % 60 == 0 and minutes:
        return f"{minutes // 60} hour{'s' * (minutes != 60)}"
    return f"{minutes} minute{'s' * (minutes != 1)}"
