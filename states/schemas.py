"""What each trigger's event data may carry, declared with the lifecycle: the keys (no other),
their types (strict: the text "5" is not a number, ``true`` is not 1), ranges and sizes.

One pydantic model per trigger, built for a rule version from its data (the part maxima of a
score sheet, the reasons a re-evaluation may be opened for), so the versions differ exactly
where their data does. ``workflow.domain.eventdata`` validates an event with the model of its
trigger under the case's version and turns a refusal into one of its own error codes; the
validated data is what the effects read and what reaches the audit entry.

A field whose values are codes of a catalogue kind says so (``json_schema_extra`` ``choices``),
so a refusal lists them with their words. A value a model cannot name with a pydantic error
type of its own (a part over its version's maximum) raises a ``PydanticCustomError`` whose
type is the catalogue's error code and whose context holds the sentence's parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic_core import PydanticCustomError

from states.model import PRESCORE_CRITERIA, REVOCATION_REASONS, Lifecycle

# ``workflow.domain.holders.HOLDER_RELATIONS`` (a test keeps the two equal).
HOLDER_RELATIONS = ("owner", "licensee", "collective_member")

MAX_DOCUMENTS = 50  # document codes in one submission
DOCUMENT_CODE = 80  # characters of one document code
MAX_SHEETS = 50  # score sheets in one council
MEMBER_NAME = 120  # characters of a council member's name
REFERENCE = 120  # characters of a certificate or decision number, a holder document
HOLDER_NAME = 300  # characters of a trademark holder's name
DATE_TEXT = 32  # characters of a date as text (the guard reads it as ISO 8601)
MAX_COMPLETION_DAYS = 90
CLOCK_KIND = 40  # characters of a clock's kind
MAX_ESCALATION_LEVEL = 10_000  # the scheduler counts up while a clock stays overrun


class EventData(BaseModel):
    """The base of every trigger's model: unknown keys refused, nothing coerced, no NaN."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


Text = Annotated[str, Field(min_length=1)]
DocumentCode = Annotated[str, Field(min_length=1, max_length=DOCUMENT_CODE)]
Part = Annotated[float, Field(ge=0)]


class Sheet(EventData):
    """One council member's sheet: the member and the three parts (A, B, C)."""

    member: Annotated[str, Field(min_length=1, max_length=MEMBER_NAME)]
    a: Part
    b: Part
    c: Part


class Criteria(EventData):
    """The commune pre-score: each criterion met (true) or not (false)."""

    origin: bool
    local_labour: bool
    idea: bool
    cultural_identity: bool


assert tuple(Criteria.model_fields) == PRESCORE_CRITERIA


class NoData(EventData):
    """A trigger whose data is empty: its words go in the event's ``reason``."""


class Submit(EventData):
    """The document codes handed in (added to the dossier)."""

    documents: Annotated[list[DocumentCode], Field(max_length=MAX_DOCUMENTS)] = []


class Resubmit(Submit):
    """The document codes handed in with the completion (recorded in the audit entry)."""


class RequestCompletion(EventData):
    days: Annotated[int, Field(ge=1, le=MAX_COMPLETION_DAYS)] | None = None


class VerifyIp(EventData):
    certificate_no: Annotated[str, Field(min_length=1, max_length=REFERENCE)]
    holder: Annotated[str, Field(min_length=1, max_length=HOLDER_NAME)]
    registered_on: Annotated[str, Field(min_length=1, max_length=DATE_TEXT)]
    holder_relation: Annotated[Literal["owner", "licensee", "collective_member"],
                               Field(json_schema_extra={"choices": "holder_relation"})] = "owner"
    # Defaults are not validated and, unset, not dumped: absent stays absent.
    holder_document: Annotated[str, Field(min_length=1, max_length=REFERENCE)] = ""


assert get_args(VerifyIp.model_fields["holder_relation"].annotation) == HOLDER_RELATIONS


DECISION_BODY = 200  # characters of the body that issued a decision


class Decision(EventData):
    """The People's Committee (or ministry) decision behind a certificate (DOMAIN.md §9): its
    number, its date (ISO 8601; the certificate's 36 months run from it) and who issued it."""

    number: Annotated[str, Field(min_length=1, max_length=REFERENCE)]
    date: Annotated[str, Field(min_length=1, max_length=DATE_TEXT)]
    body: Annotated[str, Field(min_length=1, max_length=DECISION_BODY)]


class RecordDecision(Decision):
    """``record_decision``: the decision of the case's pending certificate (``certificate``:
    its number, to be sure which one is meant; optional)."""

    certificate: Annotated[str, Field(min_length=1, max_length=REFERENCE)] = ""


class NoIp(EventData):
    """``record_no_ip``: its words go in the reason; where it certifies, the decision may come
    with it."""

    decision: Decision | None = None


class CentralResult(EventData):
    """The ministry's result. ``decision_no`` names its decision; with ``decision`` (number,
    date, body) a 5★ certificate is in force at once, else it waits for ``record_decision``."""

    passed: bool
    decision_no: Annotated[str, Field(min_length=1, max_length=REFERENCE)]
    decision: Decision | None = None


class Revoke(EventData):
    reason_code: Annotated[Literal["not_reassessed", "failed_mandatory", "violation"],
                           Field(json_schema_extra={"choices": "revocation_reason"})]


assert get_args(Revoke.model_fields["reason_code"].annotation) == REVOCATION_REASONS


class Escalate(EventData):
    """Fired by the scheduler only: which clock ran out and the level it escalates to."""

    deadline: Annotated[str, Field(min_length=1, max_length=CLOCK_KIND)]
    level: Annotated[int, Field(ge=1, le=MAX_ESCALATION_LEVEL)]


def _scored(version: str, maxima: tuple[int, int, int], *,
            required: bool) -> type[EventData]:
    """A scoring trigger's model: the sheets (each part within the version's maximum) and
    whether every mandatory criterion holds. ``required``: a scoring event needs both; the
    commune pre-score may carry them or not."""
    # No least number here: the council's minimum is a setting, refused by the scoring with
    # the configured number (``too_few_sheets``, ``sheets_missing``).
    sheets_type = Annotated[list[Sheet], Field(max_length=MAX_SHEETS)]

    def within_maxima(data: EventData) -> EventData:
        for i, sheet in enumerate(getattr(data, "sheets", None) or (), 1):
            for part, top in zip("abc", maxima, strict=True):
                value = getattr(sheet, part)
                if value > top:
                    raise PydanticCustomError("score_over_maximum", "score over maximum", {
                        "sheet": i, "member": sheet.member, "part": part.upper(),
                        "got": int(value) if value.is_integer() else value,
                        "version": version, "maximum": top})
        return data

    council_fields: dict[str, Any] = {
        # The council that scored (``ocop councils add``), the day it scored (default: the
        # day the event is entered) and, where the score certifies, the decision.
        "council": (Annotated[int, Field(ge=1, le=2**31 - 1)] | None, None),
        "scored_on": (Annotated[str, Field(min_length=1, max_length=DATE_TEXT)] | None, None),
        "decision": (Decision | None, None)}
    fields: dict[str, Any] = (
        {"sheets": (sheets_type, ...), "mandatory_ok": (bool, ...), **council_fields}
        if required else
        {"criteria": (Criteria, ...), "sheets": (sheets_type, []),
         "mandatory_ok": (bool, False), "council": council_fields["council"],
         "scored_on": council_fields["scored_on"]})
    validators: dict[str, Any] = {
        "within_maxima": model_validator(mode="after")(within_maxima)}
    return create_model("Scored" if required else "CommunePrescore", __base__=EventData,
                        __validators__=validators, **fields)


def _reevaluation(reasons: tuple[str, ...]) -> type[EventData]:
    """``open_reevaluation``: the reason, one of the version's."""
    choice: Any = Literal.__getitem__(reasons)
    fields: dict[str, Any] = {"reason": (Annotated[choice, Field(
        json_schema_extra={"choices": "reevaluation_reason"})], ...)}
    return create_model("OpenReevaluation", __base__=EventData, **fields)


@lru_cache(maxsize=64)
def _models(version: str, maxima: tuple[int, int, int],
            reasons: tuple[str, ...]) -> dict[str, type[EventData]]:
    scored = _scored(version, maxima, required=True)
    return {
        "submit": Submit,
        "resubmit": Resubmit,
        "start_review": NoData,
        "request_completion": RequestCompletion,
        "record_district_score": scored,
        "record_city_score": scored,
        "record_commune_prescore": _scored(version, maxima, required=False),
        "verify_ip": VerifyIp,
        "record_no_ip": NoIp,
        "record_central_result": CentralResult,
        "record_decision": RecordDecision,
        "open_reevaluation": _reevaluation(reasons),
        "revoke": Revoke,
        "withdraw": NoData,
        "expire": NoData,
        "expire_certificate": NoData,
        "escalate": Escalate,
    }


def for_lifecycle(lc: Lifecycle) -> dict[str, type[EventData]]:
    """Each trigger of ``lc`` with the model of its data under ``lc`` (a trigger with no
    model is missing here, and a test fails)."""
    models = _models(lc.version, lc.part_maxima, lc.reevaluation_reasons)
    return {t: models[t] for t in lc.triggers() if t in models}


def loosest(lifecycles: Iterable[Lifecycle]) -> dict[str, type[EventData]]:
    """Each trigger of any of ``lifecycles`` with a model that takes what any of them takes
    (the largest maxima, every reason): its keys are the same in every version, so it can
    refuse an unknown key before the case — and so its version — is known."""
    lcs = list(lifecycles)
    maxima = tuple(max(lc.part_maxima[i] for lc in lcs) for i in range(3))
    reasons = tuple(dict.fromkeys(r for lc in lcs for r in lc.reevaluation_reasons))
    models = _models("*", (maxima[0], maxima[1], maxima[2]), reasons)
    triggers = dict.fromkeys(t for lc in lcs for t in lc.triggers())
    return {t: models[t] for t in triggers if t in models}
