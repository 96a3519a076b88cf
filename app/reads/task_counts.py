"""The counts beside lists of tasks: a list's exact count from the open work counters,
each queue's open, claimed and overdue tasks, the services with work in a queue, and
the changes the live queue polls for; and the services' and teams' names the lists
show."""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.reads.queues import TaskFilter, conditions_of
from app.storage.directory_cache import directory_kept
from app.storage.driver_reads import DriverRead
from app.storage.models import (
    QUEUED_TASK_STATES,
    OpenWorkCount,
    Service,
    Task,
    TaskState,
    Team,
    is_queued,
    utcnow,
)
from app.storage.page_versions import QUEUE_VERSION_READ, queue_version


def countable(filters: TaskFilter) -> bool:
    """Whether the list's filters are ones the open work counters are kept by (teams,
    service, step, open or claimed)."""
    return not (tuple(filters.states) != QUEUED_TASK_STATES
                or filters.state not in (None, "open", "claimed")
                or filters.assignee_id is not None or filters.overdue
                or bool(filters.search.strip())
                # The counters know nothing of when a task was opened.
                or filters.opened_after is not None or filters.opened_until is not None)


def count_from_counters(session: Session, filters: TaskFilter) -> int | None:
    """The list's exact count from the open work counters when its filters are ones the
    counters are kept by (`countable`), so that a queue of twenty thousand tasks is
    counted by adding a few numbers; None otherwise."""
    if not countable(filters):
        return None
    counted = {"open": OpenWorkCount.open_count, "claimed": OpenWorkCount.claimed_count}.get(
        filters.state or "", OpenWorkCount.open_count + OpenWorkCount.claimed_count)
    query = select(func.coalesce(func.sum(counted), 0))
    if filters.team_ids is not None:
        query = query.where(col(OpenWorkCount.team_id).in_(filters.team_ids))
    if filters.service_id is not None:
        query = query.where(OpenWorkCount.service_id == filters.service_id)
    if filters.position is not None:
        query = query.where(OpenWorkCount.position == filters.position)
    return int(session.exec(query).one())


class ServiceName(NamedTuple):
    id: int
    name: str


def service_names(session: Session) -> dict[int, str]:
    """Every service's name by its id, kept per directory version
    (app.storage.directory_cache): never changed by the caller."""
    return _kept_names(session, Service)


def team_names(session: Session) -> dict[int, str]:
    """Every team's name by its id, kept as service_names is."""
    return _kept_names(session, Team)


def _kept_names(session: Session, model: type[Service] | type[Team]) -> dict[int, str]:
    return directory_kept(session, (f"{model.__tablename__} names",), lambda: dict(
        session.exec(select(col(model.id), col(model.name))).all()))


_TEAM_COUNTERS = (
    sa_select(col(OpenWorkCount.service_id), func.sum(col(OpenWorkCount.open_count)),
              func.sum(col(OpenWorkCount.claimed_count)))
    .where(col(OpenWorkCount.team_id) == bindparam("team"))
    .group_by(col(OpenWorkCount.service_id))
)
_TEAM_COUNTERS_READ = DriverRead(_TEAM_COUNTERS)


@dataclass(frozen=True)
class TeamCounters:
    """One team's open and claimed tasks by service, from the open work counters: a
    queue page's count and its filter's services, in one statement."""

    by_service: dict[int, tuple[int, int]]  # service id -> (open, claimed)

    def count(self, filters: TaskFilter) -> int | None:
        """The exact count of the team's list with these filters, when the counters say
        it (`countable`, no step); None otherwise."""
        if not countable(filters) or filters.position is not None:
            return None
        wanted = {"open": (1, 0), "claimed": (0, 1)}.get(filters.state or "", (1, 1))
        return sum(opened * wanted[0] + claimed * wanted[1]
                   for service_id, (opened, claimed) in self.by_service.items()
                   if filters.service_id in (None, service_id))

    def services(self, session: Session) -> list[ServiceName]:
        """The services offered as the queue's filter: those with open or claimed work
        here, by name."""
        names = service_names(session)
        return sorted((ServiceName(service_id, names[service_id])
                       for service_id, counts in self.by_service.items()
                       if sum(counts) > 0 and service_id in names),
                      key=lambda service: (service.name, service.id))


def team_counters(session: Session, team_id: int) -> TeamCounters:
    rows = _TEAM_COUNTERS_READ.rows(session.connection(), {"team": team_id})
    return TeamCounters({service_id: (int(opened), int(claimed))
                         for service_id, opened, claimed in rows})


# The queue's version and its counters in one statement: a queue page's first two reads
# were a round trip each on PostgreSQL. One statement sees one moment, so the counters
# are exactly those of the version read with them.
_VERSION_AND_COUNTERS_READ = DriverRead(
    _TEAM_COUNTERS.add_columns(queue_version(bindparam("team")).label("queue_version")))


def team_counters_at_version(session: Session, team_id: int) -> tuple[int, TeamCounters]:
    """The team's queue version and its counters as of that version. A team without a
    counter row has no row to carry the version: it is read first, then the counters
    again, so that they are never older than it (app.web.page_cache)."""
    connection = session.connection()
    rows = _VERSION_AND_COUNTERS_READ.rows(connection, {"team": team_id})
    if not rows:
        version = QUEUE_VERSION_READ.first(connection, {"team": team_id})[0]
        return int(version), team_counters(session, team_id)
    return int(rows[0][3]), TeamCounters({service_id: (int(opened), int(claimed))
                                          for service_id, opened, claimed, _ in rows})


def queue_counts(session: Session, team_ids: list[int]) -> dict[int, tuple[int, int]]:
    """team id -> (open, claimed) counts, for the list of one's queues."""
    rows = session.exec(
        select(OpenWorkCount.team_id, func.sum(OpenWorkCount.open_count),
               func.sum(OpenWorkCount.claimed_count))
        .where(col(OpenWorkCount.team_id).in_(team_ids))
        .group_by(col(OpenWorkCount.team_id))
    )
    counts: dict[int, tuple[int, int]] = {team_id: (0, 0) for team_id in team_ids}
    counts.update({team_id: (int(opened), int(claimed)) for team_id, opened, claimed in rows})
    return counts


def overdue_counts(
    session: Session, team_ids: list[int], now: datetime | None = None
) -> dict[int, int]:
    """team id -> how many of its open or claimed tasks are past their due time: per team
    its tasks with a due time (counters) less those not due yet (one range count over
    recent work; see app.reads.overview)."""
    not_due_yet = (
        select(func.count()).select_from(Task)
        .where(Task.team_id == OpenWorkCount.team_id, is_queued(),
               col(Task.due_at) >= (now or utcnow()))
        .scalar_subquery()
    )
    rows = session.exec(
        select(OpenWorkCount.team_id, func.sum(OpenWorkCount.due_count) - not_due_yet)
        .where(col(OpenWorkCount.team_id).in_(team_ids))
        .group_by(col(OpenWorkCount.team_id))
    )
    counts = dict.fromkeys(team_ids, 0)
    counts.update({team_id: int(count) for team_id, count in rows})
    return counts


def count_changes(session: Session, *, filters: TaskFilter, since: datetime) -> int:
    """How many of the list's tasks opened or changed state after `since` (the moment the
    page was rendered), for the live queue's poll: a range of the team's index of queued
    tasks by change time, the few recent ones, not the whole queue. A task opening sets
    `state_changed_at` with `opened_at` (progress.set_task_state), so it covers both. The
    viewer's own claims are left out: their row is already on the page."""
    conditions = [*conditions_of(filters), col(Task.state_changed_at) > since]
    if filters.viewer_id is not None:
        conditions.append(or_(col(Task.state) != TaskState.claimed,
                              col(Task.assignee_id).is_(None),
                              col(Task.assignee_id) != filters.viewer_id))
    return int(session.exec(select(func.count()).select_from(Task).where(*conditions)).one())
