"""The seam "checkpoints aside" (BATON_SQLITE_CHECKPOINT_EVERY, 8 by default; 0 leaves
it to SQLite): on SQLite, the write-ahead log is copied back into the database file by a
thread of its own, not by the request whose commit happens to fill it.

SQLite checkpoints by itself when a commit leaves 1,000 pages in the log, and that
commit's request waits for the copy and its fsync: filing a request writes about 60
pages (its rows and every index they are in), so one filing in 16 took twice as long,
the slowest 5% of filings (bench/RESULTS.md). Here every Nth write transaction of the
process asks for a PASSIVE checkpoint on a connection of this module's thread (asked
as it commits, so its own pages may wait for the next one), after which the log is
short again and SQLite's own threshold is not reached. PASSIVE waits
on no one: what a reader still needs stays in the log, for the next one. SQLite's own
checkpoint stays as it was, for a log that grows anyway (a reader that holds on).

Nothing here changes what any request reads or writes: the log and the file together
are the database either way."""

import logging
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from threading import Lock
from urllib.parse import quote

from app.config import get_settings

_log = logging.getLogger("baton")
_KEPT_CONNECTIONS = 4


class _State:
    """The process's checkpoints: made again in a forked child (os.register_at_fork),
    which has no thread and must not use its parent's SQLite connections."""

    def __init__(self) -> None:
        self.lock = Lock()
        self.written: dict[str, int] = {}  # database file -> write transactions since
        self.asked: set[str] = set()  # files with a checkpoint asked for and not yet done
        # Used by the thread only: file -> its connection and the file it opened.
        self.connections: dict[str, tuple[sqlite3.Connection, tuple[int, int]]] = {}
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-checkpoint")


_state = _State()


def _forked() -> None:
    global _state
    _state = _State()  # the parent's connections are dropped, never closed, in the child


os.register_at_fork(after_in_child=_forked)


def database_file(connection: sqlite3.Connection) -> str:
    """The absolute path of a connection's main database file; "" for one in memory."""
    for _seq, name, path in connection.execute("PRAGMA database_list"):
        if name == "main":
            return str(path or "")
    return ""


def wrote(database: str) -> None:
    """A write transaction on `database` (a file's absolute path) is committing: every
    Nth asks for a checkpoint, which runs on this module's thread while the request goes
    on. Never raises: a checkpoint not asked for is SQLite's own again, and a commit
    must not fail for it."""
    every = get_settings().sqlite_checkpoint_every
    if every <= 0 or not database:
        return
    state = _state
    with state.lock:
        count = state.written.get(database, 0) + 1
        if count < every or database in state.asked:
            state.written[database] = count
            return
        state.written[database] = 0
        state.asked.add(database)
    try:
        state.thread.submit(_checkpoint, state, database)
    except RuntimeError as refused:  # the interpreter is shutting down, or no thread
        with state.lock:
            state.asked.discard(database)
        _log.debug("no checkpoint of %s: %s", database, refused)


def _checkpoint(state: _State, database: str) -> None:
    try:
        _connection(state, database).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except (sqlite3.Error, OSError) as error:  # the next one tries again; SQLite's own stays
        _log.warning("checkpoint of %s failed: %s", database, error)
        _drop(state, database)
    finally:
        with state.lock:
            state.asked.discard(database)


def _connection(state: _State, database: str) -> sqlite3.Connection:
    """The kept connection to `database`, opened again when the path names another file
    than it opened (the database was replaced); never creating one."""
    stat = os.stat(database)
    opened = (stat.st_dev, stat.st_ino)
    kept = state.connections.get(database)
    if kept is not None and kept[1] == opened:
        return kept[0]
    _drop(state, database)
    if len(state.connections) >= _KEPT_CONNECTIONS:  # a process of many databases (tests)
        _drop(state, next(iter(state.connections)))
    connection = sqlite3.connect(f"file:{quote(database)}?mode=rw", uri=True)
    state.connections[database] = (connection, opened)
    return connection


def _drop(state: _State, database: str) -> None:
    kept = state.connections.pop(database, None)
    if kept is not None:
        kept[0].close()


def settle() -> None:
    """Waits for the checkpoints asked for so far (tests)."""
    _state.thread.submit(lambda: None).result()
