"""UTCDateTime's one-step SQLite bind writes exactly the text SQLAlchemy's two layers write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.dialects import sqlite

from workflow.clock import VIETNAM
from workflow.store.schema import UTCDateTime

AWARE = [
    datetime(2025, 9, 1, 9, 0, tzinfo=VIETNAM),
    datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-11))),
    datetime(1, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(9999, 12, 31, 12, 0, tzinfo=VIETNAM),
]


@pytest.mark.parametrize("value", AWARE, ids=str)
def test_the_fast_bind_writes_sqlalchemys_text(value: datetime) -> None:
    dialect = sqlite.dialect()
    t = UTCDateTime()
    fast = t.bind_processor(dialect)
    assert fast is not None
    layered = t.impl_instance.dialect_impl(dialect).bind_processor(dialect)
    assert layered is not None
    assert fast(value) == layered(t.process_bind_param(value, dialect))
    assert fast(value) == value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f").rjust(26, "0")


def test_the_fast_bind_refuses_what_the_layers_refuse() -> None:
    fast = UTCDateTime().bind_processor(sqlite.dialect())
    assert fast is not None
    assert fast(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        fast(datetime(2025, 9, 1, 9, 0))
    with pytest.raises(AttributeError):
        fast("2025-09-01")


def test_a_value_comes_back_from_sqlite_as_the_same_instant() -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime()))
    db = create_engine("sqlite://")
    table.metadata.create_all(db)
    with db.begin() as conn:
        conn.execute(insert(table), [{"id": i, "at": v} for i, v in enumerate(AWARE)])
        back = conn.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
    assert back == AWARE
    assert all(v.tzinfo is UTC for v in back)
