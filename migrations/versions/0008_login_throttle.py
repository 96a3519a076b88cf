"""login throttle: one row per throttled account or client address

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per (kind, key), updated in place; a row whose expires_at has passed
    # says nothing any more and is swept (see app.rules.login_throttle), so the table stays
    # as small as the number of keys that failed recently.
    op.create_table(
        'login_throttle',
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('blocks', sa.Integer(), nullable=False),
        sa.Column('window_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('blocked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'key'),
    )
    op.create_index('ix_login_throttle_expires_at', 'login_throttle', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_login_throttle_expires_at', table_name='login_throttle')
    op.drop_table('login_throttle')
