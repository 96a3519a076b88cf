"""PostgreSQL: the step index of task durations with the task's id, so the list of the
tasks behind a step's figures reads its keys from the index alone (SQLite's indexes hold
the row's id already)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ['service_id', 'position', 'finished_at', 'waited_seconds', 'worked_seconds',
           'task_id']


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_task_duration_step_keys', 'task_duration', COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_task_duration_step_keys', table_name='task_duration')
