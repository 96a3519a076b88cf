"""Who sees what (PRODUCT.md rule 6) and who may decide an approval (rule 7), as plain
functions over the database: the rules and the pages both ask here."""

from dataclasses import dataclass

from sqlalchemy import exists
from sqlmodel import Session, col, select

from app.format.definitions import ServiceDefinition
from app.rules.catalog import definition_of
from app.storage.models import Membership, ServiceRequest, ServiceVersion, StepKind, Task, User


def has_team_on_request(session: Session, *, user: User, request_id: int) -> bool:
    """Whether any of the user's teams owns a task of this request."""
    query = select(
        exists().where(
            col(Task.request_id) == request_id,
            col(Task.team_id).in_(
                select(Membership.team_id).where(Membership.user_id == user.id)
            ),
        )
    )
    return bool(session.exec(query).one())


@dataclass(frozen=True)
class RequestAccess:
    """What one person may do with one request."""

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
        return self.is_requester or self.is_team_member


def request_access(session: Session, *, user: User, request: ServiceRequest) -> RequestAccess:
    assert request.id is not None
    return RequestAccess(
        is_requester=request.requester_id == user.id,
        is_team_member=has_team_on_request(session, user=user, request_id=request.id),
        is_manager=user.is_manager,
    )


def requester_may_approve(definition: ServiceDefinition, position: int) -> bool:
    """Whether the step at `position` lets the requester approve or reject it on their
    own request: only when an admin said so in the definition (a version written before
    the setting existed does not)."""
    return definition.steps[position].allows_requester_approval


def may_decide(
    session: Session, *, user: User, task: Task, request: ServiceRequest
) -> bool:
    """PRODUCT.md rule 7: nobody approves or rejects their own request, unless the step
    allows it. Says nothing about team membership (the rules check that): only whether
    this person, as the requester or not, may decide this approval."""
    if task.kind != StepKind.approval or user.id != request.requester_id:
        return True
    version = session.get(ServiceVersion, request.version_id)
    assert version is not None
    return requester_may_approve(definition_of(version), task.position)
