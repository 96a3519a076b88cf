"""What is done to a filed request as a whole: the requester cancelling it (PRODUCT.md
rule 3), and the comments and internal notes on its timeline (rule 6)."""

from datetime import datetime, timedelta
from math import ceil

from sqlmodel import Session, col, select

from app.rules.errors import InvalidNote, InvalidTransition, NotAllowed, TooManyComments
from app.rules.mentions import record_mentions, resolve_mentions
from app.rules.policy import access_as, may_cancel
from app.rules.progress import (
    cancel_remaining,
    clean_note,
    lock_request,
    record_event,
    tasks_of,
)
from app.storage.db import commit_change, one_transaction
from app.storage.models import (
    EventKind,
    RequestState,
    ServiceRequest,
    TimelineEvent,
    User,
    is_comment,
    utcnow,
)

# How many comments and notes one person may post in a minute, over all requests: more
# than anyone types, far fewer than a script posts.
COMMENTS_PER_MINUTE = 10
COMMENT_WINDOW = timedelta(minutes=1)


@one_transaction
def cancel_request(
    session: Session, *, service_request: ServiceRequest, by: User, reason: str
) -> ServiceRequest:
    reason = clean_note(reason)
    if not may_cancel(user=by, request=service_request):
        raise NotAllowed("Only the requester can cancel a request.")
    if not reason:
        raise InvalidNote("Say why you cancel it: the teams will read this.")
    request = lock_request(session, service_request.id)
    if request.state != RequestState.open:
        raise InvalidTransition(f"This request is already {request.state}.")
    now = utcnow()
    request.state = RequestState.cancelled
    request.closed_at = now
    request.updated_at = now
    record_event(session, request, kind=EventKind.request_cancelled, by=by, note=reason,
                 at=now)
    cancel_remaining(session, request, tasks_of(session, request), by=by, at=now,
                     note="The requester cancelled.")
    commit_change(session)
    return request


def _check_comment_rate(session: Session, by: User, now: datetime) -> None:
    """Refuses a person's comment past COMMENTS_PER_MINUTE of them (notes included, on
    any request) in the minute before `now`. Counted from the timeline, so it holds
    across processes; the person's row is locked first (PostgreSQL; SQLite's write lock
    does the same) so that two posts at once cannot both count one short of the limit."""
    session.exec(select(User.id).where(User.id == by.id).with_for_update(key_share=True)).all()
    latest = session.exec(
        select(TimelineEvent.created_at)
        .where(TimelineEvent.actor_id == by.id, is_comment(),
               col(TimelineEvent.created_at) > now - COMMENT_WINDOW)
        .order_by(col(TimelineEvent.created_at).desc()).limit(COMMENTS_PER_MINUTE)
    ).all()
    if len(latest) >= COMMENTS_PER_MINUTE:
        # One more is accepted once the oldest of these is a minute old.
        wait = (latest[-1] + COMMENT_WINDOW - now).total_seconds()
        raise TooManyComments(limit=COMMENTS_PER_MINUTE, retry_after=max(1, ceil(wait)))


@one_transaction
def add_comment(
    session: Session, *, service_request: ServiceRequest, by: User, body: str,
    internal: bool, is_team_member: bool,
) -> TimelineEvent:
    """A public comment (requester, teams, managers: issue 14) or an internal note (teams
    only), its @mentions checked first (app.rules.mentions) and told at commit.
    `is_team_member`: whether one of `by`'s teams has a task of the request, as the
    caller asked app.rules.policy already."""
    text = clean_note(body)
    if not text:
        raise InvalidNote("Write something first.")
    access = access_as(by, service_request, is_team_member=is_team_member)
    if internal and not access.may_write_internal_notes:
        raise NotAllowed("Only the teams working on this request can add internal notes.")
    if not access.can_comment:
        raise NotAllowed("Only the requester, the teams on this request and managers can "
                         "comment.")
    # Every mention is checked before anything is written (app.rules.mentions).
    mentions = resolve_mentions(session, text=text, request=service_request,
                                internal=internal)
    now = utcnow()
    _check_comment_rate(session, by, now)
    event = record_event(
        session, service_request, kind=EventKind.note if internal else EventKind.comment,
        by=by, note=mentions.text, internal=internal, at=now,
    )
    record_mentions(session, event=event, people=mentions.people)
    commit_change(session)
    return event

