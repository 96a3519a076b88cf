"""PRODUCT.md rule 7 as a rule: nobody approves or rejects their own request, unless the
step's definition allows it; and the setting in the definition format, the builder and
the catalog files (issue 12, item 6)."""

from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.format.definitions import DefinitionError, parse_service
from app.reads.versions import Change, diff_definitions
from app.rules.builder_form import definition_data, form_of, read_form
from app.rules.catalog import (
    current_version,
    definition_of,
    export_catalog,
    import_catalog,
    save_service,
    service_to_toml,
)
from app.rules.errors import OwnRequestApproval
from app.rules.policy import may_decide
from app.rules.tasks import approve_task, claim_task, complete_task, hand_task, reject_task
from app.storage.models import Service, ServiceRequest, Task, TimelineEvent, User
from tests.factories import Factory


def approval_service(
    session: Session, make: Factory, *, slug: str = "purchase",
    requester_may_approve: bool | None = None,
) -> Service:
    """One approval step for the approvers, then a task for finance."""
    make.team("approvers")
    make.team("finance")
    approval: dict[str, Any] = {"name": "Approve", "team": "approvers", "kind": "approval"}
    if requester_may_approve is not None:
        approval["requester_may_approve"] = requester_may_approve
    service, _ = save_service(session, definition=parse_service({
        "slug": slug, "name": slug.title(), "category": "Money",
        "fields": [{"key": "summary", "label": "Summary", "type": "text"}],
        "steps": [approval, {"name": "Pay", "team": "finance"}],
    }))
    session.commit()
    return service


@pytest.fixture
def dana(make: Factory) -> User:
    """An approver who also files requests of her own."""
    return make.user("Dana", teams=("approvers",))


@pytest.fixture
def otto(make: Factory) -> User:
    return make.user("Otto", teams=("approvers",))


def _approval_of(session: Session, make: Factory, service: Service, requester: User) -> Task:
    return make.tasks(make.request(service, requester))[0]


def _events(session: Session, task: Task) -> list[str]:
    return list(session.exec(select(TimelineEvent.kind).where(
        TimelineEvent.task_id == task.id).order_by(col(TimelineEvent.id))))


# --- the rule ---------------------------------------------------------------------------


def test_the_requester_may_not_approve_their_own_request(session, make, dana):
    task = _approval_of(session, make, approval_service(session, make), dana)

    with pytest.raises(OwnRequestApproval, match="your own request") as refused:
        approve_task(session, task=task, by=dana, note="Fine by me")

    assert refused.value.status_code == 403
    session.refresh(task)
    assert (task.state, task.assignee_id) == ("open", None)
    assert "approved" not in _events(session, task)


def test_the_requester_may_not_reject_their_own_request(session, make, dana):
    task = _approval_of(session, make, approval_service(session, make), dana)

    with pytest.raises(OwnRequestApproval):
        reject_task(session, task=task, by=dana, reason="Changed my mind")

    session.refresh(task)
    assert (task.state, task.assignee_id) == ("open", None)
    assert "rejected" not in _events(session, task)


def test_the_requester_may_not_claim_their_own_approval(session, make, dana):
    # An approval is claimed to be decided: holding one's own would keep it from the
    # teammates who may decide it.
    task = _approval_of(session, make, approval_service(session, make), dana)

    with pytest.raises(OwnRequestApproval, match="your own request") as refused:
        claim_task(session, task=task, by=dana)

    assert refused.value.status_code == 403
    session.refresh(task)
    assert (task.state, task.assignee_id) == ("open", None)
    assert "claimed" not in _events(session, task)


def test_an_approval_is_not_handed_to_its_requester(session, make, dana, otto):
    task = _approval_of(session, make, approval_service(session, make), dana)
    claim_task(session, task=task, by=otto)

    with pytest.raises(OwnRequestApproval,
                       match="Dana asked for this request and cannot approve") as refused:
        hand_task(session, task=task, by=otto, to=dana)

    assert refused.value.status_code == 403
    session.refresh(task)
    assert (task.state, task.assignee_id) == ("claimed", otto.id)
    assert "handed" not in _events(session, task)


def test_a_step_that_allows_it_lets_the_requester_claim_and_be_handed_it(
    session, make, dana, otto
):
    service = approval_service(session, make, requester_may_approve=True)
    claimed = _approval_of(session, make, service, dana)
    handed = _approval_of(session, make, service, dana)

    claim_task(session, task=claimed, by=dana)
    claim_task(session, task=handed, by=otto)
    hand_task(session, task=handed, by=otto, to=dana)

    assert (claimed.assignee_id, handed.assignee_id) == (dana.id, dana.id)


def test_a_task_step_of_ones_own_request_may_be_claimed(session, make, otto):
    both = make.user("Both", teams=("finance",))
    request = make.request(approval_service(session, make), both)
    approval, pay = make.tasks(request)
    approve_task(session, task=approval, by=otto)

    claim_task(session, task=pay, by=both)

    assert (pay.state, pay.assignee_id) == ("claimed", both.id)


def test_another_approver_still_decides_the_request(session, make, dana, otto):
    service = approval_service(session, make)
    approved = _approval_of(session, make, service, dana)
    rejected = _approval_of(session, make, service, dana)

    approve_task(session, task=approved, by=otto, note="Fine")
    reject_task(session, task=rejected, by=otto, reason="Not this quarter")

    assert approved.state == "approved" and rejected.state == "rejected"


def test_a_step_that_allows_it_lets_the_requester_approve_and_reject(session, make, dana):
    service = approval_service(session, make, requester_may_approve=True)
    approved = _approval_of(session, make, service, dana)
    rejected = _approval_of(session, make, service, dana)

    approve_task(session, task=approved, by=dana)
    reject_task(session, task=rejected, by=dana, reason="Withdrawn")

    assert approved.state == "approved" and rejected.state == "rejected"


def test_a_task_step_of_ones_own_request_is_no_approval_and_may_be_completed(
    session, make, otto
):
    both = make.user("Both", teams=("finance",))
    request = make.request(approval_service(session, make), both)
    approval, pay = make.tasks(request)
    approve_task(session, task=approval, by=otto)

    complete_task(session, task=pay, by=both)

    assert pay.state == "done"


def test_a_step_stored_before_the_setting_existed_does_not_allow_it(session, make, dana):
    service = approval_service(session, make)
    version = current_version(session, service)
    assert "requester_may_approve" not in version.definition["steps"][0]
    task = _approval_of(session, make, service, dana)
    request = _request_of(session, task)

    assert not may_decide(session, user=dana, task=task, request=request)
    with pytest.raises(OwnRequestApproval):
        approve_task(session, task=task, by=dana)


def _request_of(session: Session, task: Task) -> ServiceRequest:
    request = session.get(ServiceRequest, task.request_id)
    assert request is not None
    return request


# --- the definition format, files and the builder ---------------------------------------


def _definition(**approval: Any) -> dict[str, Any]:
    return {
        "slug": "purchase", "name": "Purchase", "category": "Money",
        "steps": [{"name": "Approve", "team": "approvers", "kind": "approval", **approval},
                  {"name": "Pay", "team": "finance"}],
    }


def test_the_setting_is_stored_only_when_it_allows(session):
    allowed = parse_service(_definition(requester_may_approve=True)).to_data()
    said_false = parse_service(_definition(requester_may_approve=False)).to_data()
    unsaid = parse_service(_definition()).to_data()

    assert allowed["steps"][0]["requester_may_approve"] is True
    # An explicit false is the rule itself: the same definition as saying nothing, so
    # re-importing an older file makes no new version.
    assert said_false == unsaid
    assert "requester_may_approve" not in unsaid["steps"][0]


def test_the_setting_applies_to_approval_steps_only():
    data = _definition()
    data["steps"][1]["requester_may_approve"] = True

    with pytest.raises(DefinitionError) as problem:
        parse_service(data)

    assert problem.value.problems == [
        "steps.1.requester_may_approve: 'requester_may_approve' applies to approval steps only"
    ]


def test_the_setting_survives_a_catalog_export_and_import(session, make, tmp_path):
    approval_service(session, make, requester_may_approve=True)
    approval_service(session, make, slug="lunch")
    assert 'requester_may_approve = true' in (
        service_to_toml(parse_service(_definition(requester_may_approve=True))))

    export_catalog(session, tmp_path)
    report = import_catalog(session, tmp_path)

    assert sorted(report.services_unchanged) == ["lunch", "purchase"]
    assert 'requester_may_approve = true' in (tmp_path / "purchase.toml").read_text()
    assert "requester_may_approve" not in (tmp_path / "lunch.toml").read_text()
    purchase = session.exec(select(Service).where(Service.slug == "purchase")).one()
    assert definition_of(current_version(session, purchase)).steps[0].requester_may_approve


def test_the_builder_round_trips_the_setting():
    for setting in (True, None):
        definition = parse_service(_definition(requester_may_approve=setting))

        again = parse_service(definition_data(form_of(definition)))

        assert again.to_data() == definition.to_data()


def test_the_builders_box_counts_on_approval_steps_only():
    posted = [
        ("name", "Purchase"), ("category", "Money"),
        ("steps.0.name", "Approve"), ("steps.0.team", "approvers"),
        ("steps.0.kind", "approval"), ("steps.0.requester_may_approve", "on"),
        # Ticked, then the step was switched to a task: the box is hidden and ignored.
        ("steps.1.name", "Pay"), ("steps.1.team", "finance"),
        ("steps.1.kind", "task"), ("steps.1.requester_may_approve", "on"),
        ("steps.2.name", "Check"), ("steps.2.team", "approvers"),
        ("steps.2.kind", "approval"),
    ]

    definition = parse_service(definition_data(read_form(posted)))

    assert [step.requester_may_approve for step in definition.steps] == [True, None, None]


def test_the_builder_shows_the_box_ticked_for_a_step_that_allows_it():
    form = form_of(parse_service(_definition(requester_may_approve=True)))

    assert [row["requester_may_approve"] for row in form.steps] == ["on", ""]


def test_allowing_it_makes_a_new_version_whose_changes_name_it(session, make):
    service = approval_service(session, make, slug="purchase")
    first = current_version(session, service)

    _, second = save_service(
        session, definition=parse_service(_definition(requester_may_approve=True)))

    assert second is not None and second.number == first.number + 1
    changed = diff_definitions(first.definition, second.definition).steps.changed
    assert [(item.name, item.changes) for item in changed] == [
        ("Approve", [Change("requester_may_approve", None, True)])]
