"""The programme register's facts and the yearly targets

- ``cases.trademark_no``: the trademark certificate's number the IP check accepted or the
  historic import gave (the register's "trademark yes/no");
- ``cases.potential_5``: "4★, proposed for 5★" (DOMAIN.md §9), set by the city's score that
  sends a case to central review or by the import;
- ``targets``: new products a year the programme aims for (``ocop targets set``).

Cases that exist at the upgrade keep NULL in both: their chains never set them, so replay
agrees.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 05:30:00
"""
from alembic import op
import sqlalchemy as sa



revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('trademark_no', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('potential_5', sa.Boolean(), nullable=True))
    op.create_table(
        'targets',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('products', sa.Integer(), nullable=False),
        sa.Column('set_by', sa.String(length=120), nullable=False),
        sa.Column('set_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_targets')),
    )


def downgrade() -> None:
    op.drop_table('targets')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('potential_5')
        batch.drop_column('trademark_no')
