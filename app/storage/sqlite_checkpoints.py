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
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from threading import Lock

from app.config import get_settings

_log = logging.getLogger("baton")
_lock = Lock()
_written: dict[str, int] = {}  # database file -> write transactions since its last
_asked: set[str] = set()  # database files with a checkpoint asked for and not yet done
_connections: dict[str, sqlite3.Connection] = {}  # used by _thread only
_KEPT_CONNECTIONS = 4
_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-checkpoint")


def wrote(database: str) -> None:
    """A write transaction on `database` (a file) is committing: every Nth asks for a
    checkpoint, which runs on this module's thread while the request goes on."""
    every = get_settings().sqlite_checkpoint_every
    if every <= 0 or not database:
        return
    with _lock:
        count = _written.get(database, 0) + 1
        if count < every or database in _asked:
            _written[database] = count
            return
        _written[database] = 0
        _asked.add(database)
    _thread.submit(_checkpoint, database)


def _checkpoint(database: str) -> None:
    try:
        connection = _connections.get(database)
        if connection is None:
            if len(_connections) >= _KEPT_CONNECTIONS:  # a process of many databases (tests)
                _connections.pop(next(iter(_connections))).close()
            connection = _connections[database] = sqlite3.connect(database)
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as error:  # the next one tries again; SQLite's own stays
        _log.warning("checkpoint of %s failed: %s", database, error)
        dropped = _connections.pop(database, None)
        if dropped is not None:
            dropped.close()
    finally:
        with _lock:
            _asked.discard(database)


def settle() -> None:
    """Waits for the checkpoints asked for so far (tests)."""
    _thread.submit(lambda: None).result()
