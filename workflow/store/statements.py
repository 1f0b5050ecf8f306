"""The hot path's statements, built once with bind parameters.

Building a Core statement per call and generating its cache key cost more than the SQL itself
(profiled: ~60% of an audited transition on SQLite). These are plain values with no I/O.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, literal_column, select, update

from workflow.store.schema import (
    audit_entries,
    cases,
    deadlines,
    documents,
    outbox,
    producers,
    score_sheets,
)

# The case, its producer, the document kinds uploaded to its dossier (comma-separated, what
# ``submit`` checks) and its live clocks in one round trip: one row per live clock (or one row
# with NULL clock columns). Only the case row is locked.
_live = deadlines.alias("live")
UPLOADED_KINDS = "uploaded_kinds"
# The separator as a literal column, not a bound value: ``driver.fetch`` runs this on the driver.
_uploaded = (select(func.aggregate_strings(documents.c.kind,
                                           literal_column("','")))  # type: ignore[arg-type]
             .where(documents.c.case_id == cases.c.id).scalar_subquery())
CLOCK_COLUMNS = tuple(c.name for c in deadlines.columns)
LOCK_CASE = (
    select(cases, producers.c.name.label("producer_name"),
           producers.c.email.label("producer_email"),
           producers.c.webhook_url.label("producer_webhook"),
           producers.c.lang.label("producer_lang"), _uploaded.label(UPLOADED_KINDS),
           *(c.label(f"clock_{c.name}") for c in _live.columns))
    .join(producers, producers.c.id == cases.c.producer_id)
    .outerjoin(_live, (_live.c.case_id == cases.c.id)
               & _live.c.status.in_([literal_column("'open'"), literal_column("'paused'")]))
    .where(cases.c.code == bindparam("code"))
    .order_by(_live.c.id)
    .with_for_update(of=cases)
)

# Every transition writes the same column set, so one compiled statement serves them all.
MOVE_CASE = (
    update(cases)
    .where(cases.c.id == bindparam("case_id"), cases.c.version == bindparam("old_version"))
    .values(state=bindparam("state"), version=bindparam("new_version"),
            audit_seq=bindparam("seq"), audit_head=bindparam("head"),
            audit_seal=bindparam("seal"),
            updated_at=bindparam("now"), rule_version=bindparam("rules"),
            score=bindparam("score"), stars=bindparam("stars"), star_cap=bindparam("star_cap"),
            return_state=bindparam("return_state"),
            rules_pinned=bindparam("rules_pinned"), product_group=bindparam("product_group"),
            reevaluation_reason=bindparam("reevaluation_reason"),
            trademark_no=bindparam("trademark_no"), potential_5=bindparam("potential_5"),
            dossier=bindparam("dossier", type_=cases.c.dossier.type))
)
MOVABLE = ("score", "stars", "star_cap", "return_state", "dossier", "rules_pinned",
           "product_group", "reevaluation_reason", "trademark_no", "potential_5")

SET_DEADLINES = (
    update(deadlines)
    .where(deadlines.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=bindparam("status"))
)

# One live clock's change (executemany over the clocks): a transition cancels, pauses or
# resumes its case's clocks inside its writes' pipeline (``driver.pipeline``).
SET_DEADLINE = (update(deadlines).where(deadlines.c.id == bindparam("deadline_id"))
                .values(status=bindparam("status")))
PAUSE_DEADLINE = (update(deadlines).where(deadlines.c.id == bindparam("deadline_id"))
                  .values(status="paused", remaining_seconds=bindparam(
                      "left", type_=deadlines.c.remaining_seconds.type)))
RESUME_DEADLINE = (update(deadlines).where(deadlines.c.id == bindparam("deadline_id"))
                   .values(status="open", remaining_seconds=None,
                           due_at=bindparam("due", type_=deadlines.c.due_at.type)))

INSERT_AUDIT = insert(audit_entries)
INSERT_OUTBOX = insert(outbox)
INSERT_DEADLINE = insert(deadlines)
INSERT_SCORE_SHEETS = insert(score_sheets)
