"""Who follows a request, and who of them may be told of it (rule 6), for the inbox
(app.rules.inbox) and the mentions; and whether one person follows it: the request
page's Follow button, read with the page's other columns rather than by listing every
follower."""

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, and_, bindparam, exists, literal_column, or_
from sqlmodel import Session, col, select

from app.storage.models import (
    EventKind,
    Membership,
    RequestFollow,
    ServiceRequest,
    Task,
    TimelineEvent,
    User,
)

# What makes someone a worker of a request, and so one of its followers.
WORKED_KINDS = (EventKind.claimed, EventKind.released, EventKind.handed,
                EventKind.completed, EventKind.approved, EventKind.rejected,
                EventKind.comment, EventKind.note, EventKind.assigned)


def is_worked_kind(kind: Any) -> ColumnElement[bool]:
    """`kind IN WORKED_KINDS` with the kinds written into the statement: a list bound as
    a parameter is spread into one parameter per kind at every execution, which cost a
    twelfth of the request page's first statement."""
    return cast(ColumnElement[bool],
                kind.in_([literal_column(f"'{worked}'") for worked in WORKED_KINDS]))


def following_columns(request_id: Any, user_id: Any) -> tuple[Any, Any, Any]:
    """followers() for one person as three columns of a statement (the ids: values or
    bound parameters): their own choice, whether they worked on the request, whether
    they hold one of its tasks (each a seek of its key or index). `follows` reads them."""
    return (
        select(RequestFollow.following).where(RequestFollow.request_id == request_id,
                                              RequestFollow.user_id == user_id)
        .scalar_subquery(),
        exists().where(col(TimelineEvent.request_id) == request_id,
                       col(TimelineEvent.actor_id) == user_id,
                       is_worked_kind(col(TimelineEvent.kind))),
        # `assignee_id + 0`: found by the request's few tasks (ix_task_request), never by
        # the person's (ix_task_assignee), which SQLite without statistics chose: at 1M a
        # member's request page read their tens of thousands of tasks (16 ms).
        exists().where(col(Task.request_id) == request_id,
                       col(Task.assignee_id) + literal_column("0") == user_id),
    )


def follows(user_id: int | None, request: ServiceRequest, choice: bool | None, worked: bool,
            holds: bool) -> bool:
    """Whether the person is among followers(request), from following_columns' values."""
    if choice is not None:
        return bool(choice)
    return user_id == request.requester_id or bool(worked) or bool(holds)


_FOLLOWING = select(*following_columns(  # type: ignore[call-overload]
    bindparam("request_id", type_=Integer), bindparam("user_id", type_=Integer)))


def is_following(session: Session, *, user: User, request: ServiceRequest) -> bool:
    """Whether `user` is among followers(request), in one statement."""
    return follows(user.id, request, *session.execute(
        _FOLLOWING, {"request_id": request.id, "user_id": user.id}).one())


def followers(session: Session, *, request: ServiceRequest,
              choices: dict[int, bool] | None = None) -> set[int]:
    """Who follows the request (before rule 6 is asked): see the module's docstring.
    `choices`: who chose to follow it or to stop, when read already."""
    people = {request.requester_id}
    people.update(actor for actor in session.exec(
        select(TimelineEvent.actor_id).distinct()
        .where(TimelineEvent.request_id == request.id,
               is_worked_kind(col(TimelineEvent.kind)))) if actor is not None)
    people.update(holder for holder in session.exec(
        select(Task.assignee_id).distinct()
        .where(Task.request_id == request.id)) if holder is not None)
    if choices is None:
        choices = dict(session.exec(
            select(RequestFollow.user_id, RequestFollow.following)
            .where(RequestFollow.request_id == request.id)).all())
    for user_id, following in choices.items():
        if following:
            people.add(user_id)
        else:
            people.discard(user_id)
    return people


def sees_request(request: ServiceRequest, *, notes: bool = False) -> ColumnElement[bool]:
    """Rule 6 as a condition on User rows (app.rules.policy.RequestAccess says it for one
    person): active, and a manager, a member of a team with a task of the request, or its
    requester; with `notes`, who may see its internal notes (never the requester)."""
    on_team = select(Membership.user_id).where(
        col(Membership.team_id).in_(select(Task.team_id).where(Task.request_id == request.id)))
    if notes:
        return and_(col(User.is_active) == True,  # noqa: E712
                    or_(col(User.is_manager), col(User.id).in_(on_team)),
                    col(User.id) != request.requester_id)
    return and_(col(User.is_active) == True,  # noqa: E712
                or_(col(User.is_manager), col(User.id).in_(on_team),
                    col(User.id) == request.requester_id))


def who_may_see(session: Session, *, request: ServiceRequest, people: Iterable[int],
                notes: bool = False) -> set[int]:
    """Of `people`, the active ones who may see the request (rule 6, as
    app.rules.policy.RequestAccess says it), and with `notes`, its internal notes."""
    wanted = set(people)
    if not wanted:
        return set()
    return set(session.exec(select(User.id).where(
        col(User.id).in_(wanted), sees_request(request, notes=notes))).all())
