"""cases.audit_seal and certificates.signature: marks only the signing key can make

A case row's seal is an HMAC of its chain's length and head; a certificate's signature is
Ed25519 over the fields it states (``workflow/store/seal.py``). ``ocop db upgrade`` passes the
office's key, and the rows that exist at the upgrade are sealed and signed with it in the same
transaction: the record as it stands then is what later checks start from.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 21:00:00
"""
from alembic import context, op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('audit_seal', sa.String(length=64), nullable=True))
    with op.batch_alter_table('certificates') as batch:
        batch.add_column(sa.Column('signature', sa.String(length=120), nullable=True))
    keys = context.config.attributes.get("keys")
    if keys is not None:
        from workflow.store import seal
        seal.backfill(op.get_bind(), keys)


def downgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.drop_column('signature')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('audit_seal')
