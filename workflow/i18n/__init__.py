"""The one catalogue of words the engine shows people, in Vietnamese and English.

Every code a person can meet — a state, trigger, role, deadline kind, document kind, criterion,
reason code, certificate level, product group, notice kind, error — has a label in each
language's gettext catalogue (``vi.po``, ``en.po`` beside this file; ``msgctxt`` is the kind of
code, ``msgid`` the code, ``msgstr`` the words). The files are read with Babel, so translators
edit them with any PO editor and there is no compile step. Labels that take parameters use
``{name}`` placeholders, filled by :func:`text`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

HERE = Path(__file__).resolve().parent
LANGS = ("vi", "en")
DEFAULT = "vi"

# The kinds of code the catalogue labels (its msgctxt values).
KINDS = ("state", "trigger", "role", "deadline", "document", "criterion", "reevaluation_reason",
         "revocation_reason", "level", "group", "producer_kind", "notice", "channel",
         "outbox_status", "rules", "ui", "error", "explain", "next")


def pick(lang: str | None) -> str:
    """``lang`` when it is one of ours (``vi-VN`` and ``en_US.UTF-8`` count), else Vietnamese."""
    if not lang:
        return DEFAULT
    short = lang.strip().lower().replace("_", "-").split("-")[0].split(".")[0]
    return short if short in LANGS else DEFAULT


def from_env(environ: dict[str, str] | None = None) -> str:
    """The CLI's language: ``OCOP_LANG``, then ``LANG``; Vietnamese when neither names ours."""
    env = os.environ if environ is None else environ
    for name in ("OCOP_LANG", "LANG"):
        value = env.get(name, "").strip().lower()
        if value[:2] in LANGS:
            return value[:2]
    return DEFAULT


def from_accept(header: str | None) -> str | None:
    """The best of our languages in an ``Accept-Language`` header, or ``None``."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        short = name.strip().lower().split("-")[0]
        if short in LANGS and quality > 0 and (best is None or quality > best[0]):
            best = (quality, short)
    return best[1] if best else None


@lru_cache(maxsize=len(LANGS))
def catalogue(lang: str) -> dict[tuple[str, str], str]:
    """``(kind, code) -> words`` for one language, read once from its PO file."""
    with (HERE / f"{lang}.po").open("rb") as fh:
        po = read_po(fh, locale=lang)
    return {(str(m.context), str(m.id)): str(m.string) for m in po
            if m.id and m.context and m.string}


def has(kind: str, code: str, lang: str = DEFAULT) -> bool:
    return (kind, code) in catalogue(pick(lang))


def label(kind: str, code: str | None, lang: str = DEFAULT) -> str:
    """The words for ``code``; a code with no entry (a test catches those) shows as itself."""
    if code is None or code == "":
        return "—"
    return catalogue(pick(lang)).get((kind, str(code)), str(code))


def text(kind: str, code: str, lang: str = DEFAULT, **params: Any) -> str:
    """A labelled sentence with its ``{placeholders}`` filled; unknown placeholders stay."""
    template = label(kind, code, lang)
    try:
        return template.format_map(_Keep(params))
    except (ValueError, IndexError):
        return template


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def codes(kind: str, lang: str = DEFAULT) -> list[str]:
    """Every code of one kind the catalogue labels, in file order."""
    return [code for (k, code) in catalogue(pick(lang)) if k == kind]
