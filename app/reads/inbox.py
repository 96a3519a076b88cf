"""What the inbox shows (app.rules.inbox writes it; its docstring has the design): the
bell's unread count, read on every page, and the inbox page.

The count is one statement: the person's unread items from their partial index, stopped
at UNREAD_CAP, plus one for each of their teams with news since they last looked (an open
task opened since, in the queue's index, or a notice), each an EXISTS that stops
at its first row. Its cost is bounded by the cap and the person's teams, not by the
number of requests, items or team members."""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
)
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.rules.team_looks import new_open_tasks, notices_for, team_mark, told_in_person
from app.storage.models import (
    InboxItem,
    Membership,
    ServiceRequest,
    Task,
    Team,
    TeamLook,
    TeamNotice,
    TimelineEvent,
    User,
    request_number,
)

UNREAD_CAP = 100  # the bell says "99+" past it
PAGE_SIZE = 30
EXCERPT = 160
NOTICES_SHOWN = 5


@lru_cache(maxsize=32)
def bell_statement(teams: int) -> Select[Any]:
    """The bell's count for a person in `teams` teams, as one statement with bound
    parameters (bell_params): built once per number of teams, so a page pays for running
    it, not for building and compiling it again (a third of its cost on SQLite). Also run
    by app.web.page_cache's check of a kept page."""
    user = bindparam("inbox_user", type_=Integer)
    personal = select(func.count()).select_from(
        select(InboxItem.id).where(col(InboxItem.user_id) == user,
                                   col(InboxItem.read_at).is_(None))
        .limit(UNREAD_CAP).subquery()).scalar_subquery()
    total: ColumnElement[int] = personal
    for index in range(teams):
        team = bindparam(f"inbox_team{index}", type_=Integer)
        since = team_mark(user, team)
        news = or_(exists(new_open_tasks(team, since)), exists(notices_for(team, since, user)))
        total = total + case((news, 1), else_=0)
    return core_select(total)


def bell_of(user: ColumnElement[int]) -> ColumnElement[int]:
    """The bell's count as a column of a statement that has the person as `user` (the
    viewer's own statement, app.web.viewer): the same count as bell_statement's, with
    their teams taken from their memberships in the statement instead of bound one by
    one, so the bell costs no statement of its own on a page. One for each team with
    news, as there: each team's EXISTS stops at its first row."""
    personal = select(func.count()).select_from(
        select(InboxItem.id).where(col(InboxItem.user_id) == user,
                                   col(InboxItem.read_at).is_(None))
        .correlate_except(InboxItem).limit(UNREAD_CAP).subquery()).scalar_subquery()
    team = cast(ColumnElement[int], col(Membership.team_id))
    since = team_mark(user, team)
    news = or_(exists(new_open_tasks(team, since)), exists(notices_for(team, since, user)))
    teams = (select(func.count()).select_from(Membership)
             .where(col(Membership.user_id) == user, news).scalar_subquery())
    return personal + teams


def bell_params(user_id: int, team_ids: frozenset[int]) -> dict[str, int]:
    return {"inbox_user": user_id,
            **{f"inbox_team{index}": team for index, team in enumerate(sorted(team_ids))}}


def unread_count(session: Session, *, user_id: int, team_ids: frozenset[int]) -> int:
    return int(session.execute(bell_statement(len(team_ids)),
                               bell_params(user_id, team_ids)).scalar_one())


def bell_text(count: int | None) -> str:
    if not count:
        return ""
    return "99+" if count >= UNREAD_CAP else str(count)


@dataclass(frozen=True)
class InboxLine:
    item_id: int
    reason: str
    is_read: bool
    at: datetime
    request_id: int
    number: str
    title: str
    event_id: int
    kind: str
    actor_name: str
    step_name: str
    excerpt: str
    visible: bool  # rule 6 asked again now: False for a request the person lost sight of
    given_to: str = ""  # a task taken from the reader: who has it now ("": its actor)


@dataclass(frozen=True)
class Notice:
    request_id: int
    number: str
    title: str
    event_id: int
    actor_name: str
    excerpt: str


@dataclass(frozen=True)
class TeamNews:
    team_id: int
    team_name: str
    team_slug: str
    new_tasks: int  # stopped at UNREAD_CAP
    notices: list[Notice]
    since: datetime | None


@dataclass(frozen=True)
class InboxPage:
    lines: list[InboxLine]
    teams: list[TeamNews]
    next_before: int | None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1].rstrip() + "…"


def _visible_requests(session: Session, user: User, team_ids: frozenset[int],
                      request_ids: set[int]) -> set[int]:
    """Of `request_ids`, those one of the person's teams has a task of. The requests'
    tasks are read by request (a handful each) and their teams compared here: asked of
    the database with both lists, SQLite read all the team's tasks instead (350 ms for
    a busy team at 1M requests)."""
    if not request_ids or not team_ids:
        return set()
    return {request_id for request_id, team_id in session.exec(
        select(Task.request_id, Task.team_id).where(col(Task.request_id).in_(request_ids)))
        if team_id in team_ids}


def _new_holders(session: Session, event_ids: set[int]) -> dict[int, str]:
    """For the events that took a task from the reader: who was given it (the one told
    "handed"; none: its actor took it for themselves)."""
    if not event_ids:
        return {}
    return {event_id: name for event_id, name in session.exec(
        select(InboxItem.event_id, User.name).join(User, col(User.id) == InboxItem.user_id)
        .where(col(InboxItem.event_id).in_(event_ids), InboxItem.reason == "handed"))}


def inbox_page(session: Session, *, user: User, team_ids: frozenset[int],
               unread_only: bool, before: int | None = None,
               item_id: int | None = None) -> InboxPage:
    """The person's items, newest first, a page at a time (`before`: the next page's),
    with their teams' news on the first page; `item_id`: that one item alone (its row
    again after it is marked read), no team news."""
    query = (
        core_select(InboxItem, TimelineEvent, col(ServiceRequest.title),
                    col(ServiceRequest.requester_id), col(User.name), col(Task.step_name))
        .join(TimelineEvent, col(TimelineEvent.id) == InboxItem.event_id)
        .join(ServiceRequest, col(ServiceRequest.id) == InboxItem.request_id)
        .outerjoin(User, col(User.id) == TimelineEvent.actor_id)
        .outerjoin(Task, col(Task.id) == TimelineEvent.task_id)
        .where(col(InboxItem.user_id) == user.id)
        .order_by(col(InboxItem.id).desc()).limit(PAGE_SIZE + 1)
    )
    if unread_only:
        query = query.where(col(InboxItem.read_at).is_(None))
    if before is not None:
        query = query.where(col(InboxItem.id) < before)
    if item_id is not None:
        query = query.where(col(InboxItem.id) == item_id)
    rows = [tuple(row) for row in session.execute(query).all()]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    on_team = _visible_requests(session, user, team_ids, {item.request_id
                                                           for item, *_ in rows})
    given_to = _new_holders(session, {item.event_id for item, *_ in rows
                                      if item.reason == "taken"})
    lines = []
    for item, event, title, requester_id, actor_name, step_name in rows:
        is_requester = requester_id == user.id
        member_or_manager = user.is_manager or item.request_id in on_team
        visible = (is_requester or member_or_manager) and (
            not event.is_internal or (member_or_manager and not is_requester))
        lines.append(InboxLine(
            item_id=item.id, reason=item.reason, is_read=item.read_at is not None,
            at=item.created_at, request_id=item.request_id,
            number=request_number(item.request_id), title=title if visible else "",
            event_id=event.id, kind=event.kind, actor_name=actor_name or "Someone",
            step_name=step_name or "", excerpt=_excerpt(event.note) if visible else "",
            visible=visible, given_to=given_to.get(event.id, "")))
    first = before is None and item_id is None
    teams = team_news(session, user_id=user.id, team_ids=team_ids) if first else []
    return InboxPage(lines=lines, teams=teams,
                     next_before=lines[-1].item_id if more and lines else None)


def team_news(session: Session, *, user_id: int, team_ids: frozenset[int]) -> list[TeamNews]:
    """Each of the person's teams with news since they last looked: the new open tasks
    counted from the queue (not one item each), and the notices for the team."""
    news = []
    for team_id in sorted(team_ids):
        since = team_mark(literal(user_id), literal(team_id))
        new_tasks = session.exec(select(func.count()).select_from(
            new_open_tasks(team_id, since).limit(UNREAD_CAP).subquery())).one()
        notices = [
            Notice(request_id=notice.request_id, number=request_number(notice.request_id),
                   title=title, event_id=notice.event_id, actor_name=actor or "Someone",
                   excerpt=_excerpt(note))
            for notice, title, actor, note in session.exec(
                select(TeamNotice, ServiceRequest.title, User.name, TimelineEvent.note)
                .join(ServiceRequest, col(ServiceRequest.id) == TeamNotice.request_id)
                .join(TimelineEvent, col(TimelineEvent.id) == TeamNotice.event_id)
                .outerjoin(User, col(User.id) == TimelineEvent.actor_id)
                .where(col(TeamNotice.team_id) == team_id, col(TeamNotice.created_at) > since,
                       ~told_in_person(literal(user_id)))
                .order_by(col(TeamNotice.created_at).desc()).limit(NOTICES_SHOWN))]
        if new_tasks or notices:
            team = session.get_one(Team, team_id)
            look = session.get(TeamLook, (user_id, team_id))
            news.append(TeamNews(team_id=team_id, team_name=team.name, team_slug=team.slug,
                                 new_tasks=new_tasks,
                                 notices=notices, since=look.looked_at if look else None))
    return news
