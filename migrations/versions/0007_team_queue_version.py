"""a version number for each team's queue, for pages kept in memory

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('team') as batch:
        batch.add_column(sa.Column('queue_version', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('team') as batch:
        batch.drop_column('queue_version')
