"""The console's action forms: which fields each trigger's form has, and turning a submitted
form into the event's ``data`` and ``reason`` (the engine checks the rest, as for the API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import states
from workflow.domain.guards import PRESCORE_CRITERIA, REEVALUATION_REASONS, REVOCATION_REASONS
from workflow.domain.scoring import PARTS
from workflow.errors import InvalidInput

SCORED = ("record_district_score", "record_city_score")
SHEET_ROWS = 3
REASON_REQUIRED = ("request_completion", "record_no_ip")
# trigger -> (the data key a list's choice fills, its codes, the catalogue kind of their words);
# the form's field is "choice", apart from the free-text "reason" every form has.
CHOICES = {"open_reevaluation": ("reason", REEVALUATION_REASONS, "reevaluation_reason"),
           "revoke": ("reason_code", REVOCATION_REASONS, "revocation_reason")}
TEXT_FIELDS = {"verify_ip": ("certificate_no", "holder", "registered_on"),
               "record_central_result": ("decision_no",)}
SYSTEM_ONLY = states.SYSTEM_TRIGGERS  # never offered as a form: only the system fires them
# Every trigger a person may meet in the console (the audit view's filter, the "done" banner).
TRIGGERS = tuple(dict.fromkeys(["register", *(t for lc in states.LIFECYCLES.values()
                                              for t in lc.triggers())]))


def sheets_from(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rows with a member's name; a part that is not a number is refused with a sentence."""
    sheets = []
    for i in range(1, SHEET_ROWS + 1):
        member = (form.get(f"member_{i}") or "").strip()
        if not member:
            continue
        sheet: dict[str, Any] = {"member": member}
        for part in PARTS:
            raw = (form.get(f"{part}_{i}") or "").strip().replace(",", ".")
            try:
                sheet[part] = float(raw)
            except ValueError:
                raise InvalidInput("score_not_number", sheet=i, member=member,
                                   part=part.upper(), got=raw) from None
        sheets.append(sheet)
    return sheets


def event_from(trigger: str, form: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """The event ``data`` and ``reason`` the form for ``trigger`` submitted."""
    data: dict[str, Any] = {}
    if trigger in SCORED:
        data = {"sheets": sheets_from(form), "mandatory_ok": form.get("mandatory_ok") == "on"}
    elif trigger == "record_commune_prescore":
        data = {"criteria": {c: form.get(f"criterion_{c}") == "on" for c in PRESCORE_CRITERIA}}
    elif trigger == "submit":
        data = {"documents": [k.removeprefix("doc_") for k in form if k.startswith("doc_")]}
    elif trigger == "record_central_result":
        data = {"passed": form.get("passed") == "on"}
    if trigger in CHOICES:
        key = CHOICES[trigger][0]
        data[key] = form.get("choice", "")
    for key in TEXT_FIELDS.get(trigger, ()):
        data[key] = (form.get(key) or "").strip()
    if trigger == "request_completion" and (form.get("days") or "").strip():
        try:
            data["days"] = int(form["days"])
        except ValueError:
            raise InvalidInput("days_not_whole", form_field="days", got=form["days"]) from None
    return data, (form.get("reason") or "").strip() or None
