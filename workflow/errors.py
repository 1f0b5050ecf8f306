"""Every refusal the engine can give, each a stable code with its parameters; one table maps
them to exit and HTTP status codes.

An error is raised with its code and the values its sentence needs::

    raise WrongState("wrong_state", case=code, state=state, trigger=trigger, sources=[...])

and its sentence lives in the catalogue (``workflow/i18n/{vi,en}.po``, kind ``error``, msgid the
code, ``{name}`` placeholders), so adding an error is that one line plus one entry per language.
``error.text(lang)`` renders it. How a parameter is shown depends on its name:

* a name in :data:`LABELLED` is a code of that catalogue kind (a state, a trigger, a role…):
  shown as its quoted label in the reader's language (a list: each label, comma-separated);
* a name in :data:`CHOICES` lists the codes a person may type: each shown as ``code (label)``;
* ``got`` is raw input, shown exactly as given, as JSON (strings in double quotes);
* a :func:`clause` (a nested code with its own parameters) is rendered the same way, in place;
* anything else is shown as it is (a list comma-separated).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from workflow import i18n

LABELLED: dict[str, str] = {
    "state": "state", "sources": "state", "status": "outbox_status",
    "trigger": "trigger", "allowed": "trigger", "alternative": "trigger",
    "role": "role", "roles": "role", "group": "group", "documents": "document",
    "criteria": "criterion", "reason": "reevaluation_reason", "version": "rules",
    "form_field": "ui",
}
CHOICES: dict[str, str] = {
    "trigger_choices": "trigger", "role_choices": "role", "group_choices": "group",
    "rules_choices": "rules", "producer_kind_choices": "producer_kind", "new_group": "group",
    "reevaluation_reason_choices": "reevaluation_reason",
    "revocation_reason_choices": "revocation_reason", "level_choices": "level",
}
RAW = "got"
QUOTES = "\u201c{}\u201d"


def clause(code: str, **params: Any) -> dict[str, Any]:
    """A part of a sentence with its own catalogue entry (kind ``error``), given as a
    parameter of the error that uses it, such as why an actor is out of scope."""
    return {"code": code, "params": {k: _plain(v) for k, v in params.items()}}


def render(code: str, params: Mapping[str, Any], lang: str) -> str:
    """The catalogue's sentence for ``code`` in ``lang`` with ``params`` shown in it; a code
    with no entry (an unconverted message) shows as itself."""
    lang = i18n.pick(lang)
    shown = {name: _show(name, value, lang) for name, value in params.items()}
    return i18n.text("error", code, lang, **shown)


def _show(name: str, value: Any, lang: str) -> str:
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        return render(value["code"], value.get("params") or {}, lang)
    if name == RAW:
        return i18n.label("error", "no_value", lang) if value is None else json.dumps(
            value, ensure_ascii=False)
    items = value if isinstance(value, list) else [value]
    if name in LABELLED:
        shown = [QUOTES.format(i18n.label(LABELLED[name], str(v), lang)) for v in items]
    elif name in CHOICES:
        shown = [_choice(CHOICES[name], str(v), lang) for v in items]
    else:
        shown = ["—" if v is None else str(v) for v in items]
    return ", ".join(shown) if shown else "—"


def _choice(kind: str, code: str, lang: str) -> str:
    words = i18n.label(kind, code, lang)
    return code if words == code else f"{code} ({words})"


def _plain(value: Any) -> Any:
    """``value`` as JSON can carry it (the problem document holds the parameters)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and infinities are not JSON
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(v) for v in items]
    return str(value)


class OcopError(Exception):
    """Base class: ``code`` names the refusal, ``params`` hold its values; ``text(lang)`` is
    the sentence shown to a person and ``message`` (also ``str(error)``) the English one."""

    kind = "error"

    def __init__(self, code: str, /, **params: Any) -> None:
        self.code = code
        self.params: dict[str, Any] = {k: _plain(v) for k, v in params.items()}
        # Members the API adds to the problem document besides the sentence (``allowed``).
        self.details: dict[str, Any] = {}
        super().__init__(code)

    def text(self, lang: str) -> str:
        """The sentence in ``lang`` (``vi`` or ``en``)."""
        return render(self.code, self.params, lang)

    @property
    def message(self) -> str:
        return self.text("en")

    def __str__(self) -> str:
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
