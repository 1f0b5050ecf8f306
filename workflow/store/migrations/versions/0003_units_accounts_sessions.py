"""Units by code, accounts that can be managed, console sessions, the admin log

* ``units``, ``unit_successors``: the units of Vietnam in both eras and the 2025 mapping;
* producers and cases gain ``district_code``/``commune_code`` (the district becomes optional:
  districts ended on 2025-07-01), users gain ``unit_code`` and the account columns;
* ``sessions`` (console sign-ins apart from API tokens) and ``admin_log`` (who did what to an
  account, a hash chain).

Existing rows keep their names; their codes are resolved from them. A name that matches no
unit, or more than one, is **not guessed**: the code stays empty and the row is listed in
``unit_unresolved`` (``ocop units unresolved``) and in this migration's output.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 18:30:00
"""
import logging
import os
from datetime import UTC, datetime, timedelta
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        'units',
        sa.Column('key', sa.String(length=16), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('level', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('fold', sa.String(length=120), nullable=False),
        sa.Column('parent_key', sa.String(length=16), nullable=True),
        sa.Column('province_key', sa.String(length=16), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_units')),
    )
    op.create_index(op.f('ix_units_code'), 'units', ['code'])
    op.create_index(op.f('ix_units_fold'), 'units', ['fold'])
    op.create_table(
        'unit_successors',
        sa.Column('old_key', sa.String(length=16), nullable=False),
        sa.Column('new_key', sa.String(length=16), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('old_key', 'new_key', name=op.f('pk_unit_successors')),
    )
    op.create_table(
        'unit_unresolved',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('table_name', sa.String(length=20), nullable=False),
        sa.Column('row_id', sa.Integer(), nullable=False),
        sa.Column('district', sa.String(length=120), nullable=True),
        sa.Column('commune', sa.String(length=120), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_unresolved')),
        sa.UniqueConstraint('table_name', 'row_id', name=op.f('uq_unit_unresolved_table_name_row_id')),
    )
    op.create_table(
        'sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_sessions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    )
    op.create_index(op.f('ix_sessions_user_id'), 'sessions', ['user_id'])
    op.create_table(
        'admin_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_log')),
        sa.UniqueConstraint('seq', name=op.f('uq_admin_log_seq')),
    )
    for table in ('producers', 'cases'):
        with op.batch_alter_table(table) as batch:
            batch.alter_column('district', existing_type=sa.String(length=120), nullable=True)
            batch.add_column(sa.Column('district_code', sa.String(length=16), nullable=True))
            batch.add_column(sa.Column('commune_code', sa.String(length=16), nullable=True))
            batch.create_index(batch.f(f'ix_{table}_district_code'), ['district_code'])
            batch.create_index(batch.f(f'ix_{table}_commune_code'), ['commune_code'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('unit_code', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('created_by', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    # Tokens issued before expiry existed expire OCOP_TOKEN_DAYS after this upgrade.
    days = int(os.environ.get("OCOP_TOKEN_DAYS", "180") or 180)
    conn.execute(sa.text("UPDATE users SET token_expires_at = :at WHERE token_expires_at IS NULL"),
                 {"at": _at(datetime.now(UTC) + timedelta(days=days), conn)})
    resolve_existing(conn)


def _at(moment: datetime, conn: sa.Connection) -> Any:
    """A moment as the schema's UTC columns store it (naive UTC on SQLite)."""
    return moment.replace(tzinfo=None) if conn.dialect.name == "sqlite" else moment


def resolve_existing(conn: sa.Connection) -> None:
    """Give the rows made before units existed their codes, from their names."""
    has_rows = any(conn.execute(sa.text(f"SELECT 1 FROM {t} LIMIT 1")).first()
                   for t in ('producers', 'users', 'cases'))
    if not has_rows:
        return
    from workflow.store import units
    loaded = units.load(conn, [os.environ.get("OCOP_PROVINCE", "01").strip() or "01"])
    log.info("units: %d loaded to resolve the names already in the database", loaded.units)
    unresolved: list[dict[str, Any]] = []
    memo: dict[tuple[str | None, str | None, str], tuple[dict[str, Any], str | None]] = {}

    def settle(table: str, rows: Sequence[Any], how: Callable[..., tuple[dict[str, Any], str | None]],
               role_of: Callable[[Any], str]) -> None:
        for r in rows:
            key = (r.district, r.commune, role_of(r))
            if key not in memo:
                memo[key] = how(conn, units, r.district, r.commune, role_of(r))
            values, problem = memo[key]
            if values:
                conn.execute(sa.text(f"UPDATE {table} SET "
                                     + ", ".join(f"{k} = :{k}" for k in values)
                                     + " WHERE id = :row_id"), {**values, "row_id": r.id})
            if problem:
                unresolved.append({"table_name": table, "row_id": r.id, "district": r.district,
                                   "commune": r.commune, "reason": problem})

    for table in ('producers', 'cases'):
        rows = conn.execute(sa.text(f"SELECT id, district, commune FROM {table}")).all()
        settle(table, rows, place_of, lambda r: "")
    rows = conn.execute(sa.text("SELECT id, district, commune, role FROM users")).all()
    settle('users', rows, officer_of, lambda r: r.role)
    if unresolved:
        conn.execute(sa.text("INSERT INTO unit_unresolved (table_name, row_id, district, commune,"
                             " reason) VALUES (:table_name, :row_id, :district, :commune,"
                             " :reason)"), unresolved)
        for u in unresolved:
            log.warning("not resolved: %s %s (district %r, commune %r): %s", u["table_name"],
                        u["row_id"], u["district"], u["commune"], u["reason"])
        log.warning("%d rows kept their names without codes: see `ocop units unresolved`",
                    len(unresolved))


def _one(found: list[Any], what: str) -> tuple[Any, str | None]:
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"no unit named {what}"
    return None, f"{what} is ambiguous: " + "; ".join(u.label for u in found[:6])


def place_of(conn: sa.Connection, units: Any, district: str | None, commune: str | None,
             _: str) -> tuple[dict[str, Any], str | None]:
    """A producer's or case's codes from its district and commune names (as they were before
    2025: an old commune within an old district)."""
    values: dict[str, Any] = {}
    dist = None
    if district and district.strip():
        dist, problem = _one(units.find(conn, district, ("district",)), repr(district))
        if dist is None:
            return values, f"district: {problem}"
        values.update(district_code=dist.key)
    if not (commune and commune.strip()):
        return values, "no commune"
    text = f"{commune}, {district}" if dist is not None else commune
    found = units.find(conn, text, ("commune",))
    if dist is not None:
        found = [u for u in found if u.parent_key == dist.key]
    unit, problem = _one(found, repr(text))
    if unit is None:
        return values, f"commune: {problem}"
    values.update(commune_code=unit.key)
    return values, None


def officer_of(conn: sa.Connection, units: Any, district: str | None, commune: str | None,
               role: str) -> tuple[dict[str, Any], str | None]:
    """An officer's unit from the one name their row has."""
    if role == "district_officer":
        unit, problem = _one(units.find(conn, district or "", ("district",)), repr(district))
    elif role == "commune_officer":
        unit, problem = _one(units.find(conn, commune or "", ("commune",)), repr(commune))
    else:
        return {}, None
    if unit is None:
        return {}, problem
    return {"unit_code": unit.key}, None


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        for column in ('disabled_at', 'last_used_at', 'token_expires_at', 'created_by',
                       'unit_code'):
            batch.drop_column(column)
    for table in ('cases', 'producers'):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(batch.f(f'ix_{table}_commune_code'))
            batch.drop_index(batch.f(f'ix_{table}_district_code'))
            batch.drop_column('commune_code')
            batch.drop_column('district_code')
    for table in ('admin_log', 'sessions', 'unit_unresolved', 'unit_successors', 'units'):
        op.drop_table(table)
