"""Every refusal the engine can give, each a full sentence; one table maps them to exit and
HTTP status codes."""

from __future__ import annotations

from typing import Any


class OcopError(Exception):
    """Base class: ``str(error)`` is the sentence shown to the user."""

    kind = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def text(self, lang: str) -> str:
        """The sentence in ``lang`` (``vi`` or ``en``)."""
        return self.message


class InvalidInput(OcopError):
    """The request itself is malformed: bad JSON, a score over its part's maximum, unknown group."""

    kind = "invalid_input"


class BodyTooLarge(InvalidInput):
    """HTTP only: a request body over the configured limit."""

    kind = "body_too_large"


class Malformed(InvalidInput):
    """HTTP only: a body that is not JSON, a header that cannot be read."""

    kind = "malformed_request"


class NotFound(OcopError):
    kind = "not_found"


class Unauthenticated(OcopError):
    kind = "unauthenticated"


class Refused(OcopError):
    """A well-formed event the case may not take now: wrong state, role, scope or a guard."""

    kind = "refused"


class WrongState(Refused):
    kind = "wrong_state"


class Forbidden(Refused):
    """The caller's role or scope does not allow it."""

    kind = "forbidden"


class GuardFailed(Refused):
    kind = "guard_failed"


class Conflict(OcopError):
    """A concurrent change, a stale version, or an idempotency key reused for another request."""

    kind = "conflict"


class PreconditionFailed(Conflict):
    kind = "precondition_failed"


# error class -> (CLI exit code, HTTP status)
STATUS: dict[type[OcopError], tuple[int, int]] = {
    BodyTooLarge: (2, 413),
    Malformed: (2, 400),
    InvalidInput: (2, 422),
    NotFound: (3, 404),
    Unauthenticated: (4, 401),
    Forbidden: (4, 403),
    WrongState: (4, 422),
    GuardFailed: (4, 422),
    Refused: (4, 422),
    PreconditionFailed: (5, 412),
    Conflict: (5, 409),
    OcopError: (1, 500),
}


def status_of(error: OcopError) -> tuple[int, int]:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return STATUS[OcopError]
