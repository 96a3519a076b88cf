"""The search index: one document per request, in the database's own full-text search
(SQLite FTS5, PostgreSQL a tsvector with a GIN index), read by app.reads.search.

A document has three parts:

- *public*: the title, the requester's name, the answers' texts and numbers and the
  public comments: what everyone who sees the request sees;
- *notes*: the internal notes, never searched for the request's requester (rule 6);
- *scope*: made-up words saying who may see the request and what it is: `u<id>` its
  requester, `t<id>` each team with a task of it, `s<id>` its service, `m<YYYYMM>` the
  month (UTC) it was filed in. A search puts the
  viewer's rule 6 into the full-text query itself ("these words, and `u7` or `t3`"), so
  the database intersects the word lists with the viewer's in its index instead of
  reading every match to throw most away.

SQLite: an FTS5 table `search_text(public, notes, scope)` whose rowid is the request's id.
PostgreSQL: `search_document(request_id, public_text, notes_text, words)`, `words` the
three parts weighted A, B and C (a query asks for `word:AB`, `word:A` or `t3:C`), with a
GIN index on it.

The invariant: every request's document is what `document_statement` builds from the
request, its requester, its tasks and its timeline, after every rule (a test compares
them after each). Nothing writes documents but this module: it notes the requests a
flush touched (a new request, a new comment or note, a renamed person's requests) and,
just before the session commits, rebuilds their documents from the rows with the same
statement a full rebuild (`rebuild`, `baton reindex`) uses, in the same transaction.
Rebuilding from the rows, rather than adding the new comment's words, makes the upkeep
idempotent: a savepoint rolled back leaves at worst a request noted for nothing.
"""

from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause, event, inspect, text
from sqlmodel import Session

from app.storage.db import in_batch
from app.storage.models import ServiceRequest, TimelineEvent, User

_PENDING = "baton_search_changes"
# The requests made in this transaction: no document to take out before writing theirs.
_NEW = "baton_search_new_requests"
SEARCHED_KINDS = ("comment", "note")
# PostgreSQL's text search configuration: 'simple' splits and lower-cases without
# stemming or stop words, as SQLite's unicode61 tokenizer does, so a word finds the same
# requests on both databases.
PG_CONFIG = "simple"

# The tables (SQLite: and FTS5's own) that the models do not describe: the migrations
# test leaves them out of its comparison with the models.
SQLITE_TABLES = ("search_text", "search_text_config", "search_text_content",
                 "search_text_data", "search_text_docsize", "search_text_idx")
POSTGRESQL_TABLES = ("search_document",)


def _sqlite_document(where: str) -> str:
    # json_tree walks nested answers (a multi-select's list, a person's name and e-mail);
    # numbers count as words so an amount or a code is found. Comments in their order.
    return f"""
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
{where}"""


def _postgresql_document(where: str) -> str:
    return f"""
SELECT r.id,
  r.title || ' ' || u.name
    || coalesce(' ' || (SELECT string_agg(v #>> '{{}}', ' ')
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
{where}"""


# The weighted tsvector of a document's three texts (PostgreSQL).
PG_WORDS = (f"setweight(to_tsvector('{PG_CONFIG}', public_text), 'A') || "
            f"setweight(to_tsvector('{PG_CONFIG}', notes_text), 'B') || "
            f"setweight(to_tsvector('{PG_CONFIG}', scope), 'C')")


def document_statement(dialect: str, where: str = "") -> str:
    """The documents of the requests `where` selects (a WHERE clause on `r`, the
    request), as rows (id, public, notes, scope)."""
    build = _sqlite_document if dialect == "sqlite" else _postgresql_document
    return build(where)


def _write(connection: Connection, where: str, params: dict[str, Any], *,
           all_new: bool = False) -> None:
    """(Re)writes the documents of the requests `where` selects; `all_new`: requests
    made in this transaction, which have none yet."""
    if connection.dialect.name == "sqlite":
        if where and not all_new:
            connection.execute(_statement(
                f"DELETE FROM search_text WHERE rowid IN (SELECT r.id FROM service_request r "
                f"{where})"), params)
        connection.execute(_statement(
            "INSERT INTO search_text (rowid, public, notes, scope) "
            + document_statement("sqlite", where)), params)
        return
    connection.execute(_statement(
        "INSERT INTO search_document (request_id, public_text, notes_text, scope) "
        + document_statement("postgresql", where)
        + " ON CONFLICT (request_id) DO UPDATE SET public_text = excluded.public_text, "
          "notes_text = excluded.notes_text, scope = excluded.scope"), params)


@lru_cache(maxsize=64)
def _statement(sql: str) -> TextClause:
    # Kept: making a text() finds its parameters with a regular expression each time,
    # and a rule's commit writes one request's document (the same SQL) again and again.
    return text(sql)


def note_request(session: Session, request_id: int) -> None:
    """Asks for `request_id`'s document to be rewritten when the session commits."""
    session.info.setdefault(_PENDING, set()).add(request_id)


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context: Any) -> None:
    # After the flush the new rows have their ids; `session.new` and `dirty` still list
    # what was flushed.
    for item in session.new:
        if isinstance(item, ServiceRequest):
            note_request(session, item.id)
            session.info.setdefault(_NEW, set()).add(item.id)
        elif isinstance(item, TimelineEvent) and item.kind in SEARCHED_KINDS:
            note_request(session, item.request_id)
    for item in session.dirty:
        if isinstance(item, User) and inspect(item).attrs.name.history.has_changes():
            session.info.setdefault(_PENDING + "_people", set()).add(item.id)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if in_batch():  # the batch writes these once, at its own commit
        return
    # The commit flushes after this listener: the rows added since the last flush are
    # noted (after_flush) only once flushed here.
    if session.new or session.dirty:
        session.flush()
    new = session.info.pop(_NEW, set())  # whatever is written: the transaction ends
    if not (session.info.get(_PENDING) or session.info.get(_PENDING + "_people")):
        return
    ids = sorted(session.info.pop(_PENDING, set()))
    people = sorted(session.info.pop(_PENDING + "_people", set()))
    connection = session.connection()
    if ids:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            names = ", ".join(f":r{index}" for index in range(len(chunk)))
            _write(connection, f"WHERE r.id IN ({names})",
                   {f"r{index}": value for index, value in enumerate(chunk)},
                   all_new=new.issuperset(chunk))
    for person_id in people:  # a renamed requester: every document names them
        _write(connection, "WHERE r.requester_id = :person", {"person": person_id})


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, transaction: Any) -> None:
    if not transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_PENDING + "_people", None)
        session.info.pop(_NEW, None)


def rebuild(session: Session) -> int:
    """Rebuilds every document from the rows (after a bulk load, or to repair; the
    caller commits). Returns how many requests have one."""
    session.info.pop(_PENDING, None)
    session.info.pop(_NEW, None)
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.execute(text("DELETE FROM search_text"))
        _write(connection, "", {})
        # One b-tree per segment is what a query reads: merged, the index is as fast
        # as one built at once.
        connection.execute(text("INSERT INTO search_text (search_text) VALUES ('optimize')"))
        return int(connection.execute(text("SELECT count(*) FROM search_text")).scalar_one())
    connection.execute(text("TRUNCATE search_document"))
    _write(connection, "", {})
    # The planner's statistics of the words (see migration 0015: 3 ms, not 400, for a
    # common word at 1M requests).
    connection.execute(text("ANALYZE search_document"))
    return int(connection.execute(text("SELECT count(*) FROM search_document")).scalar_one())


Document = tuple[str, str, str]


def stored(session: Session) -> dict[int, Document]:
    """Every document as the index holds it (for the tests and `baton reindex`'s check)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT rowid, public, notes, scope FROM search_text"))
    else:
        rows = connection.execute(text(
            "SELECT request_id, public_text, notes_text, scope FROM search_document"))
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def from_rows(session: Session) -> dict[int, Document]:
    """Every document as the rows say it should be."""
    connection = session.connection()
    rows = connection.execute(text(document_statement(connection.dialect.name)))
    return {row[0]: (row[1], row[2], row[3]) for row in rows}
