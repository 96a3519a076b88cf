"""The seam "directory cache" (BATON_DIRECTORY_CACHE; false reads everything every time):
what pages read of the directory (a team found by its address, a team's active members,
a person's saved views, the services' names; for the service form and filing, the
services, their current versions and the teams' ids; a version's definition, checked)
kept in each worker's memory, and used again while the directory version
(app.storage.page_versions) is the one it was read at.

Its invariant: an entry is kept under the directory version its request's session read
before it read the entry (with the viewer, app.web.viewer; with the API's caller,
app.web.api.caller). Every change to what an entry holds (teams, memberships, people,
services, saved views) raises that version in the change's own transaction. So an entry
is never older than the version it is kept under, and a request that read the version
after a change never finds an entry read before it: nobody is shown a member who has
left, a team under its old name, a view they deleted. Only the newest version's entries
are kept (at most MAX_ENTRIES); a request that read an older one reads afresh.

A session forgets its version when it writes a change to the directory
(app.storage.page_versions calls `directory_changing`, which also drops what is kept,
again if the change is rolled back), so what a request reads after its own change is
read afresh; and at any rollback. A commit that changed no part of the directory leaves
the version: what the session reads after it is newer than the version, never older.
Versions only grow, except when a database is restored from a backup (restart the
workers then, as for the kept queue page) and in tests, whose transactions roll back:
they call `forget_directory`.
Entries are shared by the worker's threads: plain values, never changed once kept.
"""

from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import event
from sqlmodel import Session

from app.config import get_settings

T = TypeVar("T")
MAX_ENTRIES = 4096
_NOTE = "baton.directory_version"
_MISSING = object()
_lock = Lock()
_kept: dict[tuple[str, Hashable], Any] = {}
_newest: dict[str, int] = {}  # database -> the version its entries were read at


def note_directory_version(session: Session, version: int) -> None:
    """The directory version this session's transaction read, before anything else it
    reads (see the module)."""
    if get_settings().directory_cache:
        session.info[_NOTE] = (str(session.get_bind().engine.url), version)


def directory_noted(session: Session) -> bool:
    """Whether what this session reads of the directory may come from memory (a
    version is noted and not forgotten since)."""
    return session.info.get(_NOTE) is not None


def directory_kept(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, or what it gave at this directory version (see the module). `key` names
    the read and its arguments; what `read` returns must never be changed."""
    noted = session.info.get(_NOTE)
    if noted is None:
        return read()
    database, version = noted
    with _lock:
        if _newest.get(database) == version:
            found = _kept.get((database, key), _MISSING)
            if found is not _MISSING:
                return found  # type: ignore[no-any-return]
    value = read()
    with _lock:
        newest = _newest.get(database)
        if newest is None or version > newest:
            # A newer directory: everything kept is of an older one.
            for old in [old for old in _kept if old[0] == database]:
                del _kept[old]
            _newest[database] = newest = version
        if version == newest:
            if len(_kept) >= MAX_ENTRIES:
                del _kept[next(iter(_kept))]  # the oldest kept
            _kept[(database, key)] = value
    return value


def directory_changing(session: Session) -> None:
    """This session has written a change to the directory, not yet committed (so not yet
    counted in the version): it reads afresh from now on, and nothing kept at the
    current version stays (another session may read the change before it is counted:
    the same connection in tests, or this one's reads)."""
    session.info.pop(_NOTE, None)
    with _lock:  # changes to the directory are rare: every database's entries
        _kept.clear()


def forget_directory() -> None:
    """Drops every entry (tests: their rolled-back versions come again)."""
    with _lock:
        _kept.clear()
        _newest.clear()


def kept_entries() -> int:
    with _lock:
        return len(_kept)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _transaction: Any) -> None:
    session.info.pop(_NOTE, None)
