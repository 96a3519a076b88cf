"""the typed-answer report's indexes: a service's requests with all the report reads
(app.storage.report_index)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ['service_id', 'id']
READ = ['state', 'created_at', 'closed_at', 'version_id', 'answers']
# As app.storage.report_index has it, word for word (PostgreSQL matches a query's words
# with an index's condition).
SHORT_ANSWERS = "octet_length(answers::text) < 1000"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.create_index('ix_service_request_report', 'service_request', KEY + READ)
        return
    # PostgreSQL keeps an index entry under a third of a page: the requests with short
    # answers in one index, where to find the others in a second.
    op.create_index('ix_service_request_report_short', 'service_request', KEY,
                    postgresql_include=READ, postgresql_where=sa.text(SHORT_ANSWERS))
    op.create_index('ix_service_request_report_long', 'service_request', KEY,
                    postgresql_where=sa.text(f"NOT ({SHORT_ANSWERS})"))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.drop_index('ix_service_request_report', table_name='service_request')
        return
    op.drop_index('ix_service_request_report_long', table_name='service_request')
    op.drop_index('ix_service_request_report_short', table_name='service_request')
