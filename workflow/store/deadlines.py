"""How a transition changes a case's clocks: open, pause, resume, cancel. Rows, never timers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

import states
from workflow.domain import calendar, certificates
from workflow.domain.facts import Facts
from workflow.store import statements as stmt
from workflow.store.driver import run

OPEN, PAUSED, DONE, CANCELLED = "open", "paused", "done", "cancelled"
CERT_KINDS = ("cert_notice_90", "cert_notice_30", "cert_expiry")
COMPLETION_REMINDERS = (("completion_reminder_7", 7), ("completion_reminder_1", 1))


def _row(case_id: int, kind: str, state: str, due: datetime, now: datetime,
         working: bool) -> dict[str, Any]:
    return {"case_id": case_id, "kind": kind, "state": state, "due_at": due, "status": OPEN,
            "working_days": working, "remaining_seconds": None, "level": 0, "fired_at": None,
            "created_at": now}


def state_clock(f: Facts, state: str, now: datetime) -> list[dict[str, Any]]:
    clock = states.lifecycle(f.rule_version).clocks.get(state)
    if clock is None or clock.owner != "office":
        return []
    amount = f.settings.clock_overrides.get(clock.kind, clock.amount)
    due = calendar.add_clock(now, amount, clock.working_days)
    return [_row(f.case["id"], clock.kind, state, due, now, clock.working_days)]


def completion_clocks(f: Facts, now: datetime) -> list[dict[str, Any]]:
    days = f.data.get("days") or f.settings.clock_overrides.get("completion", 30)
    due = now + timedelta(days=days)
    rows = [_row(f.case["id"], kind, "needs_completion", due - timedelta(days=before), now, False)
            for kind, before in COMPLETION_REMINDERS if days > before]
    return [*rows, _row(f.case["id"], "completion", "needs_completion", due, now, False)]


def certificate_clocks(case_id: int, last_valid_day: date, now: datetime) -> list[dict[str, Any]]:
    return [_row(case_id, kind, "certified", due, now, False)
            for kind, due in certificates.clocks(last_valid_day) if due > now]


def apply(conn: Connection, f: Facts, dest: str | None, issued_valid_to: date | None) -> None:
    """Write the clock changes of moving ``f``'s case from its state to ``dest``."""
    if dest is None:
        return
    now, case_id, source = f.now, f.case["id"], f.state
    new: list[dict[str, Any]] = []
    live = f.open_deadlines
    if dest == "needs_completion":
        _pause(conn, [d for d in live if d["state"] == source and d["status"] == OPEN], now)
        new += completion_clocks(f, now)
    elif source == "needs_completion" and dest != "withdrawn":
        _set(conn, [d for d in live if d["state"] == source], CANCELLED)
        paused = [d for d in live if d["status"] == PAUSED and d["state"] == dest]
        _resume(conn, paused, now)
        if not paused:
            new += state_clock(f, dest, now)
    else:
        keep_cert = issued_valid_to is None and dest not in ("expired", "revoked")
        _set(conn, [d for d in live if not (keep_cert and d["kind"] in CERT_KINDS)], CANCELLED)
        new += state_clock(f, dest, now)
    if issued_valid_to is not None:
        new += certificate_clocks(case_id, issued_valid_to, now)
    if new:
        run(conn, stmt.INSERT_DEADLINE, new)


def decided(conn: Connection, f: Facts, valid_to: date) -> None:
    """``record_decision``: the certificate now in force has its notices and its expiry
    counted from its decision; the clocks of the one it replaced are cancelled."""
    _set(conn, [d for d in f.open_deadlines if d["kind"] in CERT_KINDS], CANCELLED)
    new = certificate_clocks(f.case["id"], valid_to, f.now)
    if new:
        run(conn, stmt.INSERT_DEADLINE, new)


def _set(conn: Connection, rows: list[dict[str, Any]], status: str) -> None:
    if rows:
        run(conn, stmt.SET_DEADLINE, [{"deadline_id": r["id"], "status": status} for r in rows])


def _pause(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    if rows:
        run(conn, stmt.PAUSE_DEADLINE, [
            {"deadline_id": r["id"],
             "left": calendar.remaining(now, r["due_at"], r["working_days"])} for r in rows])


def _resume(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    if rows:
        run(conn, stmt.RESUME_DEADLINE, [
            {"deadline_id": r["id"],
             "due": calendar.resume(now, r["remaining_seconds"] or 0.0, r["working_days"])}
            for r in rows])
