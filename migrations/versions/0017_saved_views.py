"""Saved views of a queue and of the overview (issue 14 item 6), and whatever bulk actions and a lead's assignment need (items 7-8)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 19:20:00
"""
from collections.abc import Sequence

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by its feature's commit


def downgrade() -> None:
    pass
