"""Re-evaluation campaigns (issue 13): many certificates re-opened in one audited, resumable act.

A city officer (or an admin) describes the affected certificates in ``--where`` words, sees the
selection (:func:`preview`), saves it as a plan whose items are frozen pending (:func:`plan`),
and runs it (:func:`run`): chunk after chunk (:func:`run_chunk`, also a Celery task's body),
each one transaction in which the items are claimed, their cases locked and re-checked against
the plan, and ``open_reevaluation`` (then ``start_review`` where the plan says so) written
set-based through :func:`workflow.batch.apply_moving_batch`, the items' outcomes with them. A
kill at any moment leaves each item done with its entry and notices, or pending with nothing
written; running again finishes the rest. Plan, start, finish and cancel are admin-log entries.

Every function returns plain dicts, for the CLI, the API and the console alike.
"""

from __future__ import annotations

import math
import shlex
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import structlog

import states
from workflow import register, registry
from workflow.batch import apply_moving_batch
from workflow.bootstrap import App
from workflow.clock import local
from workflow.config import Settings
from workflow.domain.facts import SYSTEM_ACTOR, Actor, Event
from workflow.domain.permissions import acting_roles
from workflow.engine import Applied
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound, OcopError, clause
from workflow.messaging.broker import publisher_celery
from workflow.store import adminlog
from workflow.store import campaigns as store
from workflow.store.db import read_snapshot, write_transaction
from workflow.store.register import STARS_VALUES, Filters
from workflow.store.schema import users

log = structlog.get_logger("ocop.campaigns")

ROLES = ("city_officer", "admin")
REASONS = tuple(dict.fromkeys(r for lc in states.LIFECYCLES.values()
                              for r in lc.reevaluation_reasons))
CHUNK, MAX_CHUNK, MAX_MESSAGE = 500, 5000, 2000
MAX_WHERE = 500  # characters: the campaigns row keeps the words as typed
CHUNK_TASK = "ocop.campaign_chunk"  # tasks/campaigns.py
POLL, STALL = 0.3, 30.0  # seconds between progress reads; without progress, run it here
Progress = Callable[[dict[str, int]], None]
Enqueue = Callable[[int, int, int], bool]  # campaign id, chunk size, tasks: sent?

# --- the --where words -------------------------------------------------------------------------

WORDS = {"rules": "=", "group": "=", "unit": "=", "level": "=", "trademark": "=",
         "stars": "= >= <= > <", "issued": "= >= <= > <", "expiring": "= <= <"}
OPERATORS = (">=", "<=", "=", ">", "<")
RANK = {"3": 3.0, "4": 4.0, "4+": 4.0, "5": 5.0}  # "4+" is a 4★ (proposed for 5★)
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b}


def parse_where(conn: Any, text: str, today: date) -> Filters:
    """``rules=1048 stars>=4 trademark=no …`` as checked register filters (valid certificates
    only); a word that is not ``key``, operator, value as :data:`WORDS` allows is refused
    naming it, and each value is checked as the register checks it."""
    if len(text) > MAX_WHERE:
        raise InvalidInput("campaign_where_too_long", most=MAX_WHERE)
    try:
        words = shlex.split(text)
    except ValueError:
        raise InvalidInput("campaign_where_unreadable", got=text) from None
    if not words:
        raise InvalidInput("campaign_where_empty", words=_allowed())
    raw: dict[str, list[str]] = {}
    decided: list[date | None] = [None, None]
    for word in words:
        key, op, value = _split(word)
        if key == "issued":
            _issued(decided, word, op, _day(word, value))
        elif key == "stars" and op != "=":
            raw.setdefault("stars", []).extend(_stars(word, op, value))
        else:
            raw.setdefault(key, []).append(_expiring(word, op, value) if key == "expiring"
                                           else value)
    return Filters(**{**register.parse(conn, raw, today).__dict__,
                      "decided": (decided[0], decided[1])})


def _allowed() -> list[str]:
    return [f"{k} ({ops})" for k, ops in WORDS.items()]


def _split(word: str) -> tuple[str, str, str]:
    for op in OPERATORS:
        key, found, value = word.partition(op)
        if found and key in WORDS and op in WORDS[key].split() and value.strip():
            return key, op, value.strip()
        if found:
            break
    raise InvalidInput("campaign_where_word", got=word, words=_allowed())


def _stars(word: str, op: str, value: str) -> list[str]:
    typed = value.removesuffix("★").removesuffix("*")
    if typed not in RANK:
        raise InvalidInput("campaign_where_word", got=word, words=_allowed())
    return [s for s in STARS_VALUES if COMPARE[op](RANK[s], RANK[typed])]


def _expiring(word: str, op: str, value: str) -> str:
    if not value.isdigit() or (op == "<" and int(value) < 1):
        raise InvalidInput("campaign_where_word", got=word, words=_allowed())
    return str(int(value) - 1) if op == "<" else value


def _day(word: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("campaign_where_date", got=word) from None


def _issued(decided: list[date | None], word: str, op: str, day: date) -> None:
    """Narrow the decision-date range; a bound given twice is refused."""
    bounds = {">=": (day, None), ">": (day + timedelta(days=1), None), "<=": (None, day),
              "<": (None, day - timedelta(days=1)), "=": (day, day)}[op]
    for i, bound in enumerate(bounds):
        if bound is not None:
            if decided[i] is not None:
                raise InvalidInput("campaign_where_twice", got=word)
            decided[i] = bound


# --- planning ----------------------------------------------------------------------------------

def check_role(actor: Actor) -> None:
    if actor.role not in ROLES:
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_campaign"),
                        roles=list(ROLES))


def preview(app: App, actor: Actor, where: str, reason: str = "criteria_change",
            message: str | None = None, start_review: bool = False,
            limit: int = 100) -> dict[str, Any]:
    """What :func:`plan` would save: the count and the first ``limit`` cases. Writes nothing."""
    with read_snapshot(app.db) as conn:
        return _preview(app, conn, actor, where, reason, message, start_review, limit)[0]


def _preview(app: App, conn: Any, actor: Actor, where: str, reason: str, message: str | None,
             start_review: bool, limit: int) -> tuple[dict[str, Any], Filters]:
    check_role(actor)
    today = local(app.clock.now()).date()
    if reason not in REASONS:
        raise InvalidInput("reevaluation_reason_invalid", got=reason,
                           reevaluation_reason_choices=list(REASONS))
    if message is not None and len(message) > MAX_MESSAGE:
        raise InvalidInput("campaign_message_too_long", most=MAX_MESSAGE)
    if start_review:
        _city_may_start_review(app, today)
    filters = parse_where(conn, where, today)
    found = conn.execute(store.selection(filters).limit(max(0, limit))).all()
    return {"where": where, "reason": reason, "message": message, "start_review": start_review,
            "count": store.count(conn, filters),
            "cases": [dict(r._mapping) for r in found]}, filters


def _city_may_start_review(app: App, today: date) -> None:
    """A campaign acts as the city officer running it: ``start_review`` is only possible
    where the version in force today lets the city office start a review (DOMAIN.md §4: it
    is the district's or the commune's act, the city's only as the districts' successor)."""
    version = states.rule_version_for(today)
    rows = states.lifecycle(version).rows("start_review", "reevaluation")
    may = acting_roles(set().union(*(r.roles for r in rows)), today,
                       app.settings.district_successor)
    if "city_officer" not in may:
        raise InvalidInput("campaign_start_review_not_city", version=version, roles=sorted(may))


def plan(app: App, actor: Actor, where: str, reason: str = "criteria_change",
         message: str | None = None, start_review: bool = False,
         limit: int = 100) -> dict[str, Any]:
    """Save the plan: the selection frozen as pending items, one ``campaign_plan`` entry in
    the admin log. No case changes. Returns the preview with the campaign's ``id``."""
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        shown, filters = _preview(app, conn, actor, where, reason, message, start_review, limit)
        cid = store.add(conn, {"where_text": where, "filters": store.to_json(filters),
                               "reason": reason, "message": message,
                               "start_review": start_review, "status": "planned",
                               "selected": 0, "planned_by": actor.name, "planned_at": now})
        selected = store.freeze(conn, cid, filters)
        store.change(conn, cid, selected=selected)
        adminlog.record(conn, now, actor.name, "campaign_plan", f"campaign:{cid}",
                        {"where": where, "reason": reason, "selected": selected,
                         "start_review": start_review})
    return {"id": cid, "status": "planned", **shown, "count": selected}


# --- running -----------------------------------------------------------------------------------

def run(app: App, campaign_id: int, actor: Actor, chunk: int = CHUNK,
        progress: Progress = lambda counts: None,
        enqueue: Enqueue | None = None) -> dict[str, Any]:
    """Start (or resume) the campaign and run it to its end; returns :func:`show`.
    ``enqueue(campaign_id, chunk, tasks)``: hand the chunks to workers (Celery) and wait,
    taking over here if it could not or they make no progress for :data:`STALL` seconds."""
    if not 1 <= chunk <= MAX_CHUNK:
        raise InvalidInput("campaign_chunk_invalid", got=chunk, most=MAX_CHUNK)
    left = start(app, campaign_id, actor)
    here = enqueue is None or not left or not enqueue(campaign_id, chunk,
                                                      math.ceil(left / chunk))
    last, since, read = None, time.monotonic(), 0.0
    while True:
        claimed = run_chunk(app, campaign_id, chunk) if here else 0
        if claimed and time.monotonic() - read < POLL:
            continue  # progressing here: count the items a few times a second, not per chunk
        read = time.monotonic()
        counts = _counts(app, campaign_id)
        progress(counts)
        if not counts["left"] or (not claimed and _status(app, campaign_id) != "running"):
            break
        if counts != last:
            last, since = counts, time.monotonic()
        elif time.monotonic() - since > STALL:
            if here:
                break  # another runner holds the rest and makes no progress
            here, since = True, time.monotonic()
        if not claimed:
            time.sleep(POLL)
    finish(app, campaign_id)
    return show(app, campaign_id)


def celery_enqueue(settings: Settings) -> Enqueue | None:
    """With ``OCOP_BROKER_URL`` on Redis, what sends a campaign's chunk tasks to the workers
    (:data:`CHUNK_TASK`, each one :func:`run_chunk`); without, ``None`` (run in process)."""
    if not (settings.broker_url or "").startswith(("redis://", "rediss://")):
        return None

    def enqueue(campaign_id: int, chunk: int, tasks: int) -> bool:
        celery = publisher_celery(settings)
        try:
            with celery.producer_or_acquire() as producer:
                for _ in range(tasks):
                    celery.send_task(CHUNK_TASK, args=[campaign_id, chunk], producer=producer,
                                     retry=False, ignore_result=True)
        except Exception as error:  # the broker is down: this process runs the chunks
            log.warning("campaign_enqueue_failed", campaign=campaign_id, error=str(error))
            return False
        return True

    return enqueue


def start(app: App, campaign_id: int, actor: Actor) -> int:
    """Mark the campaign running (``campaign_start`` in the admin log) unless it already is;
    refuse a cancelled one. Returns how many items are left."""
    check_role(actor)
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        found = _campaign(conn, campaign_id, lock=True)
        if found["status"] == "cancelled":
            raise Conflict("campaign_cancelled", campaign=campaign_id,
                           by=found["cancelled_by"])
        counts = store.counts(conn, campaign_id)
        if found["status"] == "planned":
            store.change(conn, campaign_id, status="running", started_by=actor.name,
                         started_at=now)
            adminlog.record(conn, now, actor.name, "campaign_start", f"campaign:{campaign_id}",
                            {"selected": found["selected"], **counts})
    return counts["left"]


def run_chunk(app: App, campaign_id: int, size: int = CHUNK) -> int:
    """Claim up to ``size`` pending items of a running campaign and re-open their cases in one
    transaction; then nudge the relay. Returns how many items were claimed (0: none left to
    this runner, or the campaign is not running)."""
    applied: list[Applied] = []
    with write_transaction(app.db) as conn:
        found = store.get(conn, campaign_id)
        if found is None or found["status"] != "running":
            return 0
        ids = store.claim(conn, campaign_id, size)
        if not ids:
            return 0
        applied = _chunk(app, conn, found, ids)
    for one in applied:
        app.engine.committed(one)
    return len(ids)


def _chunk(app: App, conn: Any, found: dict[str, Any], ids: list[int]) -> list[Applied]:
    now, cid = app.clock.now(), found["id"]
    locked = {r.id: dict(r._mapping) for r in conn.execute(store.LOCK_CASES, {"ids": ids})}
    matching = store.still_matching(conn, store.from_json(found["filters"]), ids)
    statuses = store.certificate_status(conn, [i for i in ids if i not in matching])
    actor = _transition_actor(conn, found["started_by"])
    todo = [locked[i] for i in ids if i in matching]
    events = [[Event(c["code"], "open_reevaluation", actor, {"reason": found["reason"]},
                     reason=found["message"]),
               *([Event(c["code"], "start_review", actor)] if found["start_review"] else [])]
              for c in todo]
    results = apply_moving_batch(conn, app.engine, events, {c["code"]: c for c in todo},
                                 {"campaign": cid})
    done = [(c, r) for c, r in zip(todo, results, strict=True) if not isinstance(r, OcopError)]
    store.mark_done(conn, cid, [c["id"] for c, _ in done], now,
                    back=1 if found["start_review"] else 0)
    outcomes = [_outcome(c["id"], store.FAILED, now, {"code": r.code, "params": r.params})
                for c, r in zip(todo, results, strict=True) if isinstance(r, OcopError)]
    outcomes += [_outcome(i, store.SKIPPED, now, _why_skipped(locked.get(i), statuses.get(i)))
                 for i in ids if i not in matching]
    store.mark(conn, cid, outcomes)
    return [a for _, r in done for a in r]


def _outcome(case_id: int, outcome: str, now: Any,
             detail: dict[str, Any]) -> dict[str, Any]:
    return {"case": case_id, "outcome": outcome, "detail": detail, "seq": None, "at": now}


def _why_skipped(case: dict[str, Any] | None, status: str | None) -> dict[str, Any]:
    if case is None:
        return clause("campaign_skipped_gone")
    if case["state"] != "certified":
        return clause("campaign_skipped_state", state=case["state"])
    if status != "valid":
        return clause("campaign_skipped_certificate", certificate=status)
    return clause("campaign_skipped_filters")


def _transition_actor(conn: Any, name: str | None) -> Actor:
    """Whom the cases' entries name: the city officer who started the campaign, or the system
    (for an administrator, who may not re-open a case: DOMAIN.md §4)."""
    row = conn.execute(registry.user_query().where(users.c.name == name)).first() \
        if name else None
    if row is None or row.role != "city_officer" or row.disabled_at is not None:
        return SYSTEM_ACTOR
    return registry.actor_from_row(row)


def finish(app: App, campaign_id: int) -> None:
    """Mark a running campaign with nothing left done (``campaign_finish`` with its counts)."""
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        found = _campaign(conn, campaign_id, lock=True)
        counts = store.counts(conn, campaign_id)
        if found["status"] == "running" and not counts["left"]:
            store.change(conn, campaign_id, status="done", finished_at=now)
            adminlog.record(conn, now, found["started_by"] or "system", "campaign_finish",
                            f"campaign:{campaign_id}", counts)


def cancel(app: App, campaign_id: int, actor: Actor) -> dict[str, Any]:
    """Stop a planned or running campaign: its pending items stay pending and no run takes
    them (``campaign_cancel`` in the admin log). Returns :func:`show`."""
    check_role(actor)
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        found = _campaign(conn, campaign_id, lock=True)
        if found["status"] not in ("planned", "running"):
            raise Conflict("campaign_not_cancellable", campaign=campaign_id,
                           campaign_status=found["status"])
        store.change(conn, campaign_id, status="cancelled", cancelled_by=actor.name,
                     cancelled_at=now)
        adminlog.record(conn, now, actor.name, "campaign_cancel", f"campaign:{campaign_id}",
                        store.counts(conn, campaign_id))
    return show(app, campaign_id)


# --- reading -----------------------------------------------------------------------------------

def show(app: App, campaign_id: int, items: int = 50) -> dict[str, Any]:
    """The campaign, its counts (done / skipped / failed / left) and the first ``items``
    skipped and failed items with why."""
    with app.db.connect() as conn:
        found = _campaign(conn, campaign_id)
        return {**_public(found), "counts": store.counts(conn, campaign_id),
                "skipped": _items(conn, campaign_id, store.SKIPPED, items),
                "failed": _items(conn, campaign_id, store.FAILED, items)}


def listing(app: App, limit: int = 50) -> list[dict[str, Any]]:
    with app.db.connect() as conn:
        return [{**_public(c), "counts": store.counts(conn, c["id"])}
                for c in store.listing(conn, limit)]


def _items(conn: Any, campaign_id: int, status: str, limit: int) -> list[dict[str, Any]]:
    return [{"code": i["code"], "product": i["product"], "detail": i["detail"]}
            for i in store.items(conn, campaign_id, status, limit)]


def _public(c: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "status", "reason", "message", "start_review", "selected", "planned_by",
            "planned_at", "started_by", "started_at", "finished_at", "cancelled_by",
            "cancelled_at")
    return {"where": c["where_text"], **{k: c[k] for k in keys}}


def _counts(app: App, campaign_id: int) -> dict[str, int]:
    with app.db.connect() as conn:
        return store.counts(conn, campaign_id)


def _status(app: App, campaign_id: int) -> str:
    with app.db.connect() as conn:
        return str(_campaign(conn, campaign_id)["status"])


def _campaign(conn: Any, campaign_id: int, lock: bool = False) -> dict[str, Any]:
    found = store.get(conn, campaign_id, lock)
    if found is None:
        raise NotFound("campaign_not_found", got=campaign_id)
    return found
