"""The event's data as the engine accepts it before any check reads it: a JSON object of finite
numbers, strings, booleans, null, lists and objects, not too deep or too large. NaN and
±Infinity would commit and then break every later read of the case (JSON has no words for
them), so they are refused here, whichever door the event came in by (API, CLI, console)."""

from __future__ import annotations

import math
from typing import Any

from workflow.errors import InvalidInput

MAX_DEPTH = 8
MAX_ITEMS = 2000  # values in all, containers included
MAX_TEXT = 4000  # characters in one string


def check(data: Any) -> None:
    """Raise ``InvalidInput`` naming the first value that is not plain finite JSON."""
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
