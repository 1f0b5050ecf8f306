"""Messages are Jinja2 templates per kind and language (Vietnamese by default, English).

The templates hold the sentences; every word for a code (state, trigger, deadline kind, next
step) comes from the one catalogue (:mod:`workflow.i18n`) through ``st``, ``tr``, ``lb`` and
``nx``. Every producer notice ends with the link to the producer's status page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from workflow.clock import local, parse_iso
from workflow.i18n import label

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "messages"
LANGS = ("vi", "en")
KINDS = ("status", "escalation", "reminder", "completion_reminder", "certificate_notice",
         "transferred")


def format_date(value: str | date | datetime | None, lang: str = "vi") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = parse_iso(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = local(value)
        return value.strftime("%H:%M %d/%m/%Y" if lang == "vi" else "%d %b %Y %H:%M")
    return value.strftime("%d/%m/%Y" if lang == "vi" else "%d %b %Y")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False,
                      undefined=StrictUndefined, keep_trailing_newline=False,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = format_date
    return env


def completion_due(payload: dict[str, Any]) -> str | None:
    """When the producer must have completed the dossier, for a needs_completion notice."""
    days = payload.get("completion_days")
    if payload.get("state") != "needs_completion" or not days:
        return None
    return (parse_iso(payload["at"]) + timedelta(days=int(days))).isoformat()


def words(lang: str) -> dict[str, Any]:
    """The catalogue's labels for the templates, in ``lang``."""
    return {"st": lambda code: label("state", code, lang),
            "tr": lambda code: label("trigger", code, lang),
            "nx": lambda code: label("next", code, lang),
            "lb": lambda kind, code: label(kind, code, lang)}


def render(kind: str, lang: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a message: the template's first line is the subject. A message
    written before links existed has no ``status_url``: it renders without one."""
    lang = lang if lang in LANGS else "vi"
    context = {"stars": None, "certificate": None, "reason": None, "level": 1,
               "status_url": None, **payload, **words(lang),
               "source": payload.get("from"), "lang": lang,
               "due": payload.get("due") or completion_due(payload)}
    text = environment().get_template(f"{lang}/{kind}.txt").render(**context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"
