"""Scoring councils as rows (``councils``) and the rounds they sat: the score sheets naming them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from workflow.store.schema import cases, councils, score_sheets

LIST_LIMIT = 1000


def get(conn: Connection, council_id: int) -> dict[str, Any] | None:
    """The council with ``council_id``, or None."""
    row = conn.execute(select(councils).where(councils.c.id == council_id)).first()
    return dict(row._mapping) if row else None


def add(conn: Connection, now: datetime, created_by: str, level: str, unit_code: str,
        year: int, members: list[str]) -> int:
    """Write a council; its id."""
    return int(conn.execute(insert(councils).values(
        level=level, unit_code=unit_code, year=year, members=members, created_by=created_by,
        created_at=now).returning(councils.c.id)).scalar_one())


def listing(conn: Connection, level: str | None = None, units: list[str] | None = None,
            year: int | None = None, since: int | None = None,
            limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """Councils, the newest year first, then by id: of ``level``, sitting for one of
    ``units`` (keys), for ``year``, or for ``since`` and later."""
    q = select(councils).order_by(councils.c.year.desc(), councils.c.id).limit(limit)
    if level:
        q = q.where(councils.c.level == level)
    if units is not None:
        q = q.where(councils.c.unit_code.in_(units))
    if year is not None:
        q = q.where(councils.c.year == year)
    if since is not None:
        q = q.where(councils.c.year >= since)
    return [dict(r._mapping) for r in conn.execute(q)]


def rounds(conn: Connection, council_id: int) -> list[dict[str, Any]]:
    """The sheets handed in under the council, in the order they were recorded."""
    q = (select(cases.c.code, score_sheets.c.level, score_sheets.c.member,
                score_sheets.c.total, score_sheets.c.entered_by, score_sheets.c.recorded_at,
                score_sheets.c.audit_seq)
         .join(cases, cases.c.id == score_sheets.c.case_id)
         .where(score_sheets.c.council_id == council_id)
         .order_by(score_sheets.c.recorded_at, score_sheets.c.id))
    return [dict(r._mapping) for r in conn.execute(q)]
