"""an index of each person's comments and notes by time, for the comment rate limit

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENTS = "kind IN ('comment', 'note')"


def upgrade() -> None:
    # Partial: comments and notes only, a small part of the timeline.
    op.create_index('ix_timeline_actor_comments', 'timeline_event', ['actor_id', 'created_at'],
                    sqlite_where=sa.text(COMMENTS), postgresql_where=sa.text(COMMENTS))


def downgrade() -> None:
    op.drop_index('ix_timeline_actor_comments', table_name='timeline_event')
