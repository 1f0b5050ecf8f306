"""Dossier documents as rows (``documents``): one row per uploaded version of a kind, the
bytes kept on disk by their SHA-256 (``workflow.documents`` writes and reads them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select

from workflow.store.schema import documents


def kinds(conn: Connection, case_id: int) -> frozenset[str]:
    """The document kinds uploaded to the case (any version)."""
    rows = conn.execute(select(documents.c.kind).where(documents.c.case_id == case_id)
                        .distinct()).scalars()
    return frozenset(rows)


def next_version(conn: Connection, case_id: int, kind: str) -> int:
    """The version the next upload of ``kind`` gets: one more than the last (1 for the first).
    Asked under the case row's lock, so two uploads cannot take the same number."""
    last = conn.execute(select(func.max(documents.c.version)).where(
        documents.c.case_id == case_id, documents.c.kind == kind)).scalar()
    return int(last or 0) + 1


def add(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    """Insert one version's row; returns it with its id."""
    new_id = conn.execute(insert(documents).values(**row).returning(documents.c.id)).scalar_one()
    return {"id": int(new_id), **row}


def versions(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    """Every version of every kind of the case, newest first within each kind."""
    rows = conn.execute(select(documents).where(documents.c.case_id == case_id)
                        .order_by(documents.c.kind, documents.c.version.desc()))
    return [dict(r._mapping) for r in rows]


def one(conn: Connection, case_id: int, kind: str, version: int | None) -> dict[str, Any] | None:
    """One version of a kind (``None``: the latest), or ``None`` when there is no such row."""
    query = select(documents).where(documents.c.case_id == case_id, documents.c.kind == kind)
    query = (query.where(documents.c.version == version) if version is not None
             else query.order_by(documents.c.version.desc()).limit(1))
    row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def referenced(conn: Connection, sha256: str) -> bool:
    """Whether any row keeps the bytes with this digest (a file no row names may go)."""
    return conn.execute(select(documents.c.id).where(documents.c.sha256 == sha256)
                        .limit(1)).first() is not None
