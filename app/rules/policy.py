"""May this person see, act on, decide, oversee or administer this? PRODUCT.md rules 6
and 7 in one place, as plain functions: the rules ask here before they change anything,
the web layer's access dependencies (app.web.access, app.web.auth) ask here to answer 404
or 403, and the pages ask here what to offer.

A deactivated person may do nothing: they cannot sign in, and a rule given one refuses."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Exists, Integer, bindparam, exists
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.format.definitions import ServiceDefinition
from app.rules.catalog import definition_of
from app.storage.db import kept_for_the_transaction
from app.storage.driver_reads import DriverRead
from app.storage.models import Membership, ServiceRequest, ServiceVersion, StepKind, Task, User


def is_active_member(
    session: Session, *, user_id: int | None, team_id: int, lock: bool = False
) -> bool:
    """Read from the database at this moment, not from objects loaded earlier: a person
    deactivated or removed a moment ago must not act on the team's tasks.

    `lock`: on PostgreSQL, the membership and the person's rows stay locked FOR SHARE
    until the caller commits, so a task transition that relies on them cannot interleave
    with removing the member or deactivating the person (which lock those rows to
    change them, and then return the person's claims to the queue): one waits for the
    other, and either finds the person gone or sees the claim to return. A check that
    waited re-reads the rows as committed, so a removed member is not found. (SQLite's
    one writer at a time serializes them already.)"""
    if lock and (user_id, team_id) in session.info.get(_HELD, ()):
        return True  # checked and locked in this transaction already (hold_members)
    if session.new or session.deleted or session.dirty:
        session.flush()  # read past the ORM: what the session holds must be sent first
    read = _ACTIVE_MEMBER_LOCKED if lock else _ACTIVE_MEMBER
    return read.first(session.connection(), {"team": team_id, "user": user_id}) is not None


# Built once and read through the driver (app.storage.driver_reads): every task
# transition asks, and building the statement and executing it through the ORM cost
# more than the database's answer.
_ACTIVE_MEMBER_STATEMENT = (
    core_select(col(Membership.user_id))
    .join(User, col(User.id) == col(Membership.user_id))
    .where(col(Membership.team_id) == bindparam("team"),
           col(Membership.user_id) == bindparam("user"), col(User.is_active))
)
_ACTIVE_MEMBER = DriverRead(_ACTIVE_MEMBER_STATEMENT)
_ACTIVE_MEMBER_LOCKED = DriverRead(_ACTIVE_MEMBER_STATEMENT.with_for_update(read=True))


# (person, team) memberships checked and locked for the rest of the session's transaction.
_HELD = "members_held_for_the_transaction"


def hold_members(session: Session, *, user_ids: Iterable[int], team_id: int) -> None:
    """For a batch of changes in one transaction (app.rules.bulk): checks and locks each
    person's membership of the team once, outside the batch's savepoints, so the lock
    lasts until the commit; is_active_member(lock=True) then answers for them without
    asking again. Whoever is not an active member is simply not held: each change asks
    and refuses as usual."""
    held: set[tuple[int, int]] = session.info.setdefault(_HELD, set())
    for user_id in user_ids:
        if is_active_member(session, user_id=user_id, team_id=team_id, lock=True):
            held.add((user_id, team_id))


kept_for_the_transaction(_HELD)


def team_on_request(user_id: Any, request_id: Any) -> Exists:
    """Whether any of the person's teams owns a task of the request, as SQL (the ids:
    values, columns or bound parameters)."""
    return exists().where(
        col(Task.request_id) == request_id,
        col(Task.team_id).in_(select(Membership.team_id).where(Membership.user_id == user_id)),
    )


def has_team_on_request(session: Session, *, user: User, request_id: int) -> bool:
    """Whether any of the user's teams owns a task of this request."""
    return bool(session.exec(select(team_on_request(user.id, request_id))).one())


# A request with whether the person is on one of its teams: the one statement of
# request_with_access, built once.
_REQUEST_ID = bindparam("request_id", type_=Integer)
_WITH_TEAM = select(  # type: ignore[call-overload]
    ServiceRequest, team_on_request(bindparam("user_id", type_=Integer), _REQUEST_ID),
).where(ServiceRequest.id == _REQUEST_ID)


@dataclass(frozen=True)
class RequestAccess:
    """What one person may do with one request (rule 6)."""

    is_requester: bool
    is_team_member: bool
    is_manager: bool

    @property
    def can_view(self) -> bool:
        return self.is_requester or self.is_team_member or self.is_manager

    @property
    def sees_internal_notes(self) -> bool:
        # Never the requester, even one who also sits on a team of the request.
        return not self.is_requester and (self.is_team_member or self.is_manager)

    @property
    def can_comment(self) -> bool:
        # A manager comments on any request (issue 14): it reaches the assignee or the
        # team through the inbox (app.rules.inbox), and changes nothing of the work.
        return self.is_requester or self.is_team_member or self.is_manager

    @property
    def may_write_internal_notes(self) -> bool:
        # Internal notes are never shown to the requester, so a requester who also sits
        # on a team of the request must not write one: it would vanish from their page.
        return self.is_team_member and not self.is_requester


NO_ACCESS = RequestAccess(is_requester=False, is_team_member=False, is_manager=False)


def access_as(user: User, request: ServiceRequest, *, is_team_member: bool) -> RequestAccess:
    """`user`'s access to `request`, given whether one of their teams has a task of it."""
    return access_by(user, requester_id=request.requester_id, is_team_member=is_team_member)


def access_by(user: User, *, requester_id: int | None, is_team_member: bool) -> RequestAccess:
    """access_as from the request's requester alone (a read that fetched just that)."""
    if not user.is_active:
        return NO_ACCESS
    return RequestAccess(is_requester=requester_id == user.id,
                         is_team_member=is_team_member, is_manager=user.is_manager)


def request_access(session: Session, *, user: User, request: ServiceRequest) -> RequestAccess:
    if request.id is None:
        raise ValueError("A request that is not saved yet has no access rules.")
    on_team = user.is_active and has_team_on_request(session, user=user, request_id=request.id)
    return access_as(user, request, is_team_member=on_team)


def request_with_access(session: Session, *, user: User, request_id: int
                        ) -> tuple[ServiceRequest, RequestAccess] | None:
    """The request and `user`'s access to it (request_access), read in one statement;
    None when there is no such request."""
    row = session.execute(_WITH_TEAM, {"request_id": request_id, "user_id": user.id}).first()
    if row is None:
        return None
    request, on_team = row
    return request, access_as(user, request, is_team_member=user.is_active and bool(on_team))


def may_see_request(session: Session, *, user: User, request: ServiceRequest) -> bool:
    return request_access(session, user=user, request=request).can_view


def may_see_internal_notes(session: Session, *, user: User, request: ServiceRequest) -> bool:
    return request_access(session, user=user, request=request).sees_internal_notes


def may_comment(session: Session, *, user: User, request: ServiceRequest) -> bool:
    return request_access(session, user=user, request=request).can_comment


def may_cancel(*, user: User, request: ServiceRequest) -> bool:
    """Rule 3: the requester cancels their own request, nobody else."""
    return user.is_active and user.id == request.requester_id


def may_act_on_task(session: Session, *, user: User, task: Task, lock: bool = False) -> bool:
    """Rule 6: only an active member of the task's team acts on it (see is_active_member
    for `lock`)."""
    return is_active_member(session, user_id=user.id, team_id=task.team_id, lock=lock)


def is_on_task_team(team_ids: Collection[int], task: Task) -> bool:
    """may_act_on_task from the teams of a signed-in (so active) person, as read already
    for this web request: the rule asks may_act_on_task again, under its lock."""
    return task.team_id in team_ids


def may_see_queue(user: User, team_ids: Collection[int], team_id: int | None) -> bool:
    """A team's queue: its members, and managers (who see everything)."""
    return user.is_active and (team_id in team_ids or user.is_manager)


def requester_may_approve(definition: ServiceDefinition, position: int) -> bool:
    """Whether the step at `position` lets the requester approve or reject it on their
    own request: only when an admin said so in the definition (a version written before
    the setting existed does not)."""
    return definition.steps[position].allows_requester_approval


def decides(*, user_id: int | None, requester_id: int | None, kind: str,
            requester_may_approve: bool) -> bool:
    """Rule 7 on what is known already: whether this person, as the requester or not,
    may decide a task of this kind (`requester_may_approve`: what the step says)."""
    return kind != StepKind.approval or user_id != requester_id or requester_may_approve


def may_decide(
    session: Session, *, user: User, task: Task, request: ServiceRequest
) -> bool:
    """PRODUCT.md rule 7: nobody approves or rejects their own request, unless the step
    allows it. Says nothing about team membership (may_act_on_task does): only whether
    this person, as the requester or not, may decide this approval."""
    if decides(user_id=user.id, requester_id=request.requester_id, kind=task.kind,
               requester_may_approve=False):
        return True
    version = session.get_one(ServiceVersion, request.version_id)
    return requester_may_approve(definition_of(version), task.position)


def may_approve(session: Session, *, user: User, task: Task, request: ServiceRequest) -> bool:
    """Whether this person may approve or reject this approval now: an active member of
    its team (rule 6) who is not barred as its requester (rule 7)."""
    return (may_act_on_task(session, user=user, task=task)
            and may_decide(session, user=user, task=task, request=request))


def may_see_overview(user: User) -> bool:
    """Rule 6: managers see all open work."""
    return user.is_active and user.is_manager


def may_administer(user: User) -> bool:
    """Rule 6: admins define services, teams and people."""
    return user.is_active and user.is_admin


def is_team_lead(session: Session, *, user: User, team_id: int, lock: bool = False) -> bool:
    """Whether `user` is an active lead of the team (Membership.is_lead, set by admins):
    a lead assigns the team's open or stuck tasks to its members (issue 14). Read now,
    and locked as is_active_member says, for the same reason."""
    query = (
        select(Membership.user_id)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.team_id == team_id, Membership.user_id == user.id,
               Membership.is_lead == True, User.is_active == True)  # noqa: E712
    )
    if lock:
        query = query.with_for_update(read=True)
    return user.is_active and session.exec(query).first() is not None
