"""The inbox (issue 14, PRODUCT.md rule 8): what other people did that concerns me, as
items that each point at one timeline event a person caused. Baton adds nothing of its
own: an item is written in the transaction of the event it points at, by whoever's rule
wrote the event, and says only what its reader may see (rule 6).

## What reaches whom

| event | who gets an item (never its actor) |
|---|---|
| `handed` / `assigned` (a task given to someone) | its new holder; its old one ("taken") |
| `comment` | the request's followers; a manager's comment on a task nobody holds: its team |
| `note` (internal) | the followers who see internal notes (never the requester) |
| an @mention in either | the person mentioned (reason `mention` instead of `comment`) |
| `task_opened` after a step finished (the request moved on) | the requester, explicit followers |
| `request_completed` / `_rejected` / `_cancelled` | the request's followers |
| a task opening in a team's queue | nobody's item: each member's team entry counts the new ones |

The old holder is told when someone else gave their task away (a lead taking it).
One event gives one person at most one item: a person both mentioned and following gets
the mention; a member told of a manager's comment in person is not shown the team's
notice of it too (app.reads.inbox asks, per notice, for an item of the same event).

A request's **followers**: its requester, the people who worked on it (hold or held one of
its tasks, or claimed, released, handed, finished or commented on it), and those who chose
to follow it (`RequestFollow`), less those who chose to stop (`following` false). Every
candidate is checked against rule 6 at delivery (the requester, a member of a team with a
task of the request, a manager; for a note, never the requester) and the inbox page
checks again when it shows an item (a person may have left the team since).

## How it is stored, and what it costs (1M requests, 20,000 people)

- `inbox_item` (one row per person per event that concerns them): written per event for at
  most the request's own participants: its requester, a handful of workers and the
  explicit followers. A request's timeline has ~10 events, so ~1M requests make ~10-30M
  rows, ~100 bytes each with the indexes (a few GB): the same order as the timeline itself.
  Nothing is ever fanned out to a team: an event on a team's request costs nothing per
  member. The bell's count is an index-only count of the person's unread rows in a
  partial index (`read_at IS NULL`), stopped at 100 ("99+"): its cost does not grow with
  the table, only with a person's unread items up to that cap.
- Team news is computed, not stored per member: `team_look` holds one row per person and
  team (when they last looked: ≤ 20,000 × their teams, written only when they mark it
  read), and the entry "5 new tasks in IT Support since you last looked" counts the team's
  open tasks opened since then in the queue's own index (`ix_task_queue`: team, state,
  opened), stopped at 100. A team of hundreds costs the same as a team of two: nothing at write,
  one bounded index range per member's view.
- `team_notice` (one row per team per event): a manager's comment on a request whose
  task no one holds reaches the team this way, read by each member through the same
  `team_look` mark, so again no row per member.
- `request_follow` (one row per explicit choice) and `mention` (one row per person
  mentioned) are as small as what people do.

Measured at 1M requests with ~300,000 items (bench/inbox.py, in process): the bell
≤ 0.43 ms p95, the inbox page ≤ 8.5 ms p95, on SQLite and PostgreSQL.

Delivery runs in the committing transaction: `after_flush` notes each new timeline event
(app.storage.driver_flush runs it too) and `before_commit` writes their items,
so every rule that records an event feeds the inbox, and a rollback forgets the events it
undid (the whole transaction's, or those flushed within a savepoint): a commit never
delivers an item for an event that is gone.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, event, insert, inspect, update
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from app.rules.errors import NotAllowed
from app.rules.following import followers, who_may_see
from app.rules.policy import may_see_request
from app.storage.db import in_batch, one_transaction
from app.storage.driver_reads import DriverRead
from app.storage.models import (
    EventKind,
    InboxItem,
    Membership,
    Mention,
    RequestFollow,
    ServiceRequest,
    Task,
    TaskState,
    TeamLook,
    TeamNotice,
    TimelineEvent,
    User,
    utcnow,
)

_PENDING = "baton_inbox_events"
_HOLDERS = "baton_inbox_holders"

GIVEN_KINDS = ("handed", "assigned")
FINISHED_KINDS = (EventKind.request_completed, EventKind.request_rejected,
                  EventKind.request_cancelled)
# The kinds _deliver makes items or notices of; a commit whose events are all of other
# kinds (a claim, a task completed with nothing opening after it, a request filed) reads
# nothing for them.
DELIVERED_KINDS = frozenset(str(kind) for kind in (
    *GIVEN_KINDS, EventKind.comment, EventKind.note, EventKind.task_opened, *FINISHED_KINDS))


class _Event(NamedTuple):
    id: int
    request_id: int
    task_id: int | None
    actor_id: int | None
    kind: str
    is_internal: bool
    created_at: datetime


class _Noted(NamedTuple):
    event: _Event
    # The innermost transaction (a savepoint's, if any) the event was flushed in: rolling
    # that one back, or any around it, takes the event out of the database, and so out of
    # what the commit delivers.
    transaction: SessionTransaction | None


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


@event.listens_for(Session, "after_flush")
def _note_events(session: Session, _context: Any) -> None:
    transaction = _innermost(session)
    events = [_Noted(_Event(item.id, item.request_id, item.task_id, item.actor_id, item.kind,
                            item.is_internal, item.created_at), transaction)
              for item in session.new if isinstance(item, TimelineEvent)]
    if events:
        # By id: on SQLite a rolled-back event's id is given again to the next one.
        pending: dict[int, _Noted] = session.info.setdefault(_PENDING, {})
        pending.update((noted.event.id, noted) for noted in events)
    # Who held each task before this transaction gave it to someone else (after_flush
    # still sees the attributes' history): the one a lead takes a task from is told.
    for item in session.dirty:
        if isinstance(item, Task):
            # The first holder it had in this transaction; none is no holder to tell (a
            # claim then an assignment in one batch tells the claimer).
            holder = next(iter(inspect(item).attrs.assignee_id.history.deleted), None)
            if holder is not None:
                session.info.setdefault(_HOLDERS, {}).setdefault(item.id, holder)


@event.listens_for(Session, "before_commit")
def _deliver_pending(session: Session) -> None:
    if in_batch():  # the batch writes these once, at its own commit
        return
    if session.new or session.dirty:
        session.flush()  # the commit's own flush comes after this hook
    pending: dict[int, _Noted] | None = session.info.pop(_PENDING, None)
    holders: dict[int, int | None] = session.info.pop(_HOLDERS, None) or {}
    if not pending:
        return
    by_request: dict[int, list[_Event]] = defaultdict(list)
    for noted in pending.values():
        if str(noted.event.kind) in DELIVERED_KINDS:
            by_request[noted.event.request_id].append(noted.event)
    # What every request's delivery reads, read once for the commit (a bulk action
    # delivers for up to 100 requests), and its items written in one statement.
    rows: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    ids = sorted(by_request)
    for start in range(0, len(ids), _READ_AT_ONCE):
        chunk = ids[start:start + _READ_AT_ONCE]
        requests, chosen = _requests_read(session, chunk)
        choices: dict[int, dict[int, bool]] = defaultdict(dict)
        for request_id, user_id, following in chosen:
            choices[request_id][user_id] = following
        for request, requester_active in requests:
            _deliver(session, request, sorted(by_request[request.id]), holders,
                     choices[request.id], rows, notices, requester_active=requester_active)
    if rows:  # in Core: the ORM's bulk insert cost more than the rows
        session.connection().execute(_ITEMS_WRITTEN, rows)
    if notices:
        session.connection().execute(_NOTICES_WRITTEN, notices)


# Built once: every delivery runs them.
_REQUESTS_READ = (select(ServiceRequest, User.is_active)
                  .join(User, col(User.id) == ServiceRequest.requester_id)
                  .where(col(ServiceRequest.id).in_(bindparam("ids", expanding=True))))
_CHOICES_READ = (select(RequestFollow.request_id, RequestFollow.user_id,
                        RequestFollow.following)
                 .where(col(RequestFollow.request_id).in_(bindparam("ids", expanding=True))))
_ITEMS_WRITTEN = insert(InboxItem.__table__)  # type: ignore[attr-defined]
_NOTICES_WRITTEN = insert(TeamNotice.__table__)  # type: ignore[attr-defined]
# The most requests whose deliveries are read in one statement.
_READ_AT_ONCE = 500
# One request's (a rule's commit, not a bulk action's): through the driver, the request
# itself being the session's, read under its lock by the rule.
_REQUESTER_ACTIVE = DriverRead(select(User.is_active).where(col(User.id) == bindparam("user")))
_CHOICES_OF_ONE = DriverRead(select(RequestFollow.request_id, RequestFollow.user_id,
                                    RequestFollow.following)
                             .where(col(RequestFollow.request_id) == bindparam("request")))


def _requests_read(session: Session, ids: list[int]
                   ) -> tuple[Sequence[tuple[ServiceRequest, bool]], Sequence[Any]]:
    """The requests (with whether their requester is active) and the follow choices of
    the requests `ids`, which their deliveries read."""
    request = session.get(ServiceRequest, ids[0]) if len(ids) == 1 else None
    if request is None:
        return (session.exec(_REQUESTS_READ, params={"ids": ids}).all(),
                session.exec(_CHOICES_READ, params={"ids": ids}).all())
    connection = session.connection()
    active = _REQUESTER_ACTIVE.first(connection, {"user": request.requester_id})
    return ([(request, bool(active and active[0]))],
            _CHOICES_OF_ONE.rows(connection, {"request": request.id}))


def _within(transaction: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is rolled_back:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    """A rollback forgets the events it took out of the database: all of them for the
    whole transaction, those flushed within it for a savepoint (a nested transaction,
    or one inside it), so the commit never delivers items for events that are gone."""
    if not transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_HOLDERS, None)
        return
    pending: dict[int, _Noted] | None = session.info.get(_PENDING)
    if pending:
        for event_id in [event_id for event_id, noted in pending.items()
                         if _within(noted.transaction, transaction)]:
            del pending[event_id]


def _deliver(session: Session, request: ServiceRequest, events: list[_Event],
             holders: dict[int, int | None], choices: dict[int, bool],
             rows: list[dict[str, Any]], notices: list[dict[str, Any]], *,
             requester_active: bool) -> None:
    """Adds the items (and team notices) of one request's `events` to `rows` (and
    `notices`); `choices`: who chose to follow the request (True) or to stop (False)."""
    request_id = request.id
    follows: set[int] | None = None
    moved = False
    told: set[tuple[int, int]] = set()  # (person, event): one event, one item a person

    def add(people: Iterable[int], noted: _Event, reason: str, notes: bool = False) -> None:
        wanted = set(people) - {noted.actor_id}
        if not notes and wanted <= {request.requester_id}:
            # The requester alone, told their request moved (the commonest item of a
            # bulk completion). Rule 6 as sees_request (and app.rules.policy's
            # RequestAccess) says it for a request's own requester, without its internal
            # notes: they see it while they are active, which the requests' read told.
            allowed = wanted if requester_active else set()
        else:
            allowed = who_may_see(session, request=request, people=wanted, notes=notes)
        for person in allowed:
            if (person, noted.id) in told:
                continue
            told.add((person, noted.id))
            rows.append({"user_id": person, "event_id": noted.id, "request_id": request_id,
                         "reason": reason, "created_at": noted.created_at})

    for noted in events:
        if noted.kind in GIVEN_KINDS and noted.task_id is not None:
            holder = session.exec(select(Task.assignee_id)
                                  .where(Task.id == noted.task_id)).one()
            if holder is not None:
                add([holder], noted, "handed")
            # Whoever held it before, when someone else gave it away (a lead taking a
            # task stuck with them): "Lena assigned your task … to Ivan".
            before = holders.get(noted.task_id)
            if before is not None and before != holder:
                add([before], noted, "taken")
        elif noted.kind in (EventKind.comment, EventKind.note):
            internal = noted.kind == EventKind.note or noted.is_internal
            mentioned = set(session.exec(select(Mention.user_id)
                                         .where(Mention.event_id == noted.id)).all())
            follows = follows if follows is not None else followers(
                session, request=request, choices=choices)
            add(mentioned, noted, "mention", notes=internal)
            add(follows - mentioned, noted, "note" if internal else "comment", notes=internal)
            if not internal:
                notices.extend(_team_notices(session, request, noted))
        elif noted.kind == EventKind.task_opened and not moved:
            moved = True  # one item for a stage, however many of its tasks open
            explicit = {person for person, following in choices.items() if following}
            unfollowed = {person for person, following in choices.items() if not following}
            add(({request.requester_id} | explicit) - unfollowed, noted, "moved")
        elif noted.kind in FINISHED_KINDS:
            follows = follows if follows is not None else followers(
                session, request=request, choices=choices)
            add(follows, noted, "finished")


def _team_notices(session: Session, request: ServiceRequest,
                  noted: _Event) -> list[dict[str, Any]]:
    """A manager's comment reaches the team of each open task nobody holds (those who
    hold one are its workers, so followers, already). Only a manager's: the teams'
    members and the requester talk on requests they already follow."""
    actor = session.get(User, noted.actor_id) if noted.actor_id else None
    if actor is None or not actor.is_manager:
        return []
    teams = session.exec(select(Task.team_id).distinct().where(
        Task.request_id == request.id, Task.state == TaskState.open)).all()
    return [{"team_id": team, "event_id": noted.id, "request_id": request.id,
             "created_at": noted.created_at} for team in sorted(teams)]


@one_transaction
def mark_read(session: Session, *, by: User, item_id: int) -> bool:
    """Marks one of the person's items read; False when it is not theirs or was read."""
    result = session.execute(
        update(InboxItem).where(col(InboxItem.id) == item_id, col(InboxItem.user_id) == by.id,
                                col(InboxItem.read_at).is_(None)).values(read_at=utcnow()))
    session.commit()
    return bool(getattr(result, "rowcount", 0))


@one_transaction
def open_item(session: Session, *, by: User, item_id: int) -> InboxItem | None:
    """The person's item, marked read as they follow its link (None: no item of theirs).
    Opening it again changes nothing more: it stays read, at the first time."""
    session.execute(
        update(InboxItem).where(col(InboxItem.id) == item_id, col(InboxItem.user_id) == by.id,
                                col(InboxItem.read_at).is_(None)).values(read_at=utcnow()))
    item = session.exec(select(InboxItem).where(
        col(InboxItem.id) == item_id, col(InboxItem.user_id) == by.id)
        .execution_options(populate_existing=True)).first()
    session.commit()
    return item


def _look(session: Session, user_id: int, team_id: int, at: datetime) -> None:
    look = session.get(TeamLook, (user_id, team_id))
    if look is None:
        session.add(TeamLook(user_id=user_id, team_id=team_id, looked_at=at))
    elif look.looked_at < at:  # never back: a later look (another tab) stands
        look.looked_at = at


@one_transaction
def look_at_team(session: Session, *, by: User, team_id: int) -> None:
    """The person has seen their team's news: newer tasks and notices are unread."""
    member = session.get(Membership, (team_id, by.id))
    if member is None:
        raise NotAllowed("You are not a member of this team.")
    _look(session, by.id, team_id, utcnow())
    session.commit()


@one_transaction
def mark_all_read(session: Session, *, by: User, up_to: int | None = None,
                  seen_at: datetime | None = None) -> None:
    """Marks read what the person's page showed: their items up to `up_to` (the newest
    item the page had; None: all of them) and their teams' news up to `seen_at` (when
    the page was shown; None: now). What arrived after the page was shown stays unread:
    nobody has seen it yet."""
    now = utcnow()
    looked = now if seen_at is None else min(seen_at, now)
    unread = [col(InboxItem.user_id) == by.id, col(InboxItem.read_at).is_(None)]
    if up_to is not None:
        unread.append(col(InboxItem.id) <= up_to)
    session.execute(update(InboxItem).where(*unread).values(read_at=now))
    for team_id in session.exec(select(Membership.team_id)
                                .where(Membership.user_id == by.id)).all():
        _look(session, by.id, team_id, looked)
    session.commit()


@one_transaction
def set_following(session: Session, *, user: User, request: ServiceRequest,
                  following: bool) -> None:
    """Follow or stop following a request the person may see (rule 6)."""
    if not may_see_request(session, user=user, request=request):
        raise NotAllowed("You cannot see this request.")
    choice = session.get(RequestFollow, (request.id, user.id))
    if choice is None:
        session.add(RequestFollow(request_id=request.id, user_id=user.id, following=following))
    else:
        choice.following = following
        choice.created_at = utcnow()
    session.commit()
