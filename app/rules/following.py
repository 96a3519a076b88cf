"""Whether one person follows a request (app.rules.inbox.followers, for one person): the
request page's Follow button, read with the page's other columns rather than by listing
every follower."""

from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, bindparam, exists, literal_column
from sqlmodel import Session, col, select

from app.storage.models import (
    EventKind,
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
