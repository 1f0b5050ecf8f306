"""The database schema (SQLAlchemy Core). Alembic migrations are written against this."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, ``process_bind_param`` and SQLite's own text format in one step (the text
        SQLAlchemy writes: ``YYYY-MM-DD HH:MM:SS.ffffff``): every transition binds about eight
        times, and the two layers cost ~3 µs each (``test_schema_types`` checks they agree)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        last: list[tuple[datetime, str]] = []  # a transition binds its one ``now`` many times

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            seen = last[0] if last else None
            if seen is not None and seen[0] is value:
                return seen[1]
            if not isinstance(value, datetime) or value.tzinfo is None:
                self.process_bind_param(value, dialect)  # raises: naive, or not a datetime
                raise TypeError(f"not a datetime: {value!r}")
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            last[:] = [(value, text)]
            return text
        return process


metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

TS = UTCDateTime()

producers = Table(
    "producers", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    # Names as shown; the unit keys are what scope compares (workflow/domain/units.py).
    Column("district", String(120)),
    Column("commune", String(120)),
    Column("district_code", String(16), index=True),
    Column("commune_code", String(16), index=True),
    Column("email", String(254)),
    Column("webhook_url", String(500)),
    Column("webhook_secret", String(100), nullable=False),
    Column("lang", String(2), nullable=False, server_default="vi"),
    Column("created_at", TS, nullable=False),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("district", String(120)),
    Column("commune", String(120)),
    # The officer's unit (a commune or, until 2025-06-30, a district) by key.
    Column("unit_code", String(16)),
    Column("producer_id", Integer, ForeignKey("producers.id")),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(120)),
    # A producer's own console password (argon2id), set through an invitation; migration 0005.
    Column("password_hash", String(200)),
    Column("token_expires_at", TS),
    Column("last_used_at", TS),
    Column("disabled_at", TS),
)

# Console sessions, apart from API tokens: the cookie carries a secret whose hash is ``id``.
sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("created_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("ended_at", TS),
    Column("address", String(64)),
)

# Who did what to accounts: one hash chain, checked by ``ocop audit verify``.
admin_log = Table(
    "admin_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("at", TS, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False),
    Column("data", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# The units of Vietnam in both eras and the 2025 old -> new mapping (``ocop units load``).
units = Table(
    "units", metadata,
    Column("key", String(16), primary_key=True),
    Column("code", String(8), nullable=False, index=True),
    Column("level", String(10), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(120), nullable=False),
    Column("fold", String(120), nullable=False, index=True),
    Column("parent_key", String(16)),
    Column("province_key", String(16), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
)

unit_successors = Table(
    "unit_successors", metadata,
    Column("old_key", String(16), primary_key=True),
    Column("new_key", String(16), primary_key=True),
    Column("is_default", Boolean, nullable=False),
)

# Rows whose free-text unit names migration 0003 could not resolve (``ocop units unresolved``).
unit_unresolved = Table(
    "unit_unresolved", metadata,
    Column("id", Integer, primary_key=True),
    Column("table_name", String(20), nullable=False),
    Column("row_id", Integer, nullable=False),
    Column("district", String(120)),
    Column("commune", String(120)),
    Column("reason", String(200), nullable=False),
    Column("resolved_at", TS),
    UniqueConstraint("table_name", "row_id"),
)

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("producer_id", Integer, ForeignKey("producers.id"), nullable=False, index=True),
    Column("product", String(200), nullable=False),
    Column("product_group", String(40), nullable=False),
    Column("subgroup", String(120)),
    Column("district", String(120), index=True),
    Column("commune", String(120)),
    Column("district_code", String(16), index=True),
    Column("commune_code", String(16), index=True),
    Column("state", String(32), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("rule_version", String(8), nullable=False),
    Column("rules_pinned", Boolean, nullable=False, server_default=text("false")),
    Column("score", Float),
    Column("stars", Integer),
    Column("star_cap", Integer),
    Column("return_state", String(32)),
    # Why the running re-evaluation was opened (its fate if it ends badly); migration 0002.
    Column("reevaluation_reason", String(20)),
    # The register's facts (migration 0006): the trademark certificate's number the IP check
    # accepted or the import gave, and "4★, proposed for 5★" (set by the city's ≥90 score or
    # the import, cleared by the next certificate or the central result). Both are replayed.
    Column("trademark_no", String(120)),
    Column("potential_5", Boolean),
    Column("dossier", JSON, nullable=False),
    Column("status_token", String(64), nullable=False, unique=True),
    Column("audit_seq", Integer, nullable=False, server_default="0"),
    Column("audit_head", String(64), nullable=False),
    # HMAC of (code, audit_seq, audit_head) under the signing key (workflow/store/seal.py).
    Column("audit_seal", String(64)),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# Scoring councils (DOMAIN.md §9): a level, a unit (by key), a year and its members.
councils = Table(
    "councils", metadata,
    Column("id", Integer, primary_key=True),
    Column("level", String(10), nullable=False),  # commune | district | city
    Column("unit_code", String(16), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("members", JSON, nullable=False),  # names as given, NFC
    Column("created_by", String(120), nullable=False),
    Column("created_at", TS, nullable=False),
)

score_sheets = Table(
    "score_sheets", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("audit_seq", Integer, nullable=False),
    Column("level", String(16), nullable=False),
    Column("member", String(120), nullable=False),
    Column("a", Float, nullable=False),
    Column("b", Float, nullable=False),
    Column("c", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("mandatory_ok", Boolean, nullable=False),
    Column("rule_version", String(8), nullable=False),
    Column("recorded_at", TS, nullable=False),
    # The council whose member this is, and who typed the sheet in (migration 0005).
    Column("council_id", Integer, ForeignKey("councils.id")),
    Column("entered_by", String(120)),
)

certificates = Table(
    "certificates", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("stars", Integer, nullable=False),
    Column("level", String(16), nullable=False),
    Column("rule_version", String(8), nullable=False),
    # The day the certificate was entered; its 36 months run from the decision's date.
    Column("issued_on", Date, nullable=False),
    # NULL while the certificate is pending (no decision recorded yet: DOMAIN.md §9).
    Column("valid_to", Date),
    Column("status", String(16), nullable=False),  # pending|valid|superseded|expired|revoked
    Column("decision_no", String(80)),
    Column("decision_date", Date),
    Column("decision_body", String(200)),
    Column("created_at", TS, nullable=False),
    # Ed25519 over the fields the certificate states (workflow/store/seal.py), base64.
    Column("signature", String(120)),
)

# The dossier's documents: one row per uploaded version, the bytes content-addressed on disk
# ($OCOP_HOME/documents/<sha256[:2]>/<sha256>); each upload is an audit entry of its case.
documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("media_type", String(40), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("uploaded_by", String(120), nullable=False),
    Column("uploaded_at", TS, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    UniqueConstraint("case_id", "kind", "version"),
)

# The programme's yearly target of newly certified products (``ocop targets set 2026 400``);
# each change is an admin-log entry.
targets = Table(
    "targets", metadata,
    Column("year", Integer, primary_key=True),
    Column("products", Integer, nullable=False),
    Column("set_by", String(120), nullable=False),
    Column("set_at", TS, nullable=False),
)

# Re-evaluation campaigns (``ocop campaign``): a plan's selection frozen as items, each item
# re-opened at most once, in the same transaction as its case's transition (migration 0007).
campaigns = Table(
    "campaigns", metadata,
    Column("id", Integer, primary_key=True),
    Column("where_text", String(500), nullable=False),  # the selection as the planner wrote it
    Column("filters", JSON, nullable=False),  # the checked register filters it stands for
    Column("reason", String(20), nullable=False),  # open_reevaluation's reason
    Column("message", Text),  # added to each producer's notice
    Column("start_review", Boolean, nullable=False),
    Column("status", String(12), nullable=False),  # planned | running | done | cancelled
    Column("selected", Integer, nullable=False),
    Column("planned_by", String(120), nullable=False),
    Column("planned_at", TS, nullable=False),
    Column("started_by", String(120)),
    Column("started_at", TS),
    Column("finished_at", TS),
    Column("cancelled_by", String(120)),
    Column("cancelled_at", TS),
)

campaign_items = Table(
    "campaign_items", metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(10), nullable=False),  # pending | done | skipped | failed
    Column("detail", JSON),  # why it was skipped or failed
    Column("entry_seq", Integer),  # the seq of the case's entry that re-opened it
    Column("done_at", TS),
    Index("ix_campaign_items_campaign_id_status", "campaign_id", "status", "position"),
)

# One-time, expiring links that let a producer set up their own console access.
invitations = Table(
    "invitations", metadata,
    Column("id", Integer, primary_key=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("producer_id", Integer, ForeignKey("producers.id"), nullable=False, index=True),
    Column("name", String(120), nullable=False),  # the account name it sets up
    Column("created_by", String(120), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("used_at", TS),
    Column("user_id", Integer, ForeignKey("users.id")),
)

audit_entries = Table(
    "audit_entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", TS, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("role", String(32), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("reason", Text),
    Column("data", Text, nullable=False),
    Column("rule_version", String(8), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("case_id", "seq"),
    Index("ix_audit_entries_at", "at"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(40), nullable=False, unique=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("audit_seq", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(500)),
    Column("lang", String(2), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", TS, nullable=False),
    Column("sent_at", TS),
    Column("last_error", Text),
    Column("created_at", TS, nullable=False),
    Index("ix_outbox_pending", "available_at", postgresql_where=text("status = 'pending'"),
          sqlite_where=text("status = 'pending'")),
)

deadlines = Table(
    "deadlines", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("due_at", TS, nullable=False),
    Column("status", String(16), nullable=False),
    Column("working_days", Boolean, nullable=False),
    Column("remaining_seconds", Float),
    Column("level", Integer, nullable=False, server_default="0"),
    Column("fired_at", TS),
    Column("created_at", TS, nullable=False),
    Index("ix_deadlines_open_due", "due_at", postgresql_where=text("status = 'open'"),
          sqlite_where=text("status = 'open'")),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("actor", String(120), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("case_code", String(32), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("actor", "key"),
)
