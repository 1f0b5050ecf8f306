"""Apply many internal events (audited acts that move no case) in one transaction, set-based.

The deadline sweep escalates hundreds of cases at once. Each event passes the same checks the
engine runs in ``apply_in`` — a row for the trigger from the case's state under its rule
version, the actor's role and scope, the row's guards, the effect plan and the shared machine —
and a refused event is left out before anything is written. The accepted ones are then written
together: one executemany of the case rows (version, audit head), one insert of the audit
entries. Each case's hash chain continues from its head; two events of one case chain in order.

The caller has locked the case rows (``SELECT ... FOR UPDATE``) and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from workflow.domain.decide import CERT_STATES, decide, facts_for
from workflow.domain.facts import Event
from workflow.engine import INTERNAL_TRIGGERS, Applied, WorkflowEngine, is_internal
from workflow.errors import InvalidInput, NotFound, OcopError
from workflow.store import history
from workflow.store.schema import certificates, deadlines

LIVE_CLOCKS = (select(deadlines).where(deadlines.c.case_id.in_(bindparam("ids", expanding=True)),
                                       deadlines.c.status.in_(("open", "paused")))
               .order_by(deadlines.c.id))
VALID_CERTIFICATES = (select(certificates)
                      .where(certificates.c.case_id.in_(bindparam("ids", expanding=True)),
                             certificates.c.status == "valid")
                      .order_by(certificates.c.id))


@dataclass
class _Chain:
    """One case's row as locked, and where its audit chain stands after this batch's events."""

    case: dict[str, Any]
    chain: history.Chain
    version: int
    rules: str = ""


def apply_internal_batch(conn: Connection, engine: WorkflowEngine, events: Sequence[Event],
                         locked: Mapping[str, dict[str, Any]]) -> list[Applied | OcopError]:
    """Apply ``events`` (internal triggers only) to the cases in ``locked`` (by code, each the
    case row with its producer's columns, locked by the caller). Returns, in order, what each
    event did or the error that refused it; refused events write nothing."""
    now = engine.clock.now()
    context = _Context(conn, {case["id"]: case["state"] in CERT_STATES
                              for e in events if (case := locked.get(e.case_code))})
    chains: dict[str, _Chain] = {}
    entries: list[dict[str, Any]] = []
    results: list[Applied | OcopError] = []
    for event in events:
        try:
            chain = chains.get(event.case_code) or _chain(locked, event.case_code)
            entry, applied = _apply(engine, chain, event, now, context)
        except OcopError as error:
            results.append(error)
            continue
        chains[event.case_code] = chain
        entries.append(entry)
        results.append(applied)
    _write(conn, list(chains.values()), entries, now)
    return results


class _Context:
    """What ``apply_in`` reads besides the case row, fetched once for the whole batch: the live
    clocks of every case and the current certificate of those in a certificate state."""

    def __init__(self, conn: Connection, certified: dict[int, bool]) -> None:
        """``certified``: for each case id, whether it is in a certificate state."""
        self.clocks: dict[int, list[dict[str, Any]]] = {}
        self.certificates: dict[int, dict[str, Any]] = {}
        if certified:
            for row in conn.execute(LIVE_CLOCKS, {"ids": sorted(certified)}):
                self.clocks.setdefault(row.case_id, []).append(dict(row._mapping))
        with_certificate = sorted(i for i, yes in certified.items() if yes)
        if with_certificate:
            for row in conn.execute(VALID_CERTIFICATES, {"ids": with_certificate}):
                self.certificates[row.case_id] = dict(row._mapping)  # the newest wins


def _chain(locked: Mapping[str, dict[str, Any]], code: str) -> _Chain:
    case = locked.get(code)
    if case is None:
        raise NotFound("case_not_found", got=code)
    return _Chain(case, history.Chain.of(case), case["version"])


def _apply(engine: WorkflowEngine, chain: _Chain, event: Event, now: datetime,
           context: _Context) -> tuple[dict[str, Any], Applied]:
    """The checks of ``WorkflowEngine.apply_in``, then the next entry of the case's chain."""
    if event.trigger not in INTERNAL_TRIGGERS:
        raise InvalidInput("not_internal_trigger", trigger=event.trigger,
                           trigger_choices=sorted(INTERNAL_TRIGGERS))
    if event.idempotency_key or event.expected_version is not None:
        raise InvalidInput("batch_takes_no_key", trigger=event.trigger, case=event.case_code)
    case = chain.case
    facts = facts_for(case, event, now, engine.settings, context.clocks.get(case["id"], []))
    plan, dest = decide(facts, lambda: context.certificates.get(case["id"]))
    if (dest != facts.state or not is_internal(facts.rule_version, event.trigger, facts.state)
            or plan.updates or plan.sheets or plan.issue or plan.end_certificates):
        raise AssertionError(f"{event.trigger} from {facts.state} is not internal under "
                             f"{facts.rule_version}")
    chain.version, chain.rules = chain.version + 1, facts.rule_version
    entry = chain.chain.next(
        at=now, actor=event.actor.name, role=event.actor.role, trigger=event.trigger,
        from_state=facts.state, to_state=dest, reason=event.reason, data=plan.audit,
        rule_version=facts.rule_version)
    return entry, Applied(case["code"], event.trigger, facts.state, dest, chain.version,
                          entry["seq"])


def _write(conn: Connection, chains: list[_Chain], entries: list[dict[str, Any]],
           now: datetime) -> None:
    history.write(conn, history.MOVE_HEAD, [
        (c.chain, {"old_version": c.case["version"], "new_version": c.version, "now": now,
                   "rules": c.rules}) for c in chains], entries)
