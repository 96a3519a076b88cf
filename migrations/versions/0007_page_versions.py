"""the versions kept queue pages are checked against: one per team's queue, and the
directory's

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
    # Tables of their own, not columns of `team`: a team's admin rules lock its row
    # first, and a claim raising a version there would lock in the opposite order.
    op.create_table(
        'queue_version',
        sa.Column('team_id', sa.Integer(), sa.ForeignKey('team.id'), primary_key=True),
        sa.Column('version', sa.Integer(), nullable=False),
    )
    op.create_table(
        'directory_version',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('version', sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('directory_version')
    op.drop_table('queue_version')
