"""What the producer's status page shows, as words: the timeline and the producer's notices.

Each line is built here, in the page's language, from the catalogue, so the template only
prints text; a notice of any kind (or an old one missing a field) renders, never a 5xx.
"""

from __future__ import annotations

from typing import Any

from workflow.domain.outbox import PRODUCER_KINDS
from workflow.i18n import label, text
from workflow.messaging.channels.render import format_date

# Office matters that the producer's timeline leaves out (the office's own deadlines).
OFFICE_TRIGGERS = frozenset({"escalate"})


def _day(value: Any, lang: str) -> str:
    try:
        return format_date(value, lang) if value else ""
    except (TypeError, ValueError):
        return ""


def _stars(value: Any) -> str:
    return "★" * value if isinstance(value, int) and 0 < value <= 5 else ""


def dates(view: dict[str, Any], lang: str) -> dict[str, str]:
    """The certificate's last valid day and the completion deadline, as the reader writes them."""
    cert = view.get("certificate") or {}
    due = [d["due_at"] for d in view["deadlines"] if d["kind"] == "completion"]
    return {"valid_to": _day(cert.get("valid_to"), lang),
            "completion_due": _day(due[0], lang) if due else ""}


def timeline(view: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """The case's history, newest first: when, what was done, the state it led to, why."""
    return [{"when": _day(h["at"], lang), "what": label("trigger", h["trigger"], lang),
             "state": label("state", h["to"], lang), "reason": _why(h.get("reason"), lang)}
            for h in reversed(view["history"]) if h["trigger"] not in OFFICE_TRIGGERS]


def notices(rows: list[dict[str, Any]], lang: str) -> list[dict[str, str]]:
    """The producer's notices, newest first: when, what kind, and what it said."""
    return [{"when": _day(n.get("at") or n.get("created_at"), lang),
             "kind": label("notice", n["kind"], lang), "text": _said(n, lang)}
            for n in rows if n.get("kind") in PRODUCER_KINDS]


def _said(n: dict[str, Any], lang: str) -> str:
    if n["kind"] == "completion_reminder":
        return text("ui", "status_page_completion_due", lang, due=_day(n.get("due"), lang),
                    days=n.get("days_left", "—"))
    if n["kind"] == "certificate_notice":
        given = n.get("certificate")
        cert: dict[str, Any] = given if isinstance(given, dict) else {}
        return text("ui", "status_page_certificate_due", lang, number=cert.get("number", "—"),
                    valid_to=_day(cert.get("valid_to"), lang), days=n.get("days_left", "—"))
    said = f"{label('trigger', n.get('trigger'), lang)} → {label('state', n.get('state'), lang)}"
    if n.get("state") == "central_review":  # potential 5★ is not 5★
        said += f" · {text('ui', 'status_page_proposed_5', lang)}"
    elif _stars(n.get("stars")):
        said += f" · {_stars(n.get('stars'))}"
    if n.get("reason"):
        said += f" — {_why(n['reason'], lang)}"
    return said


def _why(reason: Any, lang: str) -> str:
    """An officer's reason as written; the system's reasons are codes with catalogue words."""
    return label("explain", str(reason), lang) if reason else ""
