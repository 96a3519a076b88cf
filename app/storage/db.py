"""The engine, the per-request session, and the SQLite settings Baton relies on."""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache, wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.dialects.sqlite import pysqlite as sqlite_pysqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, create_engine

from app.config import get_settings
from app.storage.driver_flush import flush_through_driver
from app.storage.pooled_connections import check_on_checkout, keepalives_for
from app.storage.sqlite_checkpoints import database_file
from app.storage.sqlite_checkpoints import wrote as checkpoint_wrote

# The errors of a database not answering (restarting, unreachable, out of connections,
# SQLite locked past the busy timeout): a 503 with Retry-After, never a 500.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError, InterfaceError, DisconnectionError, PoolTimeout,
)
# What such a request is answered: a 503 with these, whichever part of Baton meets it.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The database is not answering at the moment: try again in a few seconds."


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _tune_sqlite(engine)
        return engine
    # LIFO: the connection just returned is the next one out, so the few connections a
    # worker keeps busy are the ones that hold psycopg's prepared statements.
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_use_lifo=True,
        connect_args=keepalives_for(url),
    )
    check_on_checkout(engine)
    _note_writes(engine)
    return engine


def _note_writes(engine: Engine) -> None:
    """Marks a connection's transaction once it sends anything but a SELECT, so that
    end_request knows whether ending it with COMMIT could change anything."""

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.info["wrote"] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info["wrote"] = True
            if reads_alone_on(conn):
                # A route that reads alone (app.web.reads_alone) never writes: here each
                # statement would commit on its own, half a change at a time. Only a
                # change said to be one statement (one_statement_change) may send it.
                if not _one_statement_left.get():
                    raise RuntimeError("a write in a request that reads alone: "
                                       + statement.lstrip()[:40])
                _one_statement_left.set(False)


_DATABASE_FILE = "baton_database_file"


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First, so that the PRAGMAs after it wait for a lock as long as everything else
        # (sqlite3's own default, until then, is 5 s).
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # Where app.storage.sqlite_checkpoints finds the file ("" in memory).
        record.info[_DATABASE_FILE] = database_file(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads begin deferred and never block anyone (WAL). A write transaction begins
        # IMMEDIATE, taking the write lock up front: a deferred one that read first and
        # wrote later would fail at once with SQLITE_BUSY when another writer got in
        # between, instead of waiting its turn (see one_transaction).
        writing = _writing.get()
        conn.info["sqlite_writing"] = writing
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Any) -> None:
        if conn.info.pop("sqlite_writing", False):
            checkpoint_wrote(conn.connection.info.get(_DATABASE_FILE, ""))


_writing: ContextVar[bool] = ContextVar("baton_writing", default=False)
P = ParamSpec("P")
R = TypeVar("R")


def begin_write(session: Session) -> None:
    """Start the transaction a change is made in. On SQLite this ends the read-only
    transaction the request may have open and begins a new one holding the write lock;
    on PostgreSQL it does nothing (rules lock the rows they change)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        session.commit()
    token = _writing.set(True)
    try:
        session.connection()
    finally:
        _writing.reset(token)


def one_transaction(
    rule: Callable[Concatenate[Session, P], R],
) -> Callable[Concatenate[Session, P], R]:
    """Wraps a rule that changes state: it runs in one write transaction, which the rule
    commits when done (commit_change); if the rule raises, everything it did is rolled
    back. Inside one_batch, the rule runs in a savepoint of the batch's transaction
    instead: its refusal rolls back only what it did."""

    @wraps(rule)
    def run(session: Session, *args: P.args, **kwargs: P.kwargs) -> R:
        if _batched.get():
            return _in_savepoint(session, rule, *args, **kwargs)
        begin_write(session)
        try:
            return rule(session, *args, **kwargs)
        except BaseException:
            session.rollback()
            raise

    return run


def commit_change(session: Session) -> None:
    """A rule's commit: the end of its transaction, or inside one_batch nothing (the
    rule's savepoint is released by one_transaction and the batch commits once)."""
    if not _batched.get():
        flush_through_driver(session)  # when it can: the ORM's flush writes what it cannot
        session.commit()


# Inside one_batch: the rules run in one transaction, each in a savepoint or in none.
_batched: ContextVar[bool] = ContextVar("baton_batched", default=False)
_with_savepoints: ContextVar[bool] = ContextVar("baton_batch_savepoints", default=False)
_refusals: ContextVar[tuple[type[BaseException], ...]] = ContextVar("baton_batch_refusals",
                                                                    default=())


class BatchSpoiled(Exception):
    """A rule of a batch without savepoints refused after it had changed something, so
    its change cannot be taken back alone: the batch was rolled back whole, and is to run
    again with savepoints (one_batch(savepoints=True))."""


@contextmanager
def one_batch(session: Session, *, refusals: tuple[type[BaseException], ...],
              savepoints: bool = False) -> Iterator[None]:
    """Several changes of state, each through its rule, in one write transaction that
    commits once: what each commit does besides (the before_commit hooks' counters,
    figures, search documents, inbox items, page versions) is written once.

    A rule that refuses (raises one of `refusals`, which the caller catches) takes back
    only its own change; anything else rolls the whole batch back. The rules refuse
    before they change anything, so by default no savepoint is taken: a refusal leaves
    only the hooks' notes to undo, which are restored. A rule that refuses after a
    change raises BatchSpoiled: the batch is rolled back whole, and its caller runs it
    again with `savepoints`, each rule in a savepoint of its own."""
    begin_write(session)
    token, mode = _batched.set(True), _with_savepoints.set(savepoints)
    refused = _refusals.set(refusals)
    try:
        yield
    except BaseException:
        _batched.reset(token)
        _with_savepoints.reset(mode)
        _refusals.reset(refused)
        session.rollback()
        raise
    _batched.reset(token)
    _with_savepoints.reset(mode)
    _refusals.reset(refused)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise


def in_batch() -> bool:
    """True while one_batch runs: a rule's savepoint is released, not committed, and the
    before_commit hooks leave their gathered rows for the batch's own commit."""
    return _batched.get()


_FLUSHES = "flushes_in_a_batch"


@event.listens_for(Session, "after_flush")
def _count_flushes(session: Session, _context: Any) -> None:
    if _batched.get():
        session.info[_FLUSHES] = session.info.get(_FLUSHES, 0) + 1


def _in_savepoint(session: Session, rule: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    # The hooks note their rows when a rule calls them as well as at flushes: no rollback
    # takes those notes back, so they are kept as before the rule and put back if it
    # refuses (after a flush of what is pending, whose notes belong to what came before).
    session.flush()
    notes = _copy_of_notes(session.info)
    if not _with_savepoints.get():
        flushes = session.info.get(_FLUSHES, 0)
        try:
            result = rule(session, *args, **kwargs)
            session.flush()  # this rule's rows now: the next rule starts with none pending
        except _refusals.get() as refusal:
            if (session.new or session.dirty or session.deleted
                    or session.info.get(_FLUSHES, 0) != flushes):
                raise BatchSpoiled() from refusal
            _restore_notes(session, notes)
            raise
        return result
    savepoint = session.begin_nested()
    try:
        result = rule(session, *args, **kwargs)
        session.info[_RELEASING] = True
        try:
            savepoint.commit()
        finally:
            session.info.pop(_RELEASING, None)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        _restore_notes(session, notes)
        raise
    return result


def _restore_notes(session: Session, notes: dict[str, Any]) -> None:
    for key in [key for key in session.info if key.startswith(_NOTES)]:
        del session.info[key]
    session.info.update(notes)


# The prefix of the `session.info` keys under which the commit hooks gather their rows.
_NOTES = "baton_"
_RELEASING = "releasing_a_savepoint"


def _copy_of_notes(info: dict[Any, Any]) -> dict[str, Any]:
    """The hooks' notes, copied two levels deep: their collections and the counters in
    them (app.storage.work_counts keeps a Counter a key); what they hold is not changed
    in place."""
    def copied(value: Any) -> Any:
        if isinstance(value, dict):
            return type(value)({key: copied(item) for key, item in value.items()}) \
                if not isinstance(value, Counter) else Counter(value)
        if isinstance(value, list | set):
            return type(value)(value)
        return value
    return {key: copied(value) for key, value in info.items()
            if isinstance(key, str) and key.startswith(_NOTES)}


def kept_for_the_transaction(*keys: str) -> None:
    """Says that these `session.info` keys hold notes for the session's transaction: they
    are dropped when it commits or rolls back, not when one of its savepoints does."""

    @event.listens_for(Session, "after_commit")
    def _committed(session: Session) -> None:
        if not session.in_nested_transaction():  # a savepoint's release ends nothing
            for key in keys:
                session.info.pop(key, None)

    @event.listens_for(Session, "after_soft_rollback")
    def _rolled_back(session: Session, transaction: Any) -> None:
        if not transaction.nested:
            for key in keys:
                session.info.pop(key, None)


@event.listens_for(Session, "before_commit")
def _no_commit_inside_a_batch(session: Session) -> None:
    # A rule that called session.commit() itself inside one_batch would commit the
    # batch so far, half done; commit_change is the batch-aware commit.
    if _batched.get() and not session.info.get(_RELEASING):
        raise RuntimeError("A rule committed inside one_batch: use commit_change.")


def named_sql(statement: Any, dialect: str) -> str:
    """`statement` as the driver's SQL text with named parameters (psycopg's %(name)s,
    sqlite3's :name), for Connection.exec_driver_sql with a dict: how a statement of
    many VALUES, which SQLAlchemy's cache does not keep, is compiled once and kept."""
    if dialect == "sqlite":
        return str(statement.compile(dialect=sqlite_pysqlite.dialect(paramstyle="named")))
    return str(statement.compile(dialect=postgresql_psycopg.dialect()))


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.database_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(
        settings.database_url, pool_size=settings.pool_size, max_overflow=settings.max_overflow
    )


@contextmanager
def request_session(engine: Engine, *, reads_alone: bool = False) -> Iterator[Session]:
    """The session of one web request, on one connection for the whole request. A
    session on the engine gave its connection back at every commit and took one again
    for the next statement: a post whose rule commits and whose answer then reads the
    row took two, each with its check and BEGIN (on PostgreSQL, four more round
    trips, and a connection without that post's prepared statements).

    `reads_alone`: the request only reads, and on PostgreSQL its statements go without a
    transaction around them (the connection in autocommit): no BEGIN before the first,
    no COMMIT after the last, two round trips of the four a poll took. What it reads is
    the same: at PostgreSQL's READ COMMITTED (its default, which Baton keeps) each
    statement of a transaction sees what was committed when it began, as a statement
    alone does. Only for routes that write nothing (app.web.reads_alone): a write
    there would commit statement by statement, so it is refused (_note_writes)."""
    with engine.connect() as connection, \
            Session(statements_alone(connection) if reads_alone else connection,
                    expire_on_commit=False) as session:
        yield session
        end_request(session)


# The execution option that marks a connection whose statements go alone.
READS_ALONE_KEY = "reads_alone"


def reads_alone_on(connection: Connection) -> bool:
    """Whether the connection runs its statements without a transaction (request_session):
    ending it sends nothing to the database."""
    return bool(connection.get_execution_options().get(READS_ALONE_KEY))


def statements_alone(connection: Connection) -> Connection:
    """On PostgreSQL, the connection (changed in place) sends its statements without a
    transaction from now on; it must be in none. Elsewhere, unchanged."""
    if connection.dialect.name != "postgresql":
        return connection
    return connection.execution_options(isolation_level="AUTOCOMMIT",
                                        **{READS_ALONE_KEY: True})


# Whether the change one_statement_change let through has yet to send its statement.
_one_statement_left: ContextVar[bool] = ContextVar("baton_one_statement_left",
                                                   default=False)


@contextmanager
def one_statement_change(session: Session) -> Iterator[Session]:
    """The request's session, for a rule whose change is one statement (the queue page's
    look, app.rules.team_looks.look_at_queue: one INSERT ... ON CONFLICT). Where the
    request reads alone, that statement is let through and commits as it is sent: one
    statement is atomic, the one transaction the change needs. A second write there is
    refused as before. On the request's own connection: a second connection for the
    change would let requests that each hold one wait on the pool for another, all of
    them at once."""
    token = _one_statement_left.set(True)
    try:
        yield session
    finally:
        _one_statement_left.reset(token)


def end_request(session: Session) -> None:
    """Ends a request that succeeded. Its changes were committed by the rules that made
    them; what is left open is normally the transaction its page was read in.

    The seam "committing reads" (BATON_COMMIT_READS, on by default): on PostgreSQL that
    transaction is committed when it wrote nothing. To the database a COMMIT of a read
    is the same as a ROLLBACK, but psycopg forgets its prepared statements on every
    rollback, so ending reads with one (as closing the session does, and as it does
    with the switch off) made PostgreSQL parse and plan every statement of every page
    again, several milliseconds a page.

    Its invariant: only a transaction that changed nothing is committed. Nothing is
    pending in the session (new, dirty or deleted objects), and the connection sent
    nothing but SELECTs since it began (`wrote`, kept by _note_writes; unknown counts as
    written). Anything else open, written or pending, is rolled back by closing the
    session, switch or no switch.

    A request whose connection was lost on the way (the database went away and the
    handler answered anyway, as /healthz does with its 503) has no transaction left to
    end: asking the session for its connection would raise (SQLAlchemy's "invalid
    transaction"), after the answer was sent; closing discards it."""
    if not session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    bind = session.get_bind()
    if isinstance(bind, Connection) and bind.invalidated:
        return
    if not get_settings().commit_reads:
        return
    if session.new or session.dirty or session.deleted:
        return
    if not session.connection().info.get("wrote", True):
        session.commit()
