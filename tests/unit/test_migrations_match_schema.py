"""The migrations build the schema the code is written against: after ``upgrade`` to head the
database differs from ``workflow.store.schema.metadata`` in no table, column, index or key
that Alembic's comparison sees (types and server defaults aside: SQLite keeps little of them)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from workflow.store.migrate import upgrade
from workflow.store.schema import metadata


def test_upgrade_to_head_gives_the_declared_schema() -> None:
    db = create_engine("sqlite://")
    upgrade(db)
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = [d for d in compare_metadata(context, metadata)
                       if not (isinstance(d, tuple) and d[0] == "remove_table"
                               and d[1].name == "alembic_version")]
    assert differences == []
