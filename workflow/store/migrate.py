"""``ocop db upgrade``: Alembic, configured in code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "heads", keys: Any = None) -> None:
    """Migrate to ``revision`` in one transaction. On SQLite, foreign keys are off meanwhile
    (and checked before the commit): a batch migration rebuilds a table other tables refer
    to, which SQLite would otherwise refuse as soon as it holds rows. ``keys`` (the office's
    signing key, ``workflow.store.seal.Keys``) seals and signs the rows that exist when
    migration 0004 adds the marks."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        # A no-op inside a transaction: set on the driver's own (autocommit) connection.
        driver: Any = conn.connection.driver_connection if conn.dialect.name == "sqlite" \
            else None
        if driver is not None:
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                cfg.attributes["keys"] = keys
                command.upgrade(cfg, revision)
                if driver is not None and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError(f"migrating to {revision} broke a foreign key")
        finally:
            if driver is not None:
                driver.execute("PRAGMA foreign_keys=ON")
