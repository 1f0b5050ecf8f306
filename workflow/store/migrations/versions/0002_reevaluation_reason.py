"""cases.reevaluation_reason: why the running re-evaluation was opened (DOMAIN.md §9)

The reason decides the old certificate's fate when the re-evaluation ends badly, so the case
keeps it from ``open_reevaluation`` until the re-evaluation ends.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('reevaluation_reason', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('reevaluation_reason')
