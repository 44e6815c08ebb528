"""book_meeting: book an offered slot exactly once, after every guardrail passed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from wix_meetings_mcp.bookings.attendees import same_attendee
from wix_meetings_mcp.bookings.errors import InvalidSlot, SlotUnavailable
from wix_meetings_mcp.bookings.model import Attendee, BookingRequest, Meeting, MeetingQuery, Slot
from wix_meetings_mcp.bookings.port import Backend
from wix_meetings_mcp.bookings.receipts import KeyClaim
from wix_meetings_mcp.tools import guards, journal
from wix_meetings_mcp.tools.context import Deps, ToolContext, deps
from wix_meetings_mcp.tools.idempotency import once, once_kept
from wix_meetings_mcp.tools.results import BookResult, View, meeting_out
from wix_meetings_mcp.tools.slots import TimeZoneArg
from wix_meetings_mcp.tools.text import normalized_contact
from wix_meetings_mcp.tools.timefmt import local

EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9][0-9 ().\-]{4,30}$"

SlotId = Annotated[str, Field(min_length=1, max_length=512, description="From find_slots.")]
IdempotencyKey = Annotated[
    str | None,
    Field(
        default=None,
        min_length=8,
        max_length=128,
        description="For safe retries.",
    ),
]
NotifyAttendee = Annotated[bool, Field(description="Tell the attendee.")]


class AttendeeIn(BaseModel):
    """The person booked."""

    @field_validator("name", "email", "phone", mode="before")
    @classmethod
    def _plain(cls, value: object, info: ValidationInfo) -> object:
        return normalized_contact(value, str(info.field_name)) if isinstance(value, str) else value

    @field_validator("guest_emails", mode="before")
    @classmethod
    def _plain_guests(cls, value: object) -> object:
        if isinstance(value, list):
            return [normalized_contact(v, "guest email") if isinstance(v, str) else v for v in value]
        return value

    name: str = Field(min_length=1, max_length=200, description="Full name.")
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL, description="Email.")
    phone: str | None = Field(default=None, max_length=32, pattern=PHONE, description="Phone, E.164.")
    time_zone: str | None = Field(default=None, max_length=64, description="IANA zone.")
    language: str | None = Field(
        default=None,
        max_length=16,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        description="e.g. en, de-AT.",
    )
    guest_emails: list[Annotated[str, Field(max_length=254, pattern=EMAIL)]] = Field(
        default_factory=list, max_length=5, description="Up to 5 emails."
    )


Notes = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=2000)]] | None,
    Field(
        default=None,
        max_length=30,
        description="Form answers, UTM keys.",
    ),
]


async def book_meeting(
    slot_id: SlotId,
    attendee: AttendeeIn,
    ctx: ToolContext,
    expected_start: Annotated[
        AwareDatetime | None,
        Field(
            default=None,
            description="Slot start, as a check.",
        ),
    ] = None,
    time_zone: TimeZoneArg = None,
    notes: Notes = None,
    invite_title: Annotated[
        str | None, Field(default=None, max_length=200, description="Invitation title.")
    ] = None,
    invite_description: Annotated[
        str | None, Field(default=None, max_length=2000, description="Invitation text.")
    ] = None,
    notify_attendee: NotifyAttendee = True,
    idempotency_key: IdempotencyKey = None,
    dry_run: Annotated[bool, Field(description="Write nothing.")] = False,
) -> BookResult:
    """Book a slot for a person (name and email or phone), checking plan, policy and that it is
    free; a repeat returns the same meeting. Read `when` aloud (host_when: owner's time).
    unsaved_notes: notes not stored.
    """
    return await book(
        deps(ctx),
        slot_id,
        attendee,
        expected_start=expected_start,
        time_zone=time_zone,
        notes=notes,
        invite_title=invite_title,
        invite_description=invite_description,
        notify_attendee=notify_attendee,
        idempotency_key=idempotency_key,
        dry_run=dry_run,
    )


async def book(
    d: Deps,
    slot_id: str,
    attendee: AttendeeIn,
    *,
    expected_start: datetime | None = None,
    time_zone: str | None = None,
    notes: dict[str, str] | None = None,
    invite_title: str | None = None,
    invite_description: str | None = None,
    notify_attendee: bool = True,
    idempotency_key: str | None = None,
    dry_run: bool = False,
) -> BookResult:
    """The one way a meeting is booked, whoever asks (an agent's tool call, the public page):
    every guardrail, then the write, exactly once per idempotency key."""
    person = Attendee(
        name=attendee.name,
        email=attendee.email,
        phone=attendee.phone,
        time_zone=attendee.time_zone,
        language=attendee.language,
        guest_emails=tuple(attendee.guest_emails),
    )
    view = await d.view(time_zone or attendee.time_zone)
    ref = await d.slot_ref(slot_id)
    if expected_start is not None and expected_start != ref.start:
        raise InvalidSlot(
            f"that slot_id starts at {local(ref.start, view.tz).isoformat()}, not at expected_start",
            next_step="Pass the slot_id listed beside the start you mean.",
        )

    def result(meeting: Meeting) -> BookResult:
        booked = _booked(meeting, view, already=False)
        return booked.model_copy(update={"notification": d.notification(meeting, notify_attendee)})

    async def write(key: KeyClaim | None) -> BookResult:
        backend = d.backend
        link = await backend.get_link(ref.link_id)
        slot = ref.on(link)
        guards.link_active(link)
        guards.slot_fits_link(slot, link)
        guards.contact(person, link)
        guards.bookable_time(slot, link, d.clock())
        account = await d.account_for_booking()
        guards.link_features(account, link)
        if not await backend.is_slot_free(slot):
            return _already_booked(await _same_booking(backend, slot, person), view)
        guards.plan_allows_another_meeting(account)
        if dry_run:
            return BookResult(
                status="dry_run",
                next_step=f"Nothing written. {view.when(slot.start, slot.end)} is free and bookable; "
                "call again without dry_run to book it.",
            )
        request = BookingRequest(
            slot=slot,
            attendee=person,
            notes=notes or {},
            invite_title=invite_title,
            invite_description=invite_description,
            notify_attendee=notify_attendee,
        )
        # Where the backend can, the result kept under the key and the audit row commit with the
        # meeting: one durable commit per booking.
        receipt = journal.receipt(key, result) if d.keeps_receipts else None
        try:
            meeting = await backend.book(request, meetings_limit=account.plan.meetings_limit, receipt=receipt)
        except SlotUnavailable:
            return _already_booked(await _same_booking(backend, slot, person), view)
        return result(meeting)

    args = {"slot_id": slot_id, "attendee": attendee.model_dump(), "notes": notes, "invite_title": invite_title,
            "invite_description": invite_description, "notify_attendee": notify_attendee}  # fmt: skip
    if dry_run:
        return await write(None)
    if d.keeps_receipts:
        return await once_kept(
            d.idempotency, scope="book_meeting", key=idempotency_key, args=args, now=d.clock(),
            result_type=BookResult, run=write, wrote=lambda r: not r.already_booked,
        )  # fmt: skip
    return await once(
        d.idempotency, scope="book_meeting", key=idempotency_key, args=args, now=d.clock(),
        result_type=BookResult, run=lambda: write(None),
    )  # fmt: skip


_NEXT = {
    "confirmed": "Read the `when` sentence back to the person.",
    "pending": "The host must approve it; tell the person they will hear back.",
    "payment_required": "Send the person payment_url; the meeting is held until they pay.",
    "cancelled": "This meeting was cancelled.",
}


def _booked(meeting: Meeting, view: View, *, already: bool) -> BookResult:
    return BookResult(
        status=meeting.status,
        meeting=meeting_out(meeting, view),
        payment_url=meeting.payment_url,
        already_booked=already,
        unsaved_notes=list(meeting.unsaved_notes) or None,
        next_step="This person already holds this slot; nothing new was booked."
        if already
        else _NEXT[meeting.status],
    )


def _already_booked(meeting: Meeting | None, view: View) -> BookResult:
    if meeting is None:
        raise SlotUnavailable(
            "that time was just taken", next_step="Call find_slots again and offer other times."
        )
    return _booked(meeting, view, already=True)


async def _same_booking(backend: Backend, slot: Slot, person: Attendee) -> Meeting | None:
    """The live meeting this person already holds in this slot, if any (natural dedupe)."""
    page = await backend.list_meetings(
        MeetingQuery(start=slot.start, end=slot.end, link_id=slot.link_id, status="all", limit=100)
    )
    for meeting in page.meetings:
        if (
            meeting.status != "cancelled"
            and meeting.start == slot.start
            and _same_person(meeting.attendee, person)
        ):
            return meeting
    return None


def _same_person(a: Attendee, b: Attendee) -> bool:
    return same_attendee(a.email, a.phone, b.email, b.phone)
