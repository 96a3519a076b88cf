"""Whether one person follows a request (app.rules.inbox.followers, for one person): the
request page's Follow button, read with the page's other columns rather than by listing
every follower."""

from typing import Any

from sqlalchemy import Integer, bindparam, exists
from sqlmodel import Session, col, select

from app.rules.inbox import WORKED_KINDS
from app.storage.models import RequestFollow, ServiceRequest, Task, TimelineEvent, User


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
                       col(TimelineEvent.kind).in_(WORKED_KINDS)),
        exists().where(col(Task.request_id) == request_id, col(Task.assignee_id) == user_id),
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
