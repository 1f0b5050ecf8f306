"""Read models: the case as the CLI and API show it, lists, and what a user may do now."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from workflow.clock import iso
from workflow.config import Settings
from workflow.domain import decide
from workflow.domain.facts import Actor
from workflow.domain.outbox import FAILED, PRODUCER_KINDS, status_url
from workflow.errors import InvalidInput, NotFound, render
from workflow.store import documents
from workflow.store.schema import audit_entries, cases, certificates, deadlines, producers
from workflow.store.schema import outbox as outbox_rows

LIVE = ("open", "paused")


def case_row(conn: Connection, code: str) -> dict[str, Any]:
    row = conn.execute(select(cases, producers.c.name.label("producer_name"))
                       .join(producers, producers.c.id == cases.c.producer_id)
                       .where(cases.c.code == code)).first()
    if row is None:
        raise NotFound("case_not_found", got=code)
    return dict(row._mapping)


def certificate_json(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"number": row.number, "stars": row.stars, "level": row.level,
            "rule_version": row.rule_version, "issued_on": row.issued_on.isoformat(),
            "valid_to": row.valid_to.isoformat() if row.valid_to else None,
            "status": row.status, "decision": decision_json(row._mapping)}


def newest_certificate(conn: Connection, case_id: int, status: str) -> dict[str, Any] | None:
    """The case's newest certificate with ``status`` (``valid``: the one in force;
    ``pending``: the one awaiting its decision), as the engine and its dry run read it."""
    row = conn.execute(select(certificates).where(certificates.c.case_id == case_id,
                                                  certificates.c.status == status)
                       .order_by(certificates.c.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


def decision_json(row: Any) -> dict[str, Any] | None:
    """A certificate's decision (number, date, body), or None while none is recorded."""
    if row.get("decision_no") is None and row.get("decision_date") is None:
        return None
    day = row.get("decision_date")
    return {"number": row.get("decision_no"), "date": day.isoformat() if day else None,
            "body": row.get("decision_body")}


def _entry(r: Any) -> dict[str, Any]:
    return {"seq": r.seq, "trigger": r.trigger, "from": r.from_state, "to": r.to_state,
            "actor": r.actor, "role": r.role, "at": iso(r.at), "reason": r.reason,
            "data": json.loads(r.data), "rule_version": r.rule_version, "hash": r.hash}


def history(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(audit_entries).where(audit_entries.c.case_id == case_id)
                        .order_by(audit_entries.c.seq))
    return [_entry(r) for r in rows]


def recent_history(conn: Connection, case_id: int, last: int) -> tuple[list[dict[str, Any]], int]:
    """The case's newest ``last`` audit entries, oldest first, and how many it has in all: one
    statement (the count is a window over the case's entries, taken before the limit)."""
    rows = conn.execute(select(audit_entries, func.count().over().label("total"))
                        .where(audit_entries.c.case_id == case_id)
                        .order_by(audit_entries.c.seq.desc()).limit(last)).all()
    return [_entry(r) for r in reversed(rows)], int(rows[0].total) if rows else 0


def case_view(conn: Connection, code: str, public_url: str | None = None, *,
              last: int | None = None) -> dict[str, Any]:
    """The case in the shape ``--json`` and the API return. With ``public_url`` (the settings'
    ``OCOP_PUBLIC_URL``) it carries ``status_url``, the producer's status link: give it only
    to callers allowed to see the case. With ``last``, ``history`` holds only the newest
    ``last`` entries and ``history_total`` says how many there are (the answer to an event)."""
    c = case_row(conn, code)
    if last is None:
        trail: dict[str, Any] = {"history": history(conn, c["id"])}
    else:
        entries, total = recent_history(conn, c["id"], last)
        trail = {"history": entries, "history_total": total}
    cert = conn.execute(select(certificates).where(certificates.c.case_id == c["id"])
                        .order_by(certificates.c.id.desc()).limit(1)).first()
    clocks = conn.execute(select(deadlines).where(deadlines.c.case_id == c["id"],
                                                  deadlines.c.status.in_(LIVE))
                          .order_by(deadlines.c.due_at))
    link = {"status_url": status_url(public_url, c["code"], c["status_token"])
            } if public_url else {}
    return {
        **link, "code": c["code"], "state": c["state"], "version": c["version"],
        "rule_version": c["rule_version"],
        "producer": {"id": c["producer_id"], "name": c["producer_name"]},
        "product": c["product"], "group": c["product_group"], "subgroup": c["subgroup"],
        "district": c["district"], "commune": c["commune"],
        "district_code": c["district_code"], "commune_code": c["commune_code"], "score": c["score"],
        "stars": c["stars"], "certificate": certificate_json(cert),
        # "4★, proposed for 5★" during central review: the stars stay 4 until the result.
        "proposed_stars": 5 if c["state"] == "central_review" else None,
        "deadlines": [{"kind": d.kind, "due_at": iso(d.due_at),
                       "paused": d.status == "paused", "level": d.level} for d in clocks],
        **trail,
    }


def case_head(conn: Connection, code: str) -> dict[str, Any]:
    """The case's code, state and version: what a minimal answer to its registration says."""
    row = conn.execute(select(cases.c.code, cases.c.state, cases.c.version)
                       .where(cases.c.code == code)).one()
    return dict(row._mapping)


# Roles that see every case of the programme (as does no actor: the operator at the machine).
WHOLE_PROGRAMME = ("supervisor", "admin", "city_officer", "ip_officer", "system")


def sees_everything(actor: Actor) -> bool:
    return actor.role in WHOLE_PROGRAMME


def scoped(q: Select[Any], actor: Actor | None) -> Select[Any]:
    """Restrict a query over cases to what ``actor`` may see."""
    if actor is None or sees_everything(actor):
        return q
    if actor.role == "producer":
        return q.where(cases.c.producer_id == actor.producer_id)
    if actor.role == "district_officer":
        return q.where(cases.c.district_code == (actor.unit or ""))
    return q.where(cases.c.commune_code == (actor.unit or ""))


MAX_PAGE = 500


def _case_filters(q: Select[Any], now: datetime, state: str | None, district: str | None,
                  overdue: bool, actor: Actor | None,
                  where: ColumnElement[bool] | None) -> Select[Any]:
    q = scoped(q, actor)
    if state:
        q = q.where(cases.c.state == state)
    if district:  # a unit key: the case's district or commune
        q = q.where(or_(cases.c.district_code == district, cases.c.commune_code == district))
    if where is not None:
        q = q.where(where)
    if overdue:
        q = q.where(breached(now))
    return q


def list_cases(conn: Connection, now: datetime, state: str | None = None,
               district: str | None = None, overdue: bool = False,
               actor: Actor | None = None, limit: int = MAX_PAGE, offset: int = 0,
               where: ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    """Cases in ``actor``'s scope, most urgent first: overdue, then the earliest deadline."""
    due = (select(deadlines.c.due_at).where(deadlines.c.case_id == cases.c.id,
                                             deadlines.c.status == "open")
           .order_by(deadlines.c.due_at).limit(1).scalar_subquery())
    late = breached(now)
    q = _case_filters(select(cases.c.code, cases.c.state, cases.c.product, cases.c.district,
                             cases.c.commune, cases.c.district_code, cases.c.commune_code,
                             cases.c.rule_version, cases.c.stars,
                             cases.c.version, producers.c.name.label("producer"),
                             due.label("due_at"), late.label("late"))
                      .join(producers, producers.c.id == cases.c.producer_id),
                      now, state, district, overdue, actor, where)
    q = q.order_by(late.desc(), due.is_(None), due, cases.c.id).limit(limit).offset(offset)
    return [{"code": r.code, "state": r.state, "product": r.product, "producer": r.producer,
             "district": r.district, "commune": r.commune, "district_code": r.district_code,
             "commune_code": r.commune_code, "rule_version": r.rule_version,
             "stars": r.stars, "version": r.version, "due_at": iso(r.due_at),
             "overdue": bool(r.late)} for r in conn.execute(q)]


def count_cases(conn: Connection, now: datetime, state: str | None = None,
                district: str | None = None, overdue: bool = False,
                actor: Actor | None = None,
                where: ColumnElement[bool] | None = None) -> int:
    """How many cases :func:`list_cases` would list with no limit."""
    q = _case_filters(select(func.count()).select_from(cases), now, state, district, overdue,
                      actor, where)
    return int(conn.execute(q).scalar_one())


def page_cases(conn: Connection, now: datetime, state: str | None = None,
               district: str | None = None, overdue: bool = False,
               actor: Actor | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """One page of :func:`list_cases` with the total, so a reader sees "N of M" and how to
    get the next page; never silently cut short."""
    if not (1 <= limit <= MAX_PAGE) or offset < 0:
        raise InvalidInput("page_limit_invalid", maximum=MAX_PAGE,
                           got={"limit": limit, "offset": offset})
    rows = list_cases(conn, now, state, district, overdue, actor, limit, offset)
    total = count_cases(conn, now, state, district, overdue, actor)
    more = offset + len(rows) < total
    return {"items": rows, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + len(rows) if more else None}


def breached(now: datetime) -> ColumnElement[bool]:
    """The case has an open clock past its due time, or one already escalated: escalation
    moves ``due_at`` on to the next level's date, but the case stays overdue."""
    return exists().where(and_(deadlines.c.case_id == cases.c.id, deadlines.c.status == "open",
                               or_(deadlines.c.due_at <= now, deadlines.c.level > 0)))


def allowed(conn: Connection, code: str, actor: Actor, now: datetime, lang: str = "en",
            settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every trigger of the case's rule version: may ``actor`` fire it now, and if not, why —
    ``why`` in ``lang``, ``why_code`` and ``why_params`` as the catalogue has them. The engine's
    own decision as a dry run (:func:`workflow.domain.decide.dry_run`): state, role, scope and
    guards; an act open but guarded by checks of the event's data lists them in ``needs_input``."""
    c = case_row(conn, code)
    cert = newest_certificate(conn, c["id"], "valid")
    clocks = [dict(r._mapping) for r in conn.execute(
        select(deadlines).where(deadlines.c.case_id == c["id"], deadlines.c.status.in_(LIVE))
        .order_by(deadlines.c.id))]
    context = {"uploaded_kinds": documents.kinds(conn, c["id"]),
               "pending": newest_certificate(conn, c["id"], "pending")}
    out = decide.dry_run(c, actor, now, lambda: cert, clocks, settings or Settings(), context)
    for item in out:
        if not item["allowed"]:
            item["why"] = render(item["why_code"], item["why_params"], lang)
    return out


def list_outbox(conn: Connection, code: str | None = None, status: str | None = None,
                limit: int = 1000) -> list[dict[str, Any]]:
    q = select(outbox_rows, cases.c.code).join(cases, cases.c.id == outbox_rows.c.case_id)
    if code:
        q = q.where(cases.c.code == code)
    if status:
        q = q.where(outbox_rows.c.status == status)
    q = q.order_by(outbox_rows.c.id).limit(limit)
    return [{"id": r.id, "message_id": r.message_id, "case": r.code, "seq": r.audit_seq,
             "kind": r.kind, "channel": r.channel, "recipient": r.recipient, "lang": r.lang,
             "status": r.status, "attempts": r.attempts, "created_at": iso(r.created_at),
             "sent_at": iso(r.sent_at),
             "last_error": r.last_error, "payload": r.payload} for r in conn.execute(q)]


def audit_rows(conn: Connection, code: str | None = None) -> list[dict[str, Any]]:
    q = select(audit_entries, cases.c.code).join(cases, cases.c.id == audit_entries.c.case_id)
    if code:
        q = q.where(cases.c.code == code)
    q = q.order_by(audit_entries.c.case_id, audit_entries.c.seq)
    return [{"case": r.code, "seq": r.seq, "at": iso(r.at), "actor": r.actor,
             "role": r.role, "trigger": r.trigger, "from": r.from_state, "to": r.to_state,
             "reason": r.reason, "data": r.data, "rule_version": r.rule_version,
             "prev_hash": r.prev_hash, "hash": r.hash} for r in conn.execute(q)]


# --- read models added for the HTTP API and the console (issue 4) ---------------------------

EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def audit_filtered(conn: Connection, code: str | None = None, actor: str | None = None,
                   trigger: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 1000, offset: int = 0,
                   newest_first: bool = False) -> list[dict[str, Any]]:
    """Audit entries in time order (or newest first), filtered by case, actor, trigger and
    ``since <= at < until`` (each between :data:`EARLIEST` and :data:`LATEST`, else refused:
    a moment such as 0001-01-01 in Vietnam time has no UTC to compare with)."""
    for name, at in (("since", since), ("until", until)):
        if at is not None and not EARLIEST <= at <= LATEST:
            raise InvalidInput("date_filter_out_of_range", form_field=name, got=at.isoformat(),
                               earliest=EARLIEST.date().isoformat(),
                               latest=LATEST.date().isoformat())
    q = select(audit_entries, cases.c.code).join(cases, cases.c.id == audit_entries.c.case_id)
    if code:
        q = q.where(cases.c.code == code)
    if actor:
        q = q.where(audit_entries.c.actor == actor)
    if trigger:
        q = q.where(audit_entries.c.trigger == trigger)
    if since is not None:
        q = q.where(audit_entries.c.at >= since)
    if until is not None:
        q = q.where(audit_entries.c.at < until)
    order = (audit_entries.c.at.desc(), audit_entries.c.id.desc()) if newest_first else (
        audit_entries.c.at, audit_entries.c.id)
    q = q.order_by(*order).limit(limit).offset(offset)
    return [{"case": r.code, "seq": r.seq, "at": iso(r.at), "actor": r.actor,
             "role": r.role, "trigger": r.trigger, "from": r.from_state, "to": r.to_state,
             "reason": r.reason, "data": r.data, "rule_version": r.rule_version,
             "prev_hash": r.prev_hash, "hash": r.hash} for r in conn.execute(q)]


def certificate_by_number(conn: Connection, number: str) -> dict[str, Any]:
    """A certificate with its product and producer, for the public verification page."""
    row = conn.execute(
        select(certificates, cases.c.product, cases.c.code.label("case_code"),
               producers.c.name.label("producer"))
        .join(cases, cases.c.id == certificates.c.case_id)
        .join(producers, producers.c.id == cases.c.producer_id)
        .where(certificates.c.number == number)).first()
    if row is None:
        raise NotFound("certificate_not_found", got=number)
    return dict(row._mapping)


def outbox_backlog(conn: Connection) -> dict[str, int]:
    """Pending outbox messages per channel."""
    q = (select(outbox_rows.c.channel, func.count()).where(outbox_rows.c.status == "pending")
         .group_by(outbox_rows.c.channel))
    return {channel: int(n) for channel, n in conn.execute(q)}


def overdue_count(conn: Connection, now: datetime) -> int:
    """Cases with an open deadline already due (or escalated)."""
    q = select(func.count()).select_from(cases).where(breached(now))
    return int(conn.execute(q).scalar_one())


def inapp_notices(conn: Connection, code: str, limit: int = 100) -> list[dict[str, Any]]:
    """The producer's in-app notifications of a case, newest first: only the kinds addressed to
    the producer (never the office's escalations and reminders), not failed ones."""
    q = (select(outbox_rows.c.kind, outbox_rows.c.payload, outbox_rows.c.created_at)
         .join(cases, cases.c.id == outbox_rows.c.case_id)
         .where(cases.c.code == code, outbox_rows.c.channel == "inapp",
                outbox_rows.c.recipient.is_(None), outbox_rows.c.kind.in_(PRODUCER_KINDS),
                outbox_rows.c.status != FAILED)
         .order_by(outbox_rows.c.id.desc()).limit(limit))
    return [{**r.payload, "kind": r.kind, "created_at": iso(r.created_at)}
            for r in conn.execute(q)]
