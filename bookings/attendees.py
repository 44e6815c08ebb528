"""The one "same attendee" rule every backend and the tools share.

Two attendees are the same person when both give an email and the emails are equal ignoring case
(`str.casefold`), or, when neither gives an email, both give a phone and the phones are equal as
E.164 digits. One email against none is never the same person: knowing someone's phone number
must not reveal their booking to a caller who names another email. Vendors store what they normalise (Wix keeps form phones as E.164), so a look-up
that compares numbers as typed misses a booking it just made.

Phone normalisation is deliberately small (no numbering plan, so no `phonenumbers`): spaces,
dashes, dots and brackets go, a leading `00` international prefix becomes `+`. A national number
without a country code stays as its digits; it only ever equals itself typed the same way.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[\s\-.()/]")


def email_key(email: str | None) -> str | None:
    """An email as compared: trimmed and case-folded; None when absent or blank."""
    key = (email or "").strip().casefold()
    return key or None


def phone_e164(phone: str | None) -> str | None:
    """`+<digits>` for an international number (`+`, or the `00` prefix), else the bare digits.

    None when there are no digits at all, or when anything but punctuation is left over.
    """
    compact = _PUNCTUATION.sub("", phone or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    plus = compact.startswith("+")
    digits = compact.removeprefix("+")
    if not digits.isdigit():
        return None
    return ("+" if plus else "") + digits


def phone_key(phone: str | None) -> str | None:
    """The digits a phone is compared by: E.164 without the `+` (None when not a number)."""
    normal = phone_e164(phone)
    return normal.removeprefix("+") if normal else None


def same_attendee(email_a: str | None, phone_a: str | None, email_b: str | None, phone_b: str | None) -> bool:
    """Same person: emails equal when either has one, else phones equal as E.164 digits."""
    a, b = email_key(email_a), email_key(email_b)
    if a or b:
        return a == b
    pa, pb = phone_key(phone_a), phone_key(phone_b)
    return bool(pa and pb and pa == pb)
