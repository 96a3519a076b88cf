"""The JSON API (issue 15): personal access tokens, the answers kept for
Idempotency-Key, and the timeline's "via" (a change made through a token says which)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 22:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('window_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('window_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_hash')
    )
    op.create_index('ix_api_token_user', 'api_token', ['user_id', 'id'], unique=False)
    op.create_table('idempotent_answer',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], ),
    sa.PrimaryKeyConstraint('token_id', 'key')
    )
    op.create_index('ix_idempotent_answer_created', 'idempotent_answer', ['created_at'],
                    unique=False)
    # Plain ALTER TABLE on both databases (SQLite has added and dropped columns since
    # 3.35): a batch copy of the timeline would trip the foreign keys that point at it.
    op.add_column('timeline_event', sa.Column(
        'via', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))


def downgrade() -> None:
    op.drop_column('timeline_event', 'via')
    op.drop_index('ix_idempotent_answer_created', table_name='idempotent_answer')
    op.drop_table('idempotent_answer')
    op.drop_index('ix_api_token_user', table_name='api_token')
    op.drop_table('api_token')
