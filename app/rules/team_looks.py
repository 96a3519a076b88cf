"""A person's mark on a team's news (issue 14's inbox, app.rules.inbox has the design):
what is newer than when they last looked is news. The inbox's Mark read moves the mark
(app.rules.inbox.look_at_team); so does opening the team's queue page while it shows
open tasks newer than the mark (look_at_queue): the person has looked at them there.

The parts of the bell's statement and of the inbox's team entries that say "newer than
the mark" live here, so the rules that move the mark and the reads that count from it
(app.reads.inbox) ask the same question."""

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, exists, func, literal, literal_column
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from app.storage.db import one_transaction
from app.storage.models import InboxItem, Membership, Task, TeamLook, TeamNotice, User, utcnow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def team_mark(user: ColumnElement[int], team: ColumnElement[int]) -> ColumnElement[datetime]:
    """When the person last looked at the team's news; never: the epoch."""
    mark = (select(TeamLook.looked_at)
            .where(col(TeamLook.user_id) == user, col(TeamLook.team_id) == team)
            .correlate_except(TeamLook).scalar_subquery())
    return func.coalesce(mark, literal(_EPOCH, type_=UTCDateTime()))


def new_open_tasks(team: ColumnElement[int] | int, since: ColumnElement[datetime]) -> Any:
    # `state = 'open'` inline, alone: the queue's index (team, state, opened_at) is one
    # seek; saying is_queued() as well made SQLite scan the queued tasks (0.5 ms at 1M).
    return (select(Task.id).where(col(Task.team_id) == team,
                                  col(Task.state) == literal_column("'open'"),
                                  col(Task.opened_at) > since))


def new_notices(team: ColumnElement[int] | int, since: ColumnElement[datetime]) -> Any:
    return select(TeamNotice.id).where(col(TeamNotice.team_id) == team,
                                       col(TeamNotice.created_at) > since)


def told_in_person(user: ColumnElement[int]) -> ColumnElement[bool]:
    """Whether a team notice's event gave the person an item of their own (they follow
    the request, or were mentioned): one event, one item (app.rules.inbox), so the team's
    notice is not theirs to see, nor to wait for (ix_inbox_item_event: one seek a
    notice). Said of the TeamNotice of the statement around it."""
    return exists(select(InboxItem.id).where(col(InboxItem.event_id) == TeamNotice.event_id,
                                             col(InboxItem.user_id) == user)
                  .correlate_except(InboxItem))


def notices_for(team: ColumnElement[int] | int, since: ColumnElement[datetime],
                user: ColumnElement[int]) -> Any:
    """The team's notices newer than `since` that are the person's to see."""
    return new_notices(team, since).where(~told_in_person(user))


def queue_look_due(session: Session, *, user_id: int, team_id: int) -> bool:
    """Whether opening the team's queue page moves the person's mark (look_at_queue): they
    are a member, an open task is newer than their mark, and no notice is (one read, each
    part stopped at its first row). A notice the queue page does not show keeps the mark
    where it is, so that a manager's comment is never marked seen by opening the queue:
    the team's entry then waits for the inbox's Mark read."""
    user, team = literal(user_id), literal(team_id)
    since = team_mark(user, team)
    return bool(session.execute(select(and_(
        exists().where(col(Membership.team_id) == team, col(Membership.user_id) == user),
        exists(new_open_tasks(team, since)),
        ~exists(notices_for(team, since, user)),
    ))).scalar())


@one_transaction
def look_at_queue(session: Session, *, by: User, team_id: int) -> None:
    """The member opened the team's queue page and saw its new tasks: their mark moves
    to now, so the team's "new tasks since you last looked" starts again from here.
    Called only when queue_look_due says so (a page with nothing new writes nothing).
    One statement: the person's first mark for the team, or their mark moved, unless a
    notice came in meanwhile (queue_look_due's rule, held in the write too)."""
    now = utcnow()
    insert_into = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
                   else sqlite_insert)
    mark = cast(ColumnElement[datetime], TeamLook.looked_at)
    unseen_notice = notices_for(team_id, mark, literal(by.id)).correlate(TeamLook)
    session.execute(
        insert_into(TeamLook).values(user_id=by.id, team_id=team_id, looked_at=now)
        .on_conflict_do_update(index_elements=["user_id", "team_id"],
                               set_={"looked_at": now}, where=~exists(unseen_notice)))
    session.commit()
