"""Councils, dossier documents, producer invitations and certificates' decisions

- ``councils`` and, on each score sheet, its council and who entered it;
- ``documents``: each uploaded version of a dossier document (the bytes live on disk);
- ``invitations`` and ``users.password_hash``: a producer's own console access;
- ``certificates.decision_date`` / ``decision_body``, and ``valid_to`` nullable: a certificate
  without its People's Committee decision is *pending* and has no validity yet (DOMAIN.md §9).
  Certificates that exist at the upgrade keep their dates: their validity was already given.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:30:00
"""
from alembic import op
import sqlalchemy as sa



revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'councils',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('level', sa.String(length=10), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('members', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_councils')),
    )
    op.create_index(op.f('ix_councils_unit_code'), 'councils', ['unit_code'])
    with op.batch_alter_table('score_sheets') as batch:
        batch.add_column(sa.Column('council_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('entered_by', sa.String(length=120), nullable=True))
        batch.create_foreign_key(op.f('fk_score_sheets_council_id_councils'), 'councils',
                                 ['council_id'], ['id'])
    op.create_table(
        'documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('media_type', sa.String(length=40), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('uploaded_by', sa.String(length=120), nullable=False),
        sa.Column('uploaded_at', TS, nullable=False),
        sa.Column('audit_seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_documents_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
        sa.UniqueConstraint('case_id', 'kind', 'version',
                            name=op.f('uq_documents_case_id_kind_version')),
    )
    op.create_index(op.f('ix_documents_case_id'), 'documents', ['case_id'])
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('producer_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('used_at', TS, nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['producer_id'], ['producers.id'],
                                name=op.f('fk_invitations_producer_id_producers')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_invitations_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_invitations_secret_hash')),
    )
    op.create_index(op.f('ix_invitations_producer_id'), 'invitations', ['producer_id'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('password_hash', sa.String(length=200), nullable=True))
    with op.batch_alter_table('certificates') as batch:
        batch.add_column(sa.Column('decision_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('decision_body', sa.String(length=200), nullable=True))
        batch.alter_column('valid_to', existing_type=sa.Date(), nullable=True)


def downgrade() -> None:
    # ``valid_to`` stays nullable: a pending certificate (no decision yet) has none, and a
    # downgrade must not fail on it nor invent a validity; 0004's code never writes NULL.
    with op.batch_alter_table('certificates') as batch:
        batch.drop_column('decision_body')
        batch.drop_column('decision_date')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('password_hash')
    op.drop_index(op.f('ix_invitations_producer_id'), table_name='invitations')
    op.drop_table('invitations')
    op.drop_index(op.f('ix_documents_case_id'), table_name='documents')
    op.drop_table('documents')
    with op.batch_alter_table('score_sheets') as batch:
        batch.drop_constraint(op.f('fk_score_sheets_council_id_councils'), type_='foreignkey')
        batch.drop_column('entered_by')
        batch.drop_column('council_id')
    op.drop_index(op.f('ix_councils_unit_code'), table_name='councils')
    op.drop_table('councils')
