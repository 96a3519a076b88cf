"""a request keeps the one-time key of the form that filed it, unique per requester

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column and an index: no table rewrite on either database (a unique
    # constraint would need batch mode, a copy of the table, on SQLite). Requests filed
    # before have no key, and NULLs never collide.
    op.add_column('service_request',
                  sa.Column('submission_key', sa.String(length=64), nullable=True))
    op.create_index('uq_service_request_submission_key', 'service_request',
                    ['requester_id', 'submission_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_service_request_submission_key', table_name='service_request')
    op.drop_column('service_request', 'submission_key')
