"""Search across requests (issue 14 item 5): the full-text index of each database, filled
from the requests already there

SQLite: an FTS5 table whose rowid is the request's id. PostgreSQL: a table of documents
with a weighted tsvector generated from their texts and a GIN index on it. What a
document holds, and why, is app.storage.search_index's docstring; the statements that
fill it here are copies of that module's (a migration must not change when the module
does), and `baton reindex` rebuilds them with the module's own.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 19:20:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FILL = """
INSERT INTO search_text (rowid, public, notes, scope)
SELECT r.id,
  r.title || ' ' || u.name
    || coalesce(' ' || (SELECT group_concat(value, ' ') FROM json_tree(r.answers)
                        WHERE type IN ('text', 'integer', 'real')), '')
    || coalesce(' ' || (SELECT group_concat(note, ' ') FROM (
         SELECT e.note FROM timeline_event e WHERE e.request_id = r.id
           AND e.kind IN ('comment', 'note') AND NOT e.is_internal ORDER BY e.id)), ''),
  coalesce((SELECT group_concat(note, ' ') FROM (
         SELECT e.note FROM timeline_event e WHERE e.request_id = r.id
           AND e.kind IN ('comment', 'note') AND e.is_internal ORDER BY e.id)), ''),
  'u' || r.requester_id || ' s' || r.service_id || ' m' || strftime('%Y%m', r.created_at)
    || coalesce(' ' || (SELECT group_concat('t' || team_id, ' ') FROM (
         SELECT DISTINCT t.team_id FROM task t WHERE t.request_id = r.id
         ORDER BY t.team_id)), '')
FROM service_request r JOIN "user" u ON u.id = r.requester_id
"""

POSTGRESQL_FILL = """
INSERT INTO search_document (request_id, public_text, notes_text, scope)
SELECT r.id,
  r.title || ' ' || u.name
    || coalesce(' ' || (SELECT string_agg(v #>> '{}', ' ')
                        FROM jsonb_path_query(r.answers, 'strict $.**') v
                        WHERE jsonb_typeof(v) IN ('string', 'number')), '')
    || coalesce(' ' || (SELECT string_agg(e.note, ' ' ORDER BY e.id) FROM timeline_event e
         WHERE e.request_id = r.id AND e.kind IN ('comment', 'note')
           AND NOT e.is_internal), ''),
  coalesce((SELECT string_agg(e.note, ' ' ORDER BY e.id) FROM timeline_event e
         WHERE e.request_id = r.id AND e.kind IN ('comment', 'note') AND e.is_internal), ''),
  'u' || r.requester_id || ' s' || r.service_id
    || ' m' || to_char(r.created_at AT TIME ZONE 'UTC', 'YYYYMM')
    || coalesce(' ' || (SELECT string_agg('t' || t.team_id, ' ' ORDER BY t.team_id)
         FROM (SELECT DISTINCT team_id FROM task WHERE request_id = r.id) t), '')
FROM service_request r JOIN "user" u ON u.id = r.requester_id
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE search_text USING fts5("
                   "public, notes, scope, tokenize = 'unicode61 remove_diacritics 2')")
        op.execute(SQLITE_FILL)
        op.execute("INSERT INTO search_text (search_text) VALUES ('optimize')")
        return
    op.execute("""
CREATE TABLE search_document (
  request_id integer PRIMARY KEY,  -- a request's id (requests are never deleted)
  public_text text NOT NULL,
  notes_text text NOT NULL,
  scope text NOT NULL,
  words tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', public_text), 'A') ||
    setweight(to_tsvector('simple', notes_text), 'B') ||
    setweight(to_tsvector('simple', scope), 'C')) STORED
)""")
    # Filled before the index is made: one sort, not a million index insertions.
    op.execute(POSTGRESQL_FILL)
    op.execute("CREATE INDEX ix_search_document_words ON search_document USING gin (words)")
    # Without statistics the planner reads every match of a common word through the GIN
    # index and sorts them (400 ms at 1M requests) instead of walking the newest first
    # (3 ms).
    op.execute("ANALYZE search_document")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_text")
    else:
        op.execute("DROP TABLE search_document")
