"""The inbox, mentions and followers (issue 14 items 1-3 and 8): per-person inbox items,
per-team notices and each person's last look at a team, explicit follows, mentions.
Nothing to fill: the inbox starts empty (app.rules.inbox's docstring has the design).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 19:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREAD = "read_at IS NULL"


def upgrade() -> None:
    op.create_table('inbox_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('read_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['timeline_event.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_inbox_item_user', 'inbox_item', ['user_id', 'id'], unique=False)
    op.create_index('ix_inbox_item_unread', 'inbox_item', ['user_id', 'id'], unique=False,
                    sqlite_where=sa.text(UNREAD), postgresql_where=sa.text(UNREAD))
    op.create_table('team_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['timeline_event.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_team_notice_team', 'team_notice', ['team_id', 'created_at'],
                    unique=False)
    op.create_table('team_look',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('looked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'team_id')
    )
    op.create_table('request_follow',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('following', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('request_id', 'user_id')
    )
    op.create_index(op.f('ix_request_follow_user_id'), 'request_follow', ['user_id'],
                    unique=False)
    op.create_table('mention',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['timeline_event.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'user_id')
    )


def downgrade() -> None:
    op.drop_table('mention')
    op.drop_index(op.f('ix_request_follow_user_id'), table_name='request_follow')
    op.drop_table('request_follow')
    op.drop_table('team_look')
    op.drop_index('ix_team_notice_team', table_name='team_notice')
    op.drop_table('team_notice')
    op.drop_index('ix_inbox_item_unread', table_name='inbox_item')
    op.drop_index('ix_inbox_item_user', table_name='inbox_item')
    op.drop_table('inbox_item')
