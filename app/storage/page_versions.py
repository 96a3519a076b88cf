"""The numbers a kept page (app.web.page_cache) is checked against, each raised in the
transaction of the change it counts:

- a team's queue version (QueueVersion): every change to one of the team's tasks (a
  new task, a state, an assignee);
- the directory version (DirectoryVersion): every change to a team, a membership, a
  person, a service or a saved view (names, who is on which team, roles, who is active).

Changed rows are noted by a before_flush hook, so no rule (and no command-line path
that writes no admin log entry) has to remember to. The numbers are written just
before the commit, after everything else the transaction writes (the open work
counters too): queue versions in team order, then the directory version. Every
transaction takes these locks in that order, after all of its others, and holds them
for the shortest time. They live in tables of their own, whose rows nothing else
locks: kept on the team row, which a team's admin rules lock first, a claim (its
request, then the team at commit) and a member's removal (the team, then the
requests of their claims) locked in opposite orders.
"""

from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, event, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

# Imported first so that its before_commit hook is registered, and runs, before ours.
from app.storage import work_counts  # noqa: F401
from app.storage.db import in_batch, named_sql
from app.storage.directory_cache import directory_changing
from app.storage.driver_reads import DriverRead
from app.storage.models import (
    DirectoryVersion,
    Membership,
    QueueVersion,
    SavedView,
    Service,
    Task,
    Team,
    User,
)

_QUEUES = "baton_changed_queues"
_DIRECTORY = "baton_directory_changed"
# A saved view too: a kept queue page shows its viewer's views as tabs (saving one is
# rare, so every kept page rendered again once is cheap).
_DIRECTORY_ROWS = (Team, Membership, User, Service, SavedView)

_QUEUE_VERSIONS = QueueVersion.__table__  # type: ignore[attr-defined]
_DIRECTORY_VERSIONS = DirectoryVersion.__table__  # type: ignore[attr-defined]

# Read as scalar subqueries, so that they come in the statement that needs them.
directory_version = func.coalesce(
    select(_DIRECTORY_VERSIONS.c.version).scalar_subquery(), 0)


def queue_version(team: Any) -> Any:
    return func.coalesce(select(_QUEUE_VERSIONS.c.version)
                         .where(_QUEUE_VERSIONS.c.team_id == team).scalar_subquery(), 0)


# A team's queue version alone (`{"team": id}`), read through the driver.
QUEUE_VERSION_READ = DriverRead(select(queue_version(bindparam("team"))))


@cache
def _raise_statement(dialect: str, table: Any, key: str) -> Any:
    """INSERT ... ON CONFLICT adding one, made once per dialect and table."""
    insert_into = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = insert_into(table)
    return statement.on_conflict_do_update(
        index_elements=[key], set_={"version": table.c.version + 1})


@cache
def _raise_teams_sql(dialect: str, count: int) -> str:
    """Raising `count` teams' queue versions in one statement (parameters team_id_<n>),
    the rows taken in the order given; compiled once per dialect and number of teams."""
    insert_into = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = insert_into(_QUEUE_VERSIONS).values([
        {"team_id": bindparam(f"team_id_{n}", type_=Integer), "version": literal_column("1")}
        for n in range(count)])
    return named_sql(statement.on_conflict_do_update(
        index_elements=["team_id"],
        set_={"version": _QUEUE_VERSIONS.c.version + literal_column("1")}), dialect)


def _noted_directory_change(session: Session) -> bool:
    return any(
        isinstance(row, _DIRECTORY_ROWS)
        for rows in (session.new, session.deleted) for row in rows
    ) or any(isinstance(row, _DIRECTORY_ROWS) and session.is_modified(row)
             for row in session.dirty)


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    teams = {row.team_id for rows in (session.new, session.dirty, session.deleted)
             for row in rows if isinstance(row, Task)}
    if teams:
        session.info.setdefault(_QUEUES, set()).update(teams)
    if _noted_directory_change(session):
        session.info[_DIRECTORY] = True
        directory_changing(session)


@event.listens_for(Session, "before_commit")
def _raise_versions(session: Session) -> None:
    if in_batch():  # the batch writes these once, at its own commit
        return
    session.flush()  # the commit's own flush comes after this hook: note its rows now
    teams: set[int] | None = session.info.pop(_QUEUES, None)
    directory = session.info.pop(_DIRECTORY, False)
    if not (teams or directory):
        return
    dialect = session.get_bind().dialect.name
    ordered = sorted(teams or ())
    if ordered:  # one statement, the rows in team order (their locks too), as SQL text
        # even for one team: the session's execution of the compiled statement took 46 us
        # on SQLite, the text 15 (in process).
        session.connection().exec_driver_sql(_raise_teams_sql(dialect, len(ordered)), {
            f"team_id_{n}": team for n, team in enumerate(ordered)})
    if directory:
        session.execute(_raise_statement(dialect, _DIRECTORY_VERSIONS, "id"),
                        {"id": 1, "version": 1})


@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session: Session, transaction: Any) -> None:
    # A savepoint rolled back leaves the outer transaction's changes, and their notes.
    if not transaction.nested:
        session.info.pop(_QUEUES, None)
        if session.info.pop(_DIRECTORY, False):
            # What was kept since the change may have been read with it (in tests, on the
            # same connection): it is gone now.
            directory_changing(session)
    elif session.info.get(_DIRECTORY):
        directory_changing(session)
