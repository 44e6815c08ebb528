"""Guardrails, written once against domain types: plan limit, premium gates, link state, policies,
and the Meetings restrictions on what a scheduling link may be (one host, one location, sane values).

Each check raises the domain error the contract names, before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from wix_meetings_mcp.bookings.errors import (
    InvalidArgument,
    InvalidSlot,
    LinkInactive,
    NotSupported,
    PlanLimitReached,
    PolicyViolation,
    PremiumRequired,
    SlotUnavailable,
)
from wix_meetings_mcp.bookings.model import Account, Attendee, Link, Location, Meeting, Price, Slot

_UPGRADE = "Ask the site owner to upgrade to a premium plan, then try again."
# On the embedded engine there is no site owner: the plan is a setting of the server.
_LOCAL_UPGRADE = "Tell the user the server's setting MEETINGS_PLAN=premium (then a restart) lifts this."


def _upgrade(account: Account) -> str:
    return _LOCAL_UPGRADE if account.backend == "local" else _UPGRADE


MIN_DURATION, MAX_DURATION = 5, 720  # minutes: shorter is no meeting, longer than 12 hours is a typo


def link_active(link: Link) -> None:
    if not link.active:
        where = f" Visitors are sent to {link.redirect_url}." if link.redirect_url else ""
        raise LinkInactive(
            f"the scheduling link {link.name!r} is deactivated.{where}",
            next_step="Pick another link from list_scheduling_links, or activate_scheduling_link first.",
            link_id=link.link_id,
        )


def slot_fits_link(slot: Slot, link: Link) -> None:
    """A slot id is only as current as the link it was offered for: its duration must still be one
    the link allows (an id minted before a change would book the old length)."""
    minutes = round((slot.end - slot.start).total_seconds() / 60)
    if minutes not in link.durations_minutes:
        raise InvalidSlot(
            f"that slot is {minutes} minutes long, and the link now takes "
            + " or ".join(str(m) for m in link.durations_minutes)
            + " minutes",
            next_step="Call find_slots again for current times.",
        )


def plan_allows_another_meeting(account: Account) -> None:
    limit = account.plan.meetings_limit
    if limit is not None and account.meetings_used >= limit:
        raise PlanLimitReached(
            f"the {account.plan.name} plan allows {limit} meetings and {account.meetings_used} are used "
            "(past and upcoming count, cancelled ones do not)",
            next_step="Cancel an unneeded meeting, or "
            + (
                "tell the user the server's setting MEETINGS_PLAN=premium (then a restart) lifts the limit; "
                "a test database starts over with `meetings-mcp reset --yes`."
                if account.backend == "local"
                else "ask the site owner to upgrade to a premium plan."
            ),
            limit=limit,
            used=account.meetings_used,
        )


def premium(account: Account, feature: str, enabled: bool) -> None:
    if not enabled:
        raise PremiumRequired(
            f"{feature} needs a premium plan (current plan: {account.plan.name})", next_step=_upgrade(account)
        )


def link_features(account: Account, link: Link) -> None:
    """A link that charges or runs video needs the features it uses."""
    paid_and_video(account, price=link.price, location=link.location)


def paid_and_video(account: Account, *, price: Price | None, location: Location | None) -> None:
    """Charging (a price or a deposit) and a video location are premium features."""
    if price is not None:
        premium(account, "charging for meetings", account.features.paid_meetings)
    if location is not None and location.kind == "video":
        premium(account, "video conferencing", account.features.video_conferencing)


def one_host(host_ids: Sequence[str]) -> str | None:
    """Meetings: one host per scheduling link (no team or round-robin scheduling). None: the default host."""
    if len(host_ids) > 1:
        raise NotSupported(
            f"a Meetings scheduling link has exactly one host, not {len(host_ids)} (no team or round-robin "
            "scheduling)",
            next_step="Create one scheduling link per host.",
        )
    return host_ids[0] if host_ids else None


def one_location(locations: Sequence[Location]) -> Location | None:
    """Meetings: one location per scheduling link. None: none was given."""
    if len(locations) > 1:
        raise NotSupported(
            f"a Meetings scheduling link has exactly one location, not {len(locations)}",
            next_step="Pick one location, or create one scheduling link per location.",
        )
    if not locations:
        return None
    location = locations[0]
    if location.kind == "custom_address" and not location.address:
        raise InvalidArgument(
            "a custom_address location needs the address", next_step="Pass the street address as address."
        )
    if location.address and location.kind not in ("custom_address", "business_address"):
        raise InvalidArgument(
            f"a {location.kind} location takes no address",
            next_step="Leave address out, or use custom_address for a street address.",
        )
    return location


def durations(minutes: Sequence[int]) -> tuple[int, ...]:
    """Allowed meeting lengths: at least one, each 5 minutes to 12 hours, none twice; the first is the default."""
    if not minutes:
        raise InvalidArgument("give at least one duration", next_step="Pass durations_minutes, e.g. [30].")
    odd = [m for m in minutes if not MIN_DURATION <= m <= MAX_DURATION]
    if odd:
        raise InvalidArgument(
            f"durations must be {MIN_DURATION} to {MAX_DURATION} minutes; {odd} are not",
            next_step="Pass durations in minutes, e.g. [30] or [30, 60].",
        )
    if len(set(minutes)) != len(minutes):
        raise InvalidArgument("a duration is listed twice", next_step="List each duration once.")
    return tuple(minutes)


def price(price: Price) -> None:
    """A positive price; a deposit, if any, is more than nothing and at most the price."""
    if price.amount <= 0:
        raise InvalidArgument(
            "a price must be more than 0", next_step="Leave price out (or make_free) for a free link."
        )
    deposit = price.deposit
    if deposit is not None and not 0 < deposit <= price.amount:
        raise InvalidArgument(
            f"the deposit ({deposit} {price.currency}) must be more than 0 and at most the price "
            f"({price.amount} {price.currency})",
            next_step="Lower the deposit, or leave it out to charge the full price when booking.",
        )


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
