"""targets, skipped steps, admin audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:54:58.499529
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('admin_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_event_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_task_due', ['state', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_due')
        batch_op.drop_column('due_at')

    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_event_created_at'))

    op.drop_table('admin_event')
