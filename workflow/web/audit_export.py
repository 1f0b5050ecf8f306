"""The audit trail as CSV that a spreadsheet opens correctly: UTF-8 with a byte-order mark, one
column per field, the entry's data flattened into named columns (no JSON in a cell).

Two flavours: the API's (``lang=None``) keeps machine-stable English headers and codes; the
console's (``lang="vi"``/``"en"``) has headers and values in the reader's words.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from workflow.domain import explain
from workflow.i18n import has, label

BOM = "\ufeff"
# (column, catalogue kind of its value or None): the order of the CSV's columns.
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("case", None), ("seq", None), ("at", None), ("actor", None), ("role", "role"),
    ("trigger", "trigger"), ("from", "state"), ("to", "state"), ("reason", None),
    ("reason_code", None), ("rule_version", "rules"), ("score", None), ("stars", None),
    ("star_cap", None), ("mandatory_ok", None), ("explanation", None), ("certificate", None),
    ("documents", "document"), ("criteria", "criterion"), ("sheets", None),
    ("certificate_no", None), ("holder", None), ("registered_on", None), ("decision_no", None),
    ("passed", None), ("days", None), ("returns_to", "state"), ("deadline", "deadline"),
    ("level", None), ("prev_hash", None), ("hash", None),
)
FIELDS = tuple(name for name, _ in COLUMNS)
# Console headers that are not the catalogue's ``ui`` word of the column's own name.
HEADER_WORDS = {"from": "state_before", "to": "state_after", "rule_version": "rules",
                "level": "escalation_step", "deadline": "deadline_kind",
                "certificate_no": "certificate_no"}
REASON_KINDS = {"revoke": "revocation_reason", "open_reevaluation": "reevaluation_reason"}


def data_of(row: dict[str, Any]) -> dict[str, Any]:
    data = row.get("data")
    if isinstance(data, str):
        data = json.loads(data or "{}")
    return data if isinstance(data, dict) else {}


def flat(row: dict[str, Any], lang: str | None) -> dict[str, Any]:
    """One entry as one value per column; ``lang`` turns codes into words."""
    data = data_of(row)
    out: dict[str, Any] = {k: row.get(k) for k in FIELDS if k in row}
    for key in ("score", "stars", "star_cap", "mandatory_ok", "certificate", "documents",
                "criteria", "certificate_no", "holder", "registered_on", "decision_no",
                "passed", "days", "returns_to", "deadline", "level"):
        out[key] = data.get(key)
    out["reason_code"] = data.get("reason_code") or (
        data.get("reason") if row.get("trigger") == "open_reevaluation" else None)
    out["sheets"] = "; ".join(f"{s.get('member')}: {s.get('a')} + {s.get('b')} + {s.get('c')}"
                              for s in data.get("sheets") or () if isinstance(s, dict))
    why = data.get("explain")
    code = why.get("code") if isinstance(why, dict) else None
    out["explanation"] = (explain.sentence(str(row.get("trigger")), data, lang) if lang
                          else code)
    if lang and row.get("role") == "system":
        out["actor"] = label("ui", "system_actor", lang)
        if out.get("reason") and has("explain", str(out["reason"]), lang):
            out["reason"] = label("explain", str(out["reason"]), lang)
    return {k: shown(k, v, row, lang) for k, v in out.items()}


def wording(column: str, row: dict[str, Any], lang: str | None) -> Callable[[Any], str]:
    """How a code in ``column`` is shown: its catalogue words for a person, itself otherwise."""
    kind = dict(COLUMNS).get(column)
    if column == "reason_code":
        kind = REASON_KINDS.get(str(row.get("trigger")))
    if not (kind and lang):
        return str

    def words(value: Any) -> str:
        return label(kind, str(value), lang)
    return words


def shown(column: str, value: Any, row: dict[str, Any], lang: str | None) -> Any:
    """A cell: lists joined, booleans and codes in words for a person, as they are for a program."""
    words = wording(column, row, lang)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return (label("ui", "yes" if value else "no", lang) if lang else str(value).lower())
    if isinstance(value, dict):  # pre-score criteria: which are met
        return "; ".join(f"{words(k)}: {shown(column, bool(v), row, lang)}"
                         for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(words(v) for v in value)
    if column == "at" and lang:
        return str(value)[:19].replace("T", " ")
    if isinstance(value, float) and lang:
        return explain.number(value, lang)
    return words(value)


def header(lang: str | None) -> list[str]:
    if not lang:
        return list(FIELDS)
    return [label("ui", HEADER_WORDS.get(name, name), lang) for name in FIELDS]


def csv_text(rows: list[dict[str, Any]], lang: str | None = None) -> str:
    """The rows as CSV text starting with a BOM; ``lang`` for a person, ``None`` for a program."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(lang))
    for row in rows:
        cells = flat(row, lang)
        writer.writerow([cells.get(name, "") for name in FIELDS])
    return BOM + buffer.getvalue()
