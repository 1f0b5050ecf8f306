"""What the console's pages show beside the case itself, in the reader's words: the details of
an audit entry (why the engine decided, scores, reasons from a list, documents, certificates),
who acted, and the audit view's page links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from workflow.domain import explain
from workflow.i18n import has, label, text
from workflow.web.audit_export import data_of
from workflow.web.console.i18n import when

AUDIT_PAGE = 50
REASON_KINDS = {"revoke": ("reason_code", "revocation_reason"),
                "open_reevaluation": ("reason", "reevaluation_reason")}


def who(name: str | None, role: str | None, lang: str) -> str:
    """The actor as a person reads it: "Nguyễn Văn A (Cán bộ xã)"; the system by its label."""
    if role == "system":
        return label("ui", "system_actor", lang)
    return f"{name} ({label('role', role, lang)})"


def reason_words(reason: str | None, role: str | None, lang: str) -> str:
    """A reason as typed by a person; the system's reasons are codes with catalogue words."""
    if reason and role == "system" and has("explain", reason, lang):
        return label("explain", reason, lang)
    return reason or ""


def score_line(data: Mapping[str, Any], lang: str) -> str | None:
    if data.get("score") is None:
        return None
    stars = data.get("stars")
    shown = f"{label('ui', 'score', lang)} {explain.number(data['score'], lang)}"
    return f"{shown} · {stars}★" if stars else shown


def listed(kind: str, values: Any, lang: str) -> str:
    return ", ".join(label(kind, str(v), lang) for v in values or ())


def details(trigger: str, entry_data: Any, lang: str) -> list[str]:
    """Lines that say what an audit entry recorded, each a phrase in ``lang``."""
    data = data_of({"data": entry_data})
    lines = [explain.sentence(trigger, data, lang) or score_line(data, lang)]
    if trigger in REASON_KINDS:
        key, kind = REASON_KINDS[trigger]
        if data.get(key):
            lines.append(f"{label('ui', 'reason', lang)}: {label(kind, str(data[key]), lang)}")
    if trigger == "submit" and data.get("documents"):
        lines.append(f"{label('ui', 'documents_given', lang)}: "
                     f"{listed('document', data['documents'], lang)}")
    if trigger == "verify_ip" and data.get("certificate_no"):
        lines.append(text("ui", "trademark", lang, number=data["certificate_no"],
                          holder=data.get("holder", ""),
                          date=when(data.get("registered_on"), lang, with_time=False)))
    if trigger == "escalate" and data.get("deadline"):
        lines.append(text("ui", "escalated", lang, level=data.get("level", 1),
                          deadline=label("deadline", str(data["deadline"]), lang)))
    if trigger == "request_completion" and data.get("days"):
        lines.append(text("ui", "completion_days", lang, days=data["days"]))
    document = data.get("document")
    if trigger == "upload_document" and isinstance(document, dict):
        lines.append(text("ui", "document_uploaded_line", lang,
                          document=label("document", str(document.get("kind")), lang),
                          filename=document.get("filename", ""),
                          number=document.get("version", 1),
                          sha=str(document.get("sha256", ""))[:16]))
    if isinstance(data.get("council"), int):
        lines.append(text("ui", "council_line", lang, number=data["council"]))
    decision = data.get("decision")
    if isinstance(decision, dict) and decision.get("number"):
        lines.append(text("ui", "decision_line", lang, number=decision["number"],
                          date=when(decision.get("date"), lang, with_time=False),
                          body=decision.get("body", "")))
    if data.get("certificate") and trigger != "record_decision":
        lines.append(text("ui", "certificate_issued", lang, number=data["certificate"]))
    elif data.get("certificate"):
        lines.append(text("ui", "certificate_decided", lang, number=data["certificate"]))
    return [line for line in lines if line]


def page_number(raw: str | None) -> int:
    """The audit view's page from the query string; anything not a page number is page 1."""
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 10**6 else 1


def page_links(query: Mapping[str, str], page: int, more: bool) -> dict[str, str | None]:
    """Links to the newer and older pages, keeping every filter."""
    keep = {k: v for k, v in query.items() if k not in ("page", "lang") and v}

    def at(n: int) -> str:
        return "?" + urlencode({**keep, "page": n}) if n > 1 else "?" + urlencode(keep)
    return {"newer": at(page - 1) if page > 1 else None, "older": at(page + 1) if more else None}
