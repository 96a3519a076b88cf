"""open work counters and partial indexes of queued tasks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 09:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.storage.models.QUEUED_PREDICATE: the words queries repeat to use these indexes.
QUEUED = "state IN ('open', 'claimed')"
QUEUED_INDEXES = {
    'ix_task_queued_team': ['team_id', 'opened_at', 'id'],
    'ix_task_queued_team_due': ['team_id', 'due_at'],
    'ix_task_queued_team_by_due': ['team_id', sa.text('(due_at IS NULL)'), 'due_at', 'id'],
    'ix_task_queued_all': ['opened_at', 'id'],
    'ix_task_queued_step': ['service_id', 'position', 'step_name', 'opened_at'],
    'ix_task_queued_step_due': ['service_id', 'position', 'step_name', 'due_at'],
}


def upgrade() -> None:
    op.create_table('open_work_count',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('step_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('open_count', sa.Integer(), nullable=False),
    sa.Column('claimed_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'service_id', 'position', 'step_name')
    )
    # Superseded by the partial indexes: they offered the planner a worse choice (all
    # tasks in a state, then a sort) for lists of queued tasks.
    op.drop_index('ix_task_overview', table_name='task')
    op.drop_index('ix_task_due', table_name='task')
    for name, columns in QUEUED_INDEXES.items():
        op.create_index(name, 'task', columns, unique=False,
                        sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))
    # The counters start from the tasks already there.
    op.execute(
        "INSERT INTO open_work_count (team_id, service_id, position, step_name, "
        "open_count, claimed_count) "
        "SELECT team_id, service_id, position, step_name, "
        "sum(CASE WHEN state = 'open' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN state = 'claimed' THEN 1 ELSE 0 END) "
        f"FROM task WHERE {QUEUED} GROUP BY team_id, service_id, position, step_name"
    )


def downgrade() -> None:
    for name in QUEUED_INDEXES:
        op.drop_index(name, table_name='task')
    op.create_index('ix_task_due', 'task', ['state', 'due_at'], unique=False)
    op.create_index('ix_task_overview', 'task', ['state', 'service_id', 'position'],
                    unique=False)
    op.drop_table('open_work_count')
