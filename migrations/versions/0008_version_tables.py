"""queue versions and the directory version in tables of their own

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The team row is the first lock of a team's admin rules: a version kept there made a
    # claim (request, then team at commit) and a member's removal (team, then requests)
    # lock in opposite orders.
    # Not a batch: on SQLite that copies the team table, and dropping the old copy
    # breaks the foreign keys of every row that names a team (SQLite 3.35 and later
    # drop a column in place).
    op.drop_column('team', 'queue_version')
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
    op.add_column('team', sa.Column('queue_version', sa.Integer(), nullable=False,
                                    server_default='0'))
