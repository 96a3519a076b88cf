"""a team's queue index covers the titles a queue search reads

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = "state IN ('open', 'claimed')"


def _queue_index(*columns: str) -> None:
    op.drop_index('ix_task_queued_team', table_name='task')
    op.create_index('ix_task_queued_team', 'task', list(columns),
                    sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))


def upgrade() -> None:
    _queue_index('team_id', 'opened_at', 'id', 'state', 'request_title')


def downgrade() -> None:
    _queue_index('team_id', 'opened_at', 'id')
