"""The access matrix (PRODUCT.md rules 6 and 7): every role against every question, asked
of app.rules.policy, the one place that answers them. The per-route tests (tests/routes/)
check that each page and action asks it."""

from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from app.format.definitions import parse_service
from app.reads.request_detail import request_page_with_access
from app.rules import policy
from app.rules.catalog import save_service
from app.storage.models import (
    Service,
    ServiceRequest,
    ServiceVersion,
    StepKind,
    Task,
    Team,
    User,
)
from tests.factories import Factory

ROLES = ("requester", "member", "other team", "manager", "admin", "outsider", "deactivated")
QUESTIONS = ("see request", "see internal notes", "comment", "act on the task",
             "decide own approval", "decide another's approval", "see overview",
             "administer")
Y, N = True, False
# role: the answer to each question, in QUESTIONS' order. The request is filed by the
# requester, with an approval step for the approvers (the requester may not decide it)
# and a task for finance; "member" is an approver, "other team" works elsewhere, and the
# deactivated person was an approver.
MATRIX = {
    "requester":   (Y, N, Y, N, N, N, N, N),
    "member":      (Y, Y, Y, Y, N, Y, N, N),
    "other team":  (N, N, N, N, N, N, N, N),
    "manager":     (Y, Y, Y, N, N, N, Y, N),  # comments on any request (issue 14)
    "admin":       (N, N, N, N, N, N, N, Y),
    "outsider":    (N, N, N, N, N, N, N, N),
    "deactivated": (N, N, N, N, N, N, N, N),
}
assert set(MATRIX) == set(ROLES) and all(len(row) == len(QUESTIONS) for row in MATRIX.values())

PEOPLE: dict[str, Callable[[Factory], User]] = {
    "member": lambda make: make.user("Mia", teams=("approvers",)),
    "other team": lambda make: make.user("Otis", teams=("elsewhere",)),
    "manager": lambda make: make.user("Mona", manager=True),
    "admin": lambda make: make.user("Adam", admin=True),
    "outsider": lambda make: make.user("Olga"),
    "deactivated": lambda make: make.user("Dora", teams=("approvers",), active=False),
}


def purchase(session: Session, make: Factory) -> Service:
    for slug in ("approvers", "finance", "elsewhere"):
        make.team(slug)
    service, _ = save_service(session, definition=parse_service({
        "slug": "purchase", "name": "Purchase", "category": "Money",
        "fields": [{"key": "summary", "label": "Summary", "type": "text"}],
        "steps": [{"name": "Approve", "team": "approvers", "kind": "approval"},
                  {"name": "Pay", "team": "finance"}],
    }))
    session.commit()
    return service


def approval_of(make: Factory, request: ServiceRequest) -> Task:
    task = make.tasks(request)[0]
    assert task.kind == StepKind.approval
    return task


def answer(session: Session, make: Factory, question: str, *, person: User,
           service: Service, request: ServiceRequest) -> bool:
    if question == "see request":
        return policy.may_see_request(session, user=person, request=request)
    if question == "see internal notes":
        return policy.may_see_internal_notes(session, user=person, request=request)
    if question == "comment":
        return policy.may_comment(session, user=person, request=request)
    if question == "act on the task":
        return policy.may_act_on_task(session, user=person, task=approval_of(make, request))
    if question == "decide own approval":
        own = make.request(service, person)
        return policy.may_approve(session, user=person, task=approval_of(make, own),
                                  request=own)
    if question == "decide another's approval":
        return policy.may_approve(session, user=person, task=approval_of(make, request),
                                  request=request)
    if question == "see overview":
        return policy.may_see_overview(person)
    assert question == "administer"
    return policy.may_administer(person)


@pytest.mark.parametrize(("role", "question"),
                         [(role, question) for role in ROLES for question in QUESTIONS])
def test_the_access_matrix(session: Session, make: Factory, role: str, question: str):
    service = purchase(session, make)
    requester = make.user("Rita")
    request = make.request(service, requester)
    person = requester if role == "requester" else PEOPLE[role](make)
    expected = MATRIX[role][QUESTIONS.index(question)]
    assert answer(session, make, question, person=person, service=service,
                  request=request) is expected


@pytest.mark.parametrize("role", ROLES)
def test_the_request_read_with_its_access_answers_as_request_access(
        session: Session, make: Factory, role: str):
    """The pages load a request with the person's access in one statement
    (request_with_access; the request page with its head, request_page_with_access):
    the same access as request_access, for every role."""
    service = purchase(session, make)
    requester = make.user("Rita")
    request = make.request(service, requester)
    person = requester if role == "requester" else PEOPLE[role](make)
    found = policy.request_with_access(session, user=person, request_id=request.id)
    assert found is not None and found[0] is request
    assert found[1] == policy.request_access(session, user=person, request=request)
    assert found[1].can_view is MATRIX[role][QUESTIONS.index("see request")]
    assert policy.request_with_access(session, user=person, request_id=request.id + 1) is None
    # The request page reads the same access with its head, in one statement.
    page = request_page_with_access(session, user=person, request_id=request.id)
    assert page is not None and page[1] == found[1]
    # Snapshots of the rows (app.storage.snapshots), with the rows' own values.
    assert page[0].model_dump() == request.model_dump() and page[0] is not request
    assert page[2].requester.model_dump() == requester.model_dump()
    assert page[2].service.model_dump() == service.model_dump()
    version = session.get(ServiceVersion, request.version_id)
    assert version is not None and page[2].version.model_dump() == version.model_dump()
    assert page[2].following is (role == "requester")
    assert request_page_with_access(session, user=person, request_id=request.id + 1) is None


def test_a_change_not_yet_flushed_counts_in_the_membership_check(session, make):  # type: ignore[no-untyped-def]
    """The check reads past the ORM (app.storage.driver_reads): what the session holds
    is flushed first, as the ORM's own query did."""
    ivan = make.user("Ivan", teams=("it",))
    team_id = session.exec(select(Team.id).where(Team.slug == "it")).one()
    assert policy.is_active_member(session, user_id=ivan.id, team_id=team_id)
    ivan.is_active = False  # pending in the session, not sent
    assert not policy.is_active_member(session, user_id=ivan.id, team_id=team_id, lock=True)
