"""Meetings after booking: list, read, reschedule, and cancel (confirmed by the user)."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from pydantic import Field

from wix_meetings_mcp.bookings.errors import InvalidArgument, InvalidSlot, SlotUnavailable
from wix_meetings_mcp.bookings.model import Meeting, MeetingFilter, MeetingQuery
from wix_meetings_mcp.tools import guards
from wix_meetings_mcp.tools.booking import EMAIL, IdempotencyKey, NotifyAttendee, SlotId
from wix_meetings_mcp.tools.confirm import (
    ConfirmAnswer,
    Gate,
    approved,
    confirmation_request,
    elicit_if_asked,
)
from wix_meetings_mcp.tools.context import Deps, ToolContext, confirmation_gate, deps
from wix_meetings_mcp.tools.idempotency import once
from wix_meetings_mcp.tools.links import ConfirmationToken
from wix_meetings_mcp.tools.results import CancelResult, MeetingResult, MeetingsResult, meeting_out
from wix_meetings_mcp.tools.slots import Cursor, FromDate, Limit, TimeZoneArg, ToDate
from wix_meetings_mcp.tools.text import fenced
from wix_meetings_mcp.tools.timefmt import open_day_range

MeetingId = Annotated[str, Field(min_length=1, max_length=128, description="From list_meetings.")]
OverridePolicy = Annotated[
    bool,
    Field(description="Owner only: skip the window."),
]
Reason = Annotated[str | None, Field(default=None, max_length=500, description="For the attendee.")]


async def list_meetings(
    ctx: ToolContext,
    from_date: FromDate = None,
    to_date: ToDate = None,
    link_id: Annotated[str | None, Field(default=None, max_length=128, description="Only this link.")] = None,
    status: Annotated[MeetingFilter, Field(description="Which meetings.")] = "upcoming",
    attendee_email: Annotated[
        str | None, Field(default=None, max_length=254, pattern=EMAIL, description="Only this attendee.")
    ] = None,
    time_zone: TimeZoneArg = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> MeetingsResult:
    """Meetings (default: upcoming, soonest first)."""
    d = deps(ctx)
    view = await d.view(time_zone)
    tz = view.tz
    start, end = open_day_range(from_date, to_date, tz)
    page = await d.backend.list_meetings(
        MeetingQuery(
            start=start,
            end=end,
            link_id=link_id,
            status=status,
            attendee_email=attendee_email,
            limit=limit,
            cursor=d.cursors.unwrap(cursor, tool="list_meetings"),
        )
    )
    return MeetingsResult(
        time_zone=tz.key,
        meetings=[meeting_out(m, view) for m in page.meetings],
        next_cursor=d.cursors.wrap(page.next_cursor),
    )


async def get_meeting(
    meeting_id: MeetingId, ctx: ToolContext, time_zone: TimeZoneArg = None
) -> MeetingResult:
    """A meeting."""
    d = deps(ctx)
    view = await d.view(time_zone)
    return MeetingResult(meeting=meeting_out(await d.backend.get_meeting(meeting_id), view))


async def reschedule_meeting(
    meeting_id: MeetingId,
    slot_id: SlotId,
    ctx: ToolContext,
    notify_attendee: NotifyAttendee = True,
    override_policy: OverridePolicy = False,
    idempotency_key: IdempotencyKey = None,
    time_zone: TimeZoneArg = None,
) -> MeetingResult:
    """Move a meeting to another slot of its link (until 24 hours before, by default)."""
    return await reschedule(
        deps(ctx),
        meeting_id,
        slot_id,
        notify_attendee=notify_attendee,
        override_policy=override_policy,
        idempotency_key=idempotency_key,
        time_zone=time_zone,
    )


async def reschedule(
    d: Deps,
    meeting_id: str,
    slot_id: str,
    *,
    notify_attendee: bool = True,
    override_policy: bool = False,
    idempotency_key: str | None = None,
    time_zone: str | None = None,
) -> MeetingResult:
    """The one way a meeting moves (an agent's tool call, the attendee's own page): link, window,
    policy and a free slot checked, then the write, exactly once per idempotency key."""
    asked = await d.view(time_zone) if time_zone else None  # a bad zone is refused before the write
    ref = await d.slot_ref(slot_id)

    async def move() -> MeetingResult:
        backend = d.backend
        meeting = await backend.get_meeting(meeting_id)
        if meeting.status == "cancelled":
            raise InvalidArgument(
                "a cancelled meeting cannot be rescheduled", next_step="Book a new meeting."
            )
        if ref.link_id != meeting.link_id:
            raise InvalidSlot(
                "that slot belongs to another scheduling link",
                next_step=f"Call find_slots with link_id {meeting.link_id!r}.",
            )
        link = await backend.get_link(meeting.link_id)
        slot = ref.on(link)
        guards.link_active(link)
        guards.slot_fits_link(slot, link)
        now = d.clock()
        guards.change_window(meeting, link, now, action="rescheduled", override=override_policy)
        guards.bookable_time(slot, link, now)
        if not await backend.is_slot_free(slot, ignore_meeting_id=meeting_id):
            raise SlotUnavailable("that time is no longer free", next_step="Call find_slots again.")
        moved = await backend.reschedule(
            meeting_id, slot, notify_attendee=notify_attendee, override_policy=override_policy
        )
        # Shown as the attendee sees it (host_when beside it), as when it was booked.
        return MeetingResult(
            meeting=meeting_out(moved, asked or await d.attendee_view(moved.attendee.time_zone)),
            notification=d.notification(moved, notify_attendee),
        )

    args = {"meeting_id": meeting_id, "slot_id": slot_id, "notify_attendee": notify_attendee,
            "override_policy": override_policy}  # fmt: skip
    return await once(
        d.idempotency, scope="reschedule_meeting", key=idempotency_key, args=args, now=d.clock(),
        result_type=MeetingResult, run=move,
    )  # fmt: skip


def _cancel_args(
    meeting_id: str, reason: str | None, notify_attendee: bool, override_policy: bool
) -> dict[str, object]:
    return {"meeting_id": meeting_id, "reason": reason, "notify_attendee": notify_attendee,
            "override_policy": override_policy}  # fmt: skip


async def _cancel_gate(
    meeting_id: str,
    reason: str | None,
    notify_attendee: bool,
    override_policy: bool,
    confirmation_token: str | None,
    ctx: ToolContext,
) -> Gate:
    d = deps(ctx)
    meeting = await d.backend.get_meeting(meeting_id)
    view = await d.view(None)
    question = (
        f"Cancel the meeting with {fenced(meeting.attendee.name)} on {view.when(meeting.start, meeting.end)}?"
    )
    if meeting.status == "cancelled":
        return Gate(decision="proceed", question=question)  # already done: nothing to confirm
    link = await d.backend.get_link(meeting.link_id)
    guards.change_window(meeting, link, d.clock(), action="cancelled", override=override_policy)
    return await confirmation_gate(
        ctx,
        tool="cancel_meeting",
        args=_cancel_args(meeting_id, reason, notify_attendee, override_policy),
        question=question + _told(d, meeting, notify_attendee),
        token=confirmation_token,
    )


def _told(d: Deps, meeting: Meeting, notify_attendee: bool) -> str:
    """Who will hear of the cancellation, claimed only where a message will really go."""
    if not notify_attendee:
        return " The attendee will not be notified."
    if d.notifications == "vendor":
        return " The attendee will be notified."
    if d.notifications == "mail" and meeting.attendee.email:
        return " The attendee will be emailed."
    return " The attendee will not be notified (no mail server is set up, or no email address for them)."


async def _ask_cancel(
    decided: Annotated[Gate, Resolve(_cancel_gate)],
) -> ConfirmAnswer | Elicit[ConfirmAnswer]:
    return elicit_if_asked(decided)


async def cancel_meeting(
    meeting_id: MeetingId,
    ctx: ToolContext,
    decided: Annotated[Gate, Resolve(_cancel_gate)],
    answer: Annotated[ElicitationResult[ConfirmAnswer], Resolve(_ask_cancel)],
    reason: Reason = None,
    notify_attendee: NotifyAttendee = True,
    override_policy: OverridePolicy = False,
    idempotency_key: IdempotencyKey = None,
    confirmation_token: ConfirmationToken = None,
    time_zone: TimeZoneArg = None,
) -> CancelResult:
    """Cancel a meeting (by default until 24 hours before). If the user can't be asked here, the
    first call returns a preview and confirmation_token to pass once they agree.
    """
    d = deps(ctx)
    args = _cancel_args(meeting_id, reason, notify_attendee, override_policy)
    if decided.decision == "token":
        return CancelResult.model_validate(
            confirmation_request(d.confirmations, "cancel_meeting", args, decided.question)
        )
    if not approved(decided, answer):
        return CancelResult(status="declined", next_step="The user did not confirm; the meeting stands.")
    return await cancel(
        d,
        meeting_id,
        reason=reason,
        notify_attendee=notify_attendee,
        override_policy=override_policy,
        idempotency_key=idempotency_key,
        time_zone=time_zone,
    )


async def cancel(
    d: Deps,
    meeting_id: str,
    *,
    reason: str | None = None,
    notify_attendee: bool = True,
    override_policy: bool = False,
    idempotency_key: str | None = None,
    time_zone: str | None = None,
) -> CancelResult:
    """The one way a meeting is cancelled, once whoever asks has confirmed it (an agent's tool call
    after its confirmation, the attendee on their own page): the window is checked again right
    before the write, since a confirmation may be minutes old."""
    args = _cancel_args(meeting_id, reason, notify_attendee, override_policy)
    asked = await d.view(time_zone) if time_zone else None

    async def write() -> CancelResult:
        current = await d.backend.get_meeting(meeting_id)
        if current.status != "cancelled":
            link = await d.backend.get_link(current.link_id)
            guards.change_window(current, link, d.clock(), action="cancelled", override=override_policy)
        meeting = await d.backend.cancel(
            meeting_id, reason=reason, notify_attendee=notify_attendee, override_policy=override_policy
        )
        return CancelResult(
            status="cancelled",
            meeting=meeting_out(meeting, asked or await d.attendee_view(meeting.attendee.time_zone)),
            notification=d.notification(meeting, notify_attendee),
        )

    return await once(
        d.idempotency, scope="cancel_meeting", key=idempotency_key, args=args, now=d.clock(),
        result_type=CancelResult, run=write,
    )  # fmt: skip
