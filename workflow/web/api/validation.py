"""Request-validation errors (pydantic's) as our errors: a stable code per kind of mistake, the
field it is in and what that field allows, rendered from the catalogue like every other error."""

from __future__ import annotations

import re
from typing import Any

from workflow.errors import InvalidInput, Malformed

# pydantic error type -> our code (kind ``error`` in the catalogue)
CODES: dict[str, str] = {
    "missing": "field_missing",
    "string_too_long": "field_text_too_long", "too_long": "field_too_many",
    "string_too_short": "field_text_too_short", "too_short": "field_too_few",
    "greater_than_equal": "field_below_minimum", "greater_than": "field_not_above",
    "less_than_equal": "field_above_maximum", "less_than": "field_not_below",
    "int_parsing": "field_not_integer", "int_type": "field_not_integer",
    "int_from_float": "field_not_integer", "float_parsing": "field_not_number",
    "float_type": "field_not_number", "string_type": "field_not_text",
    "bool_parsing": "field_not_boolean", "bool_type": "field_not_boolean",
    "dict_type": "field_not_object", "model_type": "field_not_object",
    "model_attributes_type": "field_not_object", "list_type": "field_not_list",
    "literal_error": "field_not_allowed", "enum": "field_not_allowed",
    "extra_forbidden": "field_unknown", "string_pattern_mismatch": "field_bad_format",
    "date_parsing": "field_not_date", "date_from_datetime_parsing": "field_not_date",
    "datetime_parsing": "field_not_date", "datetime_from_date_parsing": "field_not_date",
    "date_type": "field_not_date", "datetime_type": "field_not_date",
    "int_from_float_parsing": "field_not_integer", "string_unicode": "field_not_text",
}
FALLBACK = "field_invalid"
# pydantic's context key -> our parameter
CONTEXT = {"max_length": "maximum", "min_length": "minimum", "ge": "minimum", "gt": "minimum",
           "le": "maximum", "lt": "maximum", "pattern": "pattern"}
# the codes whose sentence shows the value given
SHOWS_INPUT = {"field_below_minimum", "field_not_above", "field_above_maximum",
               "field_not_below", "field_not_integer", "field_not_number", "field_not_text",
               "field_not_boolean", "field_not_object", "field_not_list", "field_not_allowed",
               "field_bad_format", "field_not_date"}
LONGEST = 80


def field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """``sheets.0.a`` for pydantic's ``("body", "sheets", 0, "a")``; the body itself is
    ``body``."""
    return ".".join(str(p) for p in loc if p != "body") or "body"


def from_pydantic(errors: list[dict[str, Any]]) -> InvalidInput:
    """The first mistake as an :class:`InvalidInput` (or :class:`Malformed` for a body that is
    not JSON), with a code the catalogue words."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return Malformed("body_not_json")
    first = errors[0] if errors else {}
    kind = str(first.get("type", ""))
    code = CODES.get(kind, FALLBACK)
    params: dict[str, Any] = {"field": field_of(first.get("loc", ()))}
    ctx = first.get("ctx") or {}
    for key, name in CONTEXT.items():
        if key in ctx:
            params[name] = ctx[key] if isinstance(ctx[key], int | float) else str(ctx[key])
    if code == "field_not_allowed":
        params["expected"] = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or [
            str(ctx.get("expected", ""))]
    if code in SHOWS_INPUT:
        params["got"] = _short(first.get("input"))
    if code == FALLBACK:
        params["why"] = str(first.get("msg", ""))
    return InvalidInput(code, **params)


def _short(value: Any) -> Any:
    """The value given, cut to a readable length when it is long text."""
    if isinstance(value, str) and len(value) > LONGEST:
        return value[:LONGEST] + "…"
    if isinstance(value, dict | list):
        return ("{…}" if isinstance(value, dict) else "[…]") if len(str(value)) > LONGEST \
            else value
    return value
