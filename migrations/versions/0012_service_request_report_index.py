"""SQLite: an index of a service's requests that holds all the typed-answer report reads

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ['service_id', 'id', 'state', 'created_at', 'closed_at', 'version_id', 'answers']


def upgrade() -> None:
    # SQLite only (app.storage.models): PostgreSQL refuses an index entry past a third of
    # a page, which a long answer would need.
    if op.get_bind().dialect.name == 'sqlite':
        op.create_index('ix_service_request_report', 'service_request', COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.drop_index('ix_service_request_report', table_name='service_request')
