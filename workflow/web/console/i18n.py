"""The functions templates call to show words, all read from the one catalogue
(:mod:`workflow.i18n`): no template prints a code."""

from __future__ import annotations

from typing import Any

from workflow.domain.explain import number
from workflow.i18n import LANGS, label, pick, text

__all__ = ["LANGS", "pick", "translator"]


def when(value: str | None, lang: str, with_time: bool = True) -> str:
    """An ISO date or time as the reader writes it: 31/08/2028 09:00 in Vietnamese,
    2028-08-31 09:00 in English; no value is a dash."""
    if not value:
        return "—"
    day, _, rest = str(value).partition("T")
    clock = rest[:5] if with_time and rest else ""
    if lang == "vi" and len(day) == 10:
        day = f"{day[8:10]}/{day[5:7]}/{day[:4]}"
    return f"{day} {clock}".strip()


def translator(lang: str) -> dict[str, Any]:
    """``t(word)``, ``st(state)``, ``tr(trigger)``, ``lb(kind, code)``,
    ``tx(kind, code, **params)``, ``dt(iso)`` and ``day(iso)`` in one language."""
    return {
        "lang": lang,
        "t": lambda key: label("ui", key, lang),
        "st": lambda state: label("state", state, lang),
        "tr": lambda trigger: label("trigger", trigger, lang),
        "lb": lambda kind, code: label(kind, code, lang),
        "tx": lambda kind, code, **params: text(kind, code, lang, **params),
        "dt": lambda value: when(value, lang),
        "day": lambda value: when(value, lang, with_time=False),
        "num": lambda value: "—" if value is None else number(value, lang),
    }
