"""The domain error tree; one translator in tools/ turns each into a coded tool result.

    BookingError
    ├── InvalidArgument        bad input the agent can fix (zone, range, contact details)
    ├── NotFound               link, meeting, host or connection does not exist
    ├── InvalidSlot            slot id malformed, tampered, or for another link
    ├── SlotUnavailable        taken, past, or outside availability
    ├── LinkInactive           the scheduling link is deactivated
    ├── PlanLimitReached       the free plan's meeting limit would be passed
    ├── PremiumRequired        feature needs a premium plan
    ├── PolicyViolation        booking policy forbids it (windows, notice, advance)
    ├── ConfirmationRequired   a destructive call needs the user's confirmation
    ├── IdempotencyConflict    an idempotency key reused with other arguments
    ├── NotSupported           the backend or Meetings cannot do this
    └── BackendError           the remote system failed us
        ├── AuthFailed
        ├── RateLimited
        └── BackendUnavailable
            └── WriteOutcomeUnknown   a write may or may not have been applied

Every error carries a message written for the model and, where one exists, the next step.
Messages never hold credentials: adapters build them from vendor codes and ids only.
"""

from __future__ import annotations


class BookingError(Exception):
    code = "internal_error"

    def __init__(self, message: str, *, next_step: str | None = None, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step
        self.context = context


class InvalidArgument(BookingError):
    code = "invalid_argument"


class NotFound(BookingError):
    code = "not_found"


class InvalidSlot(BookingError):
    code = "invalid_slot"


class SlotUnavailable(BookingError):
    code = "slot_unavailable"


class LinkInactive(BookingError):
    code = "link_inactive"


class PlanLimitReached(BookingError):
    code = "plan_limit_reached"


class PremiumRequired(BookingError):
    code = "premium_required"


class PolicyViolation(BookingError):
    code = "policy_violation"


class ConfirmationRequired(BookingError):
    code = "confirmation_required"


class IdempotencyConflict(BookingError):
    code = "idempotency_conflict"


class NotSupported(BookingError):
    code = "not_supported"


class BackendError(BookingError):
    """The remote system failed; keeps its status and request id for logs (never for the agent)."""

    code = "upstream_unavailable"

    def __init__(
        self,
        message: str,
        *,
        next_step: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        **context: object,
    ) -> None:
        super().__init__(message, next_step=next_step, **context)
        self.status = status
        self.request_id = request_id


class AuthFailed(BackendError):
    code = "auth_failed"


class RateLimited(BackendError):
    code = "rate_limited"


class BackendUnavailable(BackendError):
    code = "upstream_unavailable"


class WriteOutcomeUnknown(BackendUnavailable):
    """A write was sent and its answer lost (timeout, dropped connection, 5xx, unreadable reply).

    It may or may not have been applied. Adapters look the result up before answering; when they
    cannot tell, the caller must check the current state before writing again, never just repeat.
    """
