"""The inbox, mentions and followers (issue 14 items 1-3 and 8)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 19:20:00
"""
from collections.abc import Sequence

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by its feature's commit


def downgrade() -> None:
    pass
