"""The console's action forms: which fields each trigger's form has, and turning a submitted
form into the event's ``data`` and ``reason`` (the engine checks the rest, as for the API).

A scoring form names its council (a list of the councils of the case's units), the day it
scored and one sheet per member; a form whose event may certify carries the People's Committee
decision (number, date, issuing body: all three or none), and ``record_decision`` gives a
pending certificate its decision."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import states
from workflow.clock import local
from workflow.domain.guards import PRESCORE_CRITERIA, REEVALUATION_REASONS, REVOCATION_REASONS
from workflow.domain.scoring import PARTS
from workflow.errors import InvalidInput

SCORED = ("record_district_score", "record_city_score")
SHEET_ROWS = 3  # the least number of sheet rows a scoring form shows
MAX_SHEET_ROWS = 50  # the most members a council has (``workflow.councils.MAX_MEMBERS``)
# The forms that name a council, with the council levels each may name (the engine refuses a
# council that does not fit the case; the district stage's successor may be a commune's or the
# city's council since 2025-07-01). The pre-score's sheets are optional.
COUNCIL_LEVELS = {"record_district_score": ("district", "commune", "city"),
                  "record_city_score": ("city",), "record_commune_prescore": ("commune",)}
# The forms whose event may issue a certificate: they carry the optional decision.
CERTIFYING = ("record_district_score", "record_city_score", "record_no_ip",
              "record_central_result")
DECISION_FIELDS = ("number", "date", "body")  # form fields decision_number, _date, _body
_MEMBER = re.compile(r"member_(\d{1,2})")
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


def offered(trigger: str, councils: Iterable[Mapping[str, Any]] | None
            ) -> list[Mapping[str, Any]]:
    """The councils (of the case page's list) the form for ``trigger`` offers."""
    levels = COUNCIL_LEVELS.get(trigger, ())
    return [c for c in councils or () if c["level"] in levels]


def sheet_rows(councils: Iterable[Mapping[str, Any]]) -> int:
    """As many sheet rows as the largest council offered has members (at least three)."""
    return max([SHEET_ROWS, *(len(c["members"]) for c in councils)])


def member_names(councils: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every member of the councils offered, once, for the member inputs' suggestions."""
    return list(dict.fromkeys(m for c in councils for m in c["members"]))


def today(request: Any) -> str:
    """The day in Vietnam on the server's clock (the scoring date's default)."""
    return local(request.app.state.ocop.clock.now()).date().isoformat()


def sheets_from(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rows with a member's name; a part that is not a number is refused with a sentence."""
    sheets = []
    rows = [int(m.group(1)) for k in form if (m := _MEMBER.fullmatch(k))]
    for i in range(1, min(max(rows, default=0), MAX_SHEET_ROWS) + 1):
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
        data = {"sheets": sheets_from(form), "mandatory_ok": form.get("mandatory_ok") == "on",
                **council_from(form)}
    elif trigger == "record_commune_prescore":
        data = {"criteria": {c: form.get(f"criterion_{c}") == "on" for c in PRESCORE_CRITERIA}}
        sheets = sheets_from(form)
        if sheets:  # the pre-score's council round is optional
            data.update(sheets=sheets, mandatory_ok=form.get("mandatory_ok") == "on",
                        **council_from(form))
    elif trigger == "record_decision":
        data = decision_from(form, required=True) or {}
        if (form.get("certificate") or "").strip():
            data["certificate"] = form["certificate"].strip()
    elif trigger == "record_central_result":
        data = {"passed": form.get("passed") == "on"}
    if trigger in CHOICES:
        key = CHOICES[trigger][0]
        data[key] = form.get("choice", "")
    for key in TEXT_FIELDS.get(trigger, ()):
        data[key] = (form.get(key) or "").strip()
    if trigger in CERTIFYING:
        decision = decision_from(form, required=False)
        if decision is not None:
            data["decision"] = decision
    if trigger == "request_completion" and (form.get("days") or "").strip():
        try:
            data["days"] = int(form["days"])
        except ValueError:
            raise InvalidInput("days_not_whole", form_field="days", got=form["days"]) from None
    return data, (form.get("reason") or "").strip() or None


def council_from(form: Mapping[str, str]) -> dict[str, Any]:
    """The council chosen (its id) and the day it scored, when given."""
    out: dict[str, Any] = {}
    council = (form.get("council") or "").strip()
    if council:
        if not council.isdigit() or len(council) > 9:
            raise InvalidInput("council_choice_invalid", got=council)
        out["council"] = int(council)
    scored_on = (form.get("scored_on") or "").strip()
    if scored_on:
        out["scored_on"] = scored_on
    return out


def decision_from(form: Mapping[str, str], *, required: bool) -> dict[str, str] | None:
    """The decision's number, date and body (``decision_number`` …): all three, or none when
    not ``required``; some but not all is refused, naming the three."""
    given = {k: (form.get(f"decision_{k}") or "").strip() for k in DECISION_FIELDS}
    if not any(given.values()) and not required:
        return None
    if not all(given.values()):
        raise InvalidInput("decision_fields_missing", fields=list(DECISION_FIELDS))
    return given
