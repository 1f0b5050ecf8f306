"""Replay: a case's state, fields and certificates recomputed from its audit chain alone.

Every entry the engine writes records what it did (``effects``: the replayed fields it set,
the certificate it issued with every field the certificate states, the status it gave the
valid ones); the state and rule version are every entry's own. Folding a chain from its first
entry gives what the case row and its certificate rows must hold, so a row edited without an
entry (``cases.state`` set to certified, a certificate inserted or revived by hand) no longer
agrees with its chain. A scoring entry's score is recomputed from its sheets as well.

Cases registered before effects were recorded (their ``register`` entry has none) replay
their state, rule version and certificate numbers only; ``Replayed.partial`` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from workflow.domain.scoring import Sheet, mean_score
from workflow.errors import clause

# The case fields an entry's effects may set, replayed and compared with the case row.
FIELDS = ("score", "stars", "star_cap", "product_group", "trademark_no", "potential_5")
CERT_FIELDS = ("stars", "level", "rule_version", "issued_on", "valid_to", "decision_no",
               "decision_date", "decision_body", "signature")


def certificate_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A certificate as an entry's effects record it (dates as ISO text)."""
    def text(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value
    return {"number": row["number"], **{k: text(row.get(k)) for k in CERT_FIELDS}}


@dataclass
class Replayed:
    """A chain folded up to some entry: what the case and its certificates must hold."""

    state: str | None = None
    rule_version: str | None = None
    fields: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(FIELDS))
    # number -> the recorded fields, status and the seq of the entry that issued it
    certificates: dict[str, dict[str, Any]] = field(default_factory=dict)
    partial: bool = False  # registered before effects were recorded
    seq: int = 0

    def apply(self, seq: int, trigger: str, to_state: str, rule_version: str,
              data: dict[str, Any]) -> dict[str, Any] | None:
        """Fold one entry in; a problem clause when the entry contradicts itself."""
        self.seq = seq
        if seq == 1 and "effects" not in data:
            self.partial = True
        self.state, self.rule_version = to_state, rule_version
        effects = data.get("effects") or {}
        if not isinstance(effects, dict):
            return clause("break_effects_malformed")
        self.fields.update(effects.get("set") or {})
        ended = effects.get("ended")
        issued = effects.get("issued")
        decided = effects.get("decided")
        if ended:
            self._mark(("valid",), ended)
        if issued:
            # Issued with its decision, it replaces the valid and pending certificates; issued
            # pending, only an earlier pending one (the one in force stays until its decision).
            status = issued.get("status", "valid")
            self._mark(("valid", "pending") if status == "valid" else ("pending",),
                       "superseded")
            self.certificates[issued["number"]] = {**issued, "status": status, "seq": seq}
        if decided:
            self._mark(("valid",), "superseded")
            cert = self.certificates.get(decided["number"])
            if cert is None or cert["status"] != "pending":
                return clause("break_effects_malformed")
            cert.update({**decided, "status": "valid", "seq": seq})
        elif self.partial and isinstance(data.get("certificate"), str) \
                and trigger not in ("expire", "revoke", "expire_certificate"):
            # Before effects were recorded the entry named only the number it issued.
            self.certificates[data["certificate"]] = {"number": data["certificate"],
                                                      "status": None, "seq": seq}
        return _score_problem(data)

    def _mark(self, statuses: tuple[str, ...], status: str) -> None:
        for cert in self.certificates.values():
            if cert["status"] in statuses:
                cert["status"] = status


def _score_problem(data: dict[str, Any]) -> dict[str, Any] | None:
    """A scoring entry's score must be the mean of its sheets' totals."""
    sheets, score = data.get("sheets"), data.get("score")
    if not isinstance(sheets, list) or not sheets or not isinstance(score, int | float):
        return None
    try:
        recomputed = mean_score([Sheet(str(s["member"]), float(s["a"]), float(s["b"]),
                                       float(s["c"])) for s in sheets])
    except (KeyError, TypeError, ValueError):
        return clause("break_effects_malformed")
    if recomputed != float(score):
        return clause("break_score_recomputed", recorded=score, recomputed=recomputed)
    return None


def fold(entries: list[Any], upto: int | None = None) -> tuple[Replayed, Any]:
    """Fold ``entries`` (audit rows in seq order), up to seq ``upto`` if given. Returns the
    replay and the first problem as (seq, clause), or None."""
    replayed = Replayed()
    for entry in entries:
        if upto is not None and entry.seq > upto:
            break
        text = entry.data
        if text is None or (entry.seq > 1 and '"effects":{}' in text
                            and '"sheets"' not in text and '"certificate"' not in text
                            and '"decided"' not in text):
            # Nothing to fold but the state: a million of these are walked per verify.
            replayed.seq, replayed.state = entry.seq, entry.to_state
            replayed.rule_version = entry.rule_version
            continue
        try:
            data = json.loads(text)
        except ValueError:
            return replayed, (entry.seq, clause("break_effects_malformed"))
        problem = replayed.apply(entry.seq, entry.trigger, entry.to_state, entry.rule_version,
                                 data if isinstance(data, dict) else {})
        if problem is not None:
            return replayed, (entry.seq, problem)
    return replayed, None


def compare(replayed: Replayed, case: Any, certs: list[Any]) -> tuple[int, dict[str, Any]] | None:
    """The first difference between the replay and the stored rows, as (seq, clause):
    the case row's state, rule version and fields, then its certificate rows."""
    last = replayed.seq
    if case.state != replayed.state:
        return last, clause("break_replay_field", column="state", stored=case.state,
                            replayed=replayed.state)
    if case.rule_version != replayed.rule_version:
        return last, clause("break_replay_field", column="rule_version",
                            stored=case.rule_version, replayed=replayed.rule_version)
    if not replayed.partial:
        for name in FIELDS:
            stored, expected = getattr(case, name), replayed.fields.get(name)
            if stored != expected:
                return last, clause("break_replay_field", column=name, stored=stored,
                                    replayed=expected)
    stored_numbers = {c.number for c in certs}
    for cert in certs:
        recorded = replayed.certificates.get(cert.number)
        if recorded is None:
            return last, clause("break_certificate_unrecorded", number=cert.number)
        if recorded["status"] is not None and cert.status != recorded["status"]:
            return recorded["seq"], clause("break_certificate_field", number=cert.number,
                                           column="status", stored=cert.status,
                                           replayed=recorded["status"])
        if replayed.partial:
            continue
        fields = certificate_fields(cert._asdict())
        for name in CERT_FIELDS:
            if fields[name] != recorded.get(name):
                return recorded["seq"], clause("break_certificate_field", number=cert.number,
                                               column=name, stored=fields[name],
                                               replayed=recorded.get(name))
    for number, recorded in replayed.certificates.items():
        if number not in stored_numbers:
            return recorded["seq"], clause("break_certificate_missing", number=number)
    return None
