"""tasks carry their request's title; an index of what changed in a team's queue

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 20:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = "state IN ('open', 'claimed')"


def upgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('request_title', sa.String(length=300), nullable=False,
                                   server_default=''))
    op.execute("UPDATE task SET request_title = (SELECT title FROM service_request "
               "WHERE service_request.id = task.request_id)")
    op.create_index('ix_task_queued_team_changed', 'task', ['team_id', 'state_changed_at'],
                    sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))


def downgrade() -> None:
    op.drop_index('ix_task_queued_team_changed', table_name='task')
    with op.batch_alter_table('task') as batch:
        batch.drop_column('request_title')
