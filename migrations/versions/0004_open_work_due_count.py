"""open work counters also count the tasks with a due time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 17:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('open_work_count') as batch:
        batch.add_column(sa.Column('due_count', sa.Integer(), nullable=False,
                                   server_default='0'))
    # From the tasks already there, as app.storage.work_counts.recount would.
    op.execute(
        "UPDATE open_work_count SET due_count = (SELECT count(*) FROM task "
        "WHERE task.state IN ('open', 'claimed') AND task.due_at IS NOT NULL "
        "AND task.team_id = open_work_count.team_id "
        "AND task.service_id = open_work_count.service_id "
        "AND task.position = open_work_count.position "
        "AND task.step_name = open_work_count.step_name)"
    )


def downgrade() -> None:
    with op.batch_alter_table('open_work_count') as batch:
        batch.drop_column('due_count')
