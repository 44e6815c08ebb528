"""Text that came from people outside (attendees, form answers) on its way in and on its way out.

In: names, emails and phones are NFKC-normalised and refused when they hold control or format
characters (NUL, zero-width, bidi overrides), which make one address look like another.
Out: such text shown to a user in a confirmation prompt is fenced: quoted, stripped of control,
format and bidi characters and line breaks, and capped, so it cannot pose as the prompt itself.
"""

from __future__ import annotations

import unicodedata

_HIDDEN = {
    "Cc",
    "Cf",
    "Cs",
    "Co",
    "Cn",
    "Zl",
    "Zp",
}  # control, format (zero-width, bidi), unassigned, line/paragraph separators


def has_hidden_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in _HIDDEN for ch in text)


def normalized_contact(text: str, what: str) -> str:
    """NFKC form of a name, email or phone; a ValueError (pydantic's refusal) if it hides characters."""
    text = unicodedata.normalize("NFKC", text)
    if has_hidden_characters(text):
        raise ValueError(f"the {what} holds control or invisible characters; type it plainly")
    return text


def fenced(text: str, limit: int = 80) -> str:
    """Attendee text fit to quote inside a prompt: one plain line, at most `limit` characters, quoted."""
    visible = "".join(" " if unicodedata.category(ch) in _HIDDEN else ch for ch in text)
    line = " ".join(visible.replace('"', "'").split())
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return f'"{line}"'
