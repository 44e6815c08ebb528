"""Confirmation of destructive calls: elicitation where the client can ask its user, else a token.

The decision is made by a resolver before the tool body runs, after the guardrails and policies
passed, so a user is never asked to confirm what would fail. Tokens are signed, bound to the
tool and its arguments, and expire after ten minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal

from mcp.server.mcpserver import AcceptedElicitation, Elicit, ElicitationResult
from pydantic import BaseModel, Field

from wix_meetings_mcp.bookings.errors import ConfirmationRequired
from wix_meetings_mcp.tools.idempotency import args_hash
from wix_meetings_mcp.tools.signing import Signer

ConfirmMode = Literal["auto", "token", "off"]
TOKEN_LIFETIME = timedelta(minutes=10)


class ConfirmAnswer(BaseModel):
    """What the user is asked (an elicitation form with one checkbox)."""

    # An "accept" with no content (some clients send one) is no consent: it counts as a no.
    confirm: bool = Field(False, description="Yes, go ahead")


class Gate(BaseModel):
    """How a destructive call may proceed: now, after asking the user, or by returning a token."""

    decision: Literal["proceed", "ask", "token"]
    question: str


_PRINT = 4  # hex characters of each argument's hash: enough to name which one changed


def _fingerprints(args: Mapping[str, object]) -> str:
    """A short hash per argument, in name order, so a mismatch can name the argument that differs
    (the full hash beside them decides; these only explain)."""
    return "".join(args_hash({name: args[name]})[:_PRINT] for name in sorted(args))


class ConfirmationTokens:
    def __init__(self, secret: bytes, clock: Callable[[], datetime]) -> None:
        self._signer = Signer(secret, purpose="confirmation/v1")
        self._clock = clock

    def issue(self, tool: str, args: Mapping[str, object]) -> tuple[str, datetime]:
        expires = (self._clock() + TOKEN_LIFETIME).astimezone(UTC).replace(microsecond=0)
        payload = f"{tool}|{args_hash(args)}|{_fingerprints(args)}|{int(expires.timestamp())}"
        return self._signer.sign(payload), expires

    def check(self, token: str, tool: str, args: Mapping[str, object]) -> None:
        """Refuse a token for another call, naming the arguments that differ from the first call's."""
        try:
            signed_tool, digest, prints, expires = self._signer.verify(token).split("|")
            live = int(expires) > self._clock().timestamp()
        except ValueError:
            signed_tool, digest, prints, live = "", "", "", False
        if signed_tool != tool:
            raise ConfirmationRequired(
                "this confirmation_token does not belong to this call",
                next_step="Call again without confirmation_token to get a new one for these arguments.",
            )
        ours = _fingerprints(args)
        if digest != args_hash(args):
            differing = [
                name
                for index, name in enumerate(sorted(args))
                if prints[index * _PRINT : (index + 1) * _PRINT]
                != ours[index * _PRINT : (index + 1) * _PRINT]
            ]
            raise ConfirmationRequired(
                f"this confirmation_token was issued for other values of {', '.join(differing) or 'the arguments'}",
                next_step="Repeat the first call's arguments exactly, plus confirmation_token; or call again "
                "without the token to confirm the new values.",
            )
        if not live:
            raise ConfirmationRequired(
                "this confirmation_token has expired",
                next_step="Call again without confirmation_token, show the preview, then confirm within 10 minutes.",
            )


def gate(
    *,
    mode: ConfirmMode,
    token: str | None,
    client_can_elicit: bool,
    tokens: ConfirmationTokens,
    tool: str,
    args: Mapping[str, object],
    question: str,
) -> Gate:
    if mode == "off":
        return Gate(decision="proceed", question=question)
    if token is not None:
        tokens.check(token, tool, args)
        return Gate(decision="proceed", question=question)
    if mode == "auto" and client_can_elicit:
        return Gate(decision="ask", question=question)
    return Gate(decision="token", question=question)


def elicit_if_asked(decided: Gate) -> ConfirmAnswer | Elicit[ConfirmAnswer]:
    """For a tool's answer resolver: ask only when the gate said so."""
    return (
        Elicit(decided.question, ConfirmAnswer) if decided.decision == "ask" else ConfirmAnswer(confirm=True)
    )


def confirmation_request(
    tokens: ConfirmationTokens, tool: str, args: Mapping[str, object], question: str
) -> dict[str, object]:
    """The fields of a `confirmation_required` result: nothing was written, the user must agree first."""
    token, expires = tokens.issue(tool, args)
    return {
        "status": "confirmation_required",
        "confirmation_token": token,
        "preview": question,
        "expires_at": expires,
        "next_step": "Ask the user; if they agree, call again with this confirmation_token within 10 minutes.",
    }


def approved(decided: Gate, answer: ElicitationResult[ConfirmAnswer]) -> bool:
    """Whether the write may go ahead: no question was needed, or the user said yes."""
    if decided.decision == "proceed":
        return True
    return decided.decision == "ask" and isinstance(answer, AcceptedElicitation) and answer.data.confirm
