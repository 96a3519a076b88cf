"""A person's time zone (issue 16, item 6): pages show times in it. Empty for everyone
until they next sign in (their browser's zone) or choose one on their profile; pages
show UTC meanwhile.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 02:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, with no default: a plain ALTER TABLE that rewrites no rows, on either
    # database (no batch mode, which would copy the user table on SQLite).
    op.add_column('user', sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(length=64),
                                    nullable=True))


def downgrade() -> None:
    op.drop_column('user', 'time_zone')
