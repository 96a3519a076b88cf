"""Search across requests (issue 14 item 5): the full-text index of each database

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 19:20:00
"""
from collections.abc import Sequence

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by its feature's commit


def downgrade() -> None:
    pass
