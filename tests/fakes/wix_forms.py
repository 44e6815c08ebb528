"""Fake Wix Forms for booking forms (wix-forms.md): Get Form, and Create Booking's `formSubmission` check.

The provisioned Meetings form's real targets are not documented (wix-forms.md §2), so the fake's
targets are deliberately not the Bookings ones for email and phone: an adapter must find the
contact fields through `contactMapping`, never by target name (§1.4).
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from tests.fakes.wix_common import Req, WixError, invalid, new_id

if TYPE_CHECKING:
    from tests.fakes.wix import FakeWix

MEETINGS_FORM_NAMESPACE = "wix.meetings.form"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # wix-forms.md §1.5, §3: phone values are E.164


def _input(
    target: str, *, required: bool, contact: str | None, identifier: str, fmt: str | None = None
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "target": target,
        "required": required,
        "inputType": "STRING",
        "pii": contact is not None,
    }
    if contact:
        options["contactMapping"] = {"contactField": contact}
    string: dict[str, Any] = {"componentType": "PHONE_INPUT" if fmt == "PHONE" else "TEXT_INPUT"}
    if fmt:
        string["validation"] = {"format": fmt}
    options["stringOptions"] = string
    return {
        "id": new_id(),
        "fieldType": "INPUT",
        "identifier": identifier,
        "hidden": False,
        "inputOptions": options,
    }


def meetings_form() -> dict[str, Any]:
    """A booking form in the `wix.meetings.form` namespace, as provisioning creates one (§2)."""
    return {
        "id": new_id(),
        "namespace": MEETINGS_FORM_NAMESPACE,
        "revision": "1",
        "formFields": [
            _input("first_name", required=True, contact="FIRST_NAME", identifier="CONTACTS_FIRST_NAME"),
            _input("last_name", required=False, contact="LAST_NAME", identifier="CONTACTS_LAST_NAME"),
            _input("email_4f2a", required=True, contact="EMAIL", identifier="CONTACTS_EMAIL", fmt="EMAIL"),
            _input("phone_9c1d", required=False, contact="PHONE", identifier="CONTACTS_PHONE", fmt="PHONE"),
            _input("add_your_message", required=False, contact=None, identifier="TEXT_AREA"),
            {"id": new_id(), "fieldType": "DISPLAY", "identifier": "SUBMIT_BUTTON", "displayOptions": {}},
        ],
        "deletedFormFields": [],
    }


def get_form(fake: FakeWix, req: Req) -> dict[str, Any]:
    """`GET /form-schema-service/v4/forms/{formId}` → `{form}` (wix-forms.md §1.1)."""
    form = fake.forms.get(req.groups[0])
    if form is None:
        raise WixError(404, "FORM_NOT_FOUND", "NOT_FOUND: form not found")
    return {"form": copy.deepcopy(form)}


_CONTACT_KEYS = {"FIRST_NAME": "firstName", "LAST_NAME": "lastName", "EMAIL": "email", "PHONE": "phone"}


def contact_from_submission(fake: FakeWix, form_id: str | None, submission: dict[str, Any]) -> dict[str, Any]:
    """Validates a Create Booking `formSubmission` and returns the contact Wix derives from it.

    A key that is not a target fails the whole submission; a required field must be present;
    a phone must be E.164 (wix-forms.md §0 rules 1-5, §3).
    """
    form = fake.forms.get(form_id or "")
    if form is None:
        raise invalid("formSubmission", "the service has no booking form")
    fields = {f["inputOptions"]["target"]: f for f in form["formFields"] if f["fieldType"] == "INPUT"}
    for key in submission:
        if key not in fields:
            raise invalid(
                "formSubmission", f"{key} is not a field of the booking form", "SUBMISSION_VALIDATION"
            )
    contact: dict[str, Any] = {}
    for target, field in fields.items():
        options = field["inputOptions"]
        value = submission.get(target)
        if options.get("required") and value in (None, ""):
            raise invalid(
                "formSubmission", f"{target} must have required property '{target}'", "SUBMISSION_VALIDATION"
            )
        if value is None:
            continue
        if not isinstance(value, str):
            raise invalid("formSubmission", f"{target} must be string", "SUBMISSION_VALIDATION")
        fmt = options.get("stringOptions", {}).get("validation", {}).get("format")
        if fmt == "PHONE" and not E164.match(value):
            raise invalid("formSubmission", f'{target} must match format "phone"', "SUBMISSION_VALIDATION")
        mapped = _CONTACT_KEYS.get(options.get("contactMapping", {}).get("contactField", ""))
        if mapped:
            contact[mapped] = value
    return contact
