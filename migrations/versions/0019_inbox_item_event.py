"""Inbox items by event (issue 14, fresh-eyes fixes): one event gives a person at most one
item, so a team's notice is not shown to a member the same event told in person (the bell
and the inbox ask for each notice whether such an item exists), and a task taken from its
holder names who was given it (the item of the same event that says "handed").

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 22:30:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_inbox_item_event', 'inbox_item', ['event_id', 'user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbox_item_event', table_name='inbox_item')
