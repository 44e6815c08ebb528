"""Which booking notes can travel in a Create Booking `formSubmission` (wix-forms.md), decided purely.

A form submission replaces the booking's contact (Verified correction 2), so one is sent only when
the Meetings form has a field for every contact value the attendee gave and at least one note key
is itself a field of that form; the rest of the notes are not sent and are reported back. Contact
fields are found by `contactMapping` (or the `CONTACTS_*` identifier), never by target name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wix_meetings_mcp.bookings.attendees import phone_e164
from wix_meetings_mcp.bookings.model import Attendee
from wix_meetings_mcp.bookings.wix import _payloads as p

_IDENTIFIERS = {
    "CONTACTS_FIRST_NAME": "FIRST_NAME",
    "CONTACTS_LAST_NAME": "LAST_NAME",
    "CONTACTS_EMAIL": "EMAIL",
    "CONTACTS_PHONE": "PHONE",
}


@dataclass(frozen=True)
class SubmissionPlan:
    submission: dict[str, str] | None = None  # None: book with contactDetails, no form submission
    saved: dict[str, str] = field(default_factory=dict)  # notes stored in the submission
    unsaved: tuple[str, ...] = ()  # note keys not sent


def _contact_values(attendee: Attendee) -> dict[str, str]:
    first, _, last = attendee.name.strip().partition(" ")
    values = {"FIRST_NAME": first, "LAST_NAME": last.strip(), "EMAIL": attendee.email or ""}
    if attendee.phone:
        # Form phones are E.164 (wix-forms.md §1.5); a number we cannot write so is kept as "".
        normal = phone_e164(attendee.phone) or ""
        values["PHONE"] = normal if normal.startswith("+") else ""
    return {kind: value for kind, value in values.items() if value or kind == "PHONE"}


def plan(form: p.Form | None, attendee: Attendee, notes: Mapping[str, str]) -> SubmissionPlan:
    everything_unsaved = SubmissionPlan(unsaved=tuple(notes))
    if not notes:
        return SubmissionPlan()
    if form is None:
        return everything_unsaved
    inputs = {
        f.input_options.target: f
        for f in form.form_fields
        if f.field_type == "INPUT" and f.input_options and f.input_options.target
    }
    contact_targets: dict[str, str] = {}
    for target, wire in inputs.items():
        mapping = wire.input_options.contact_mapping if wire.input_options else None
        kind = (mapping.contact_field if mapping else None) or _IDENTIFIERS.get(wire.identifier or "")
        if kind in ("FIRST_NAME", "LAST_NAME", "EMAIL", "PHONE"):
            contact_targets.setdefault(kind, target)
    values = _contact_values(attendee)
    if any(kind not in contact_targets or not value for kind, value in values.items()):
        return everything_unsaved  # the submission would drop part of the attendee's contact
    submission = {
        contact_targets[kind]: value for kind, value in values.items() if value and kind in contact_targets
    }
    contact = set(contact_targets.values())
    saved: dict[str, str] = {}
    for key, value in notes.items():
        found = inputs.get(key)
        options = found.input_options if found else None
        if options and key not in contact and options.input_type in (None, "STRING") and value:
            saved[key] = value
    if not saved:
        return everything_unsaved
    submission.update(saved)
    required = {t for t, f in inputs.items() if f.input_options and f.input_options.required}
    if required - set(submission):
        return everything_unsaved  # Wix would refuse the whole submission
    return SubmissionPlan(
        submission=submission, saved=saved, unsaved=tuple(k for k in notes if k not in saved)
    )
