"""an index of a team's finished tasks by how long they took (waited + worked), which
the list of the tasks behind a team's figures walks slowest first, and of a team's weeks
of finished tasks, which that list counts

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ['team_id', sa.text('(waited_seconds + worked_seconds)'), 'finished_at',
           'waited_seconds', 'worked_seconds', 'service_id', 'position']


def upgrade() -> None:
    op.create_index('ix_task_duration_team_took', 'task_duration', COLUMNS)
    op.create_index('ix_step_week_team', 'step_week', ['team_id', 'week', 'finished_count'])


def downgrade() -> None:
    op.drop_index('ix_step_week_team', table_name='step_week')
    op.drop_index('ix_task_duration_team_took', table_name='task_duration')
