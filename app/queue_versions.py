"""A version number for each team's queue, raised in the transaction of every change
to one of the team's tasks (a new task, a state, an assignee): a page kept from that
queue (app.page_cache) still shows what the queue holds while the number is the same.

The tasks a flush writes are noted as it starts, so no rule has to remember to; the
numbers are raised just before the transaction commits, after everything else it
writes (the open work counters too), in team order: the hot team's number is the
busiest row a change locks, so it is locked last and held for the shortest time, and
two changes always lock numbers in the same order.
"""

from typing import Any

from sqlalchemy import bindparam, event, update
from sqlmodel import Session

# Imported first so that its before_commit hook is registered, and runs, before ours.
from app import work_counts  # noqa: F401
from app.models import Task, Team

_CHANGED = "baton_changed_queues"
_TEAM = Team.__table__.c  # type: ignore[attr-defined]
_RAISE = (update(Team.__table__)  # type: ignore[attr-defined]
          .where(_TEAM.id == bindparam("team")).values(queue_version=_TEAM.queue_version + 1))


@event.listens_for(Session, "before_flush")
def _note_changed_queues(session: Session, _context: Any, _instances: Any) -> None:
    teams = {task.team_id for task in (*session.new, *session.dirty) if isinstance(task, Task)}
    if teams:
        session.info.setdefault(_CHANGED, set()).update(teams)


@event.listens_for(Session, "before_commit")
def _raise_versions(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: note its tasks now
    teams: set[int] | None = session.info.pop(_CHANGED, None)
    for team in sorted(teams or ()):
        session.execute(_RAISE, {"team": team})


@event.listens_for(Session, "after_soft_rollback")
def _forget_changed(session: Session, transaction: Any) -> None:
    # A savepoint rolled back leaves the outer transaction's changes, and their notes.
    if not transaction.nested:
        session.info.pop(_CHANGED, None)
