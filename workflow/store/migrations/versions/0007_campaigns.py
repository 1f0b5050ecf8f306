"""Re-evaluation campaigns

- ``campaigns``: a plan (the selection as written and as checked filters, the reason, the
  producers' message, whether review starts too), who planned, started, cancelled it and when;
- ``campaign_items``: the cases the plan selected, frozen at planning, each re-opened at most
  once (its status changes in the transaction that re-opens its case).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:30:00
"""
from alembic import op
import sqlalchemy as sa



revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'campaigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('where_text', sa.String(length=500), nullable=False),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('start_review', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('selected', sa.Integer(), nullable=False),
        sa.Column('planned_by', sa.String(length=120), nullable=False),
        sa.Column('planned_at', TS, nullable=False),
        sa.Column('started_by', sa.String(length=120), nullable=True),
        sa.Column('started_at', TS, nullable=True),
        sa.Column('finished_at', TS, nullable=True),
        sa.Column('cancelled_by', sa.String(length=120), nullable=True),
        sa.Column('cancelled_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    )
    op.create_table(
        'campaign_items',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('entry_seq', sa.Integer(), nullable=True),
        sa.Column('done_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_campaign_items_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_campaign_items_case_id_cases')),
        sa.PrimaryKeyConstraint('campaign_id', 'case_id', name=op.f('pk_campaign_items')),
    )
    op.create_index('ix_campaign_items_campaign_id_status', 'campaign_items',
                    ['campaign_id', 'status', 'position'])


def downgrade() -> None:
    op.drop_index('ix_campaign_items_campaign_id_status', table_name='campaign_items')
    op.drop_table('campaign_items')
    op.drop_table('campaigns')
