"""The event's data as the engine accepts it.

First its shape, before any check reads it (:func:`check`): a JSON object of finite numbers,
strings, booleans, null, lists and objects, not too deep or too large. NaN and ±Infinity
would commit and then break every later read of the case (JSON has no words for them), so
they are refused here, whichever door the event came in by (API, CLI, console).

Then the trigger's schema, declared with the lifecycle (``states.schemas``): known keys only,
strict types, ranges and sizes. The keys are the same under every rule version, so
:func:`check` refuses an unknown key before the case is locked; the types, ranges and sizes
— the part maxima differ between versions — are checked by :func:`validate` once the case's
version is known (``decide``, after the guards, which name their own refusals). What
:func:`validate` returns is what the effects read and the audit entry records.

A pydantic refusal becomes one of our codes (never pydantic's English), naming the field's
path (``data.sheets[0].a``) and what is allowed there.
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

import states
from states.schemas import loosest
from workflow.errors import InvalidInput, clause

MAX_DEPTH = 8
MAX_ITEMS = 2000  # values in all, containers included
MAX_TEXT = 4000  # characters in one string


def check(data: Any, trigger: str | None = None) -> None:
    """Raise ``InvalidInput`` naming the first value that is not plain finite JSON, then (given
    the ``trigger``) the first key its schema does not know under any rule version."""
    _check_shape(data)
    if trigger is None or not data:
        return  # no key to refuse
    model = _loosest().get(trigger)
    if model is None:
        return  # not a trigger of any version: the engine refuses it by name
    try:
        model.model_validate(data)
    except ValidationError as error:
        unknown = [e for e in error.errors() if e["type"] == "extra_forbidden"]
        if unknown:
            raise refusal(unknown[0], model, trigger) from None


@cache
def _loosest() -> dict[str, type[BaseModel]]:
    """Built once: every event is checked against it before its case is locked."""
    return dict(loosest(states.LIFECYCLES.values()))


def validate(data: Any, trigger: str, version: str) -> dict[str, Any]:
    """``data`` checked against ``trigger``'s schema under rule version ``version``, as the
    schema reads it (defaults left out), or the ``InvalidInput`` of its first fault."""
    _check_shape(data)
    if not data and (trigger, version) in _TAKES_NOTHING:
        return {}
    model = states.lifecycle(version).schema(trigger)
    try:
        valid = model.model_validate(data)
    except ValidationError as error:
        raise refusal(error.errors()[0], model, trigger) from None
    dumped: dict[str, Any] = valid.model_dump(mode="python", exclude_unset=True)
    if not data and not dumped:
        _TAKES_NOTHING.add((trigger, version))
    return dumped


# (trigger, version) whose schema took no data and gave none back: most events carry none,
# and the answer for them never changes.
_TAKES_NOTHING: set[tuple[str, str]] = set()


def _check_shape(data: Any) -> None:
    if not isinstance(data, dict):
        raise InvalidInput("event_data_not_object", got=type(data).__name__)
    seen = 0
    stack: list[tuple[Any, str, int]] = [(data, "data", 0)]
    while stack:
        value, path, depth = stack.pop()
        seen += 1
        if seen > MAX_ITEMS:
            raise InvalidInput("event_data_too_large", limit=MAX_ITEMS)
        if depth > MAX_DEPTH:
            raise InvalidInput("event_data_too_deep", path=path, limit=MAX_DEPTH)
        if isinstance(value, bool) or value is None or isinstance(value, int):
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInput("event_data_not_finite", path=path)
        elif isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise InvalidInput("event_data_text_too_long", path=path, limit=MAX_TEXT)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidInput("event_data_not_object", got=type(key).__name__)
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        else:
            raise InvalidInput("event_data_not_json", path=path, got=type(value).__name__)


# Pydantic's error types -> what a value of that kind is (a clause of the catalogue).
WHOLE, NUMBER, TRUE_FALSE = (clause("hint_expect_whole_number"), clause("hint_expect_number"),
                             clause("hint_expect_true_false"))
TEXT, LIST, OBJECT = (clause("hint_expect_text"), clause("hint_expect_list"),
                      clause("hint_expect_object"))
EXPECTED: dict[str, dict[str, Any]] = {
    "int_type": WHOLE, "int_parsing": WHOLE, "int_from_float": WHOLE, "float_type": NUMBER,
    "float_parsing": NUMBER, "bool_type": TRUE_FALSE, "bool_parsing": TRUE_FALSE,
    "string_type": TEXT, "list_type": LIST, "dict_type": OBJECT, "model_type": OBJECT,
    "model_attributes_type": OBJECT,
}
# Pydantic's range error types -> the bound as a clause, from the error's context.
BOUNDS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "greater_than_equal": lambda ctx: clause("hint_expect_at_least",
                                             minimum=_num(ctx.get("ge"))),
    "greater_than": lambda ctx: clause("hint_expect_more_than", minimum=_num(ctx.get("gt"))),
    "less_than_equal": lambda ctx: clause("hint_expect_at_most", maximum=_num(ctx.get("le"))),
    "less_than": lambda ctx: clause("hint_expect_less_than", maximum=_num(ctx.get("lt"))),
}
GOT_LIMIT = 80  # characters of a refused value shown back


def refusal(error: ErrorDetails, model: type[BaseModel], trigger: str) -> InvalidInput:
    """The ``InvalidInput`` for one pydantic error of ``model`` (``trigger``'s schema): one
    code per kind of fault, with the field's path and what is allowed there."""
    kind, loc, ctx = error["type"], tuple(error["loc"]), dict(error.get("ctx") or {})
    path = _path(loc)
    got = _got(error.get("input"))
    if kind == "extra_forbidden":
        fields = _fields(_model_at(model, loc[:-1]))
        if not fields:
            return InvalidInput("event_data_takes_none", trigger=trigger, path=path)
        return InvalidInput("event_data_unknown_key", trigger=trigger, path=path, fields=fields)
    if kind == "missing":
        return InvalidInput("event_data_missing", trigger=trigger, path=path)
    if kind in EXPECTED:
        return InvalidInput("event_data_wrong_type", path=path, expected=EXPECTED[kind], got=got)
    if kind in BOUNDS:
        return InvalidInput("event_data_out_of_range", path=path, expected=BOUNDS[kind](ctx),
                            got=got)
    if kind in ("literal_error", "enum"):
        return InvalidInput("event_data_not_allowed", path=path, expected=_choices(model, loc),
                            got=got)
    if kind == "string_too_long":
        return InvalidInput("event_data_text_too_long", path=path, limit=ctx.get("max_length"))
    if kind == "string_too_short":
        return InvalidInput("event_data_text_empty", path=path)
    if kind == "too_long":
        return InvalidInput("event_data_too_many", path=path, limit=ctx.get("max_length"))
    if kind == "too_short":
        return InvalidInput("event_data_too_few", path=path, limit=ctx.get("min_length"))
    if kind == "finite_number":
        return InvalidInput("event_data_not_finite", path=path)
    if kind == "score_over_maximum":  # the schema's own refusal, its context the parameters
        return InvalidInput("score_over_maximum", **ctx)
    return InvalidInput("event_data_invalid", path=path, got=got)


def _num(value: Any) -> Any:
    """A bound as people write it: 0, not 0.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _path(loc: tuple[Any, ...]) -> str:
    """``("sheets", 0, "a")`` as ``data.sheets[0].a`` (the shape check's way of naming it)."""
    out = "data"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _got(value: Any) -> Any:
    """The refused value as shown back: itself, or the start of its JSON when long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)[:GOT_LIMIT]
    return value if len(text) <= GOT_LIMIT else text[:GOT_LIMIT] + "…"


def _unwrap(annotation: Any) -> Any:
    """The model or value type inside ``list[…]``, ``… | None`` and ``Annotated[…]``."""
    while True:
        origin = get_origin(annotation)
        if origin is list or origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the object at ``loc`` inside ``model``'s data (list positions skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _unwrap(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _fields(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model is not None else []


def _choices(model: type[BaseModel], loc: tuple[Any, ...]) -> dict[str, Any]:
    """The values the literal field at ``loc`` takes, as a clause listing them (with their
    words when the field says which catalogue kind they are codes of)."""
    parent = _model_at(model, loc[:-1])
    field = parent.model_fields.get(str(loc[-1])) if parent is not None and loc else None
    annotation = _unwrap(field.annotation) if field is not None else None
    values = [str(v) for v in get_args(annotation)] if get_origin(annotation) is Literal else []
    extra = field.json_schema_extra if field is not None else None
    words = extra.get("choices") if isinstance(extra, dict) else None
    if words == "reevaluation_reason":
        return clause("hint_expect_one_of_reevaluation_reason",
                      reevaluation_reason_choices=values)
    if words == "revocation_reason":
        return clause("hint_expect_one_of_revocation_reason", revocation_reason_choices=values)
    return clause("hint_expect_one_of", choices=values)
