"""The functions templates call to show words, all read from the one catalogue
(:mod:`workflow.i18n`): no template prints a code."""

from __future__ import annotations

from typing import Any

from workflow.i18n import LANGS, label, pick, text

__all__ = ["LANGS", "pick", "state_names", "translator"]


def state_names(lang: str, names: list[str] | tuple[str, ...]) -> dict[str, str]:
    return {name: label("state", name, lang) for name in names}


def translator(lang: str) -> dict[str, Any]:
    """``t(word)``, ``st(state)``, ``tr(trigger)``, ``lb(kind, code)`` and
    ``tx(kind, code, **params)`` in one language."""
    return {
        "lang": lang,
        "t": lambda key: label("ui", key, lang),
        "st": lambda state: label("state", state, lang),
        "tr": lambda trigger: label("trigger", trigger, lang),
        "lb": lambda kind, code: label(kind, code, lang),
        "tx": lambda kind, code, **params: text(kind, code, lang, **params),
    }
