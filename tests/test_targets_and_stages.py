"""Conditional steps, parallel stages, conditional fields and targets, as rules."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from app.format.definitions import DefinitionError, parse_service
from app.format.targets import add_business_days, due_time, is_overdue
from app.reads.request_detail import request_detail
from app.rules.catalog import save_service
from app.rules.errors import IntakeInvalid
from app.rules.tasks import approve_task, complete_task
from app.storage.clock import frozen_at
from app.storage.models import ServiceRequest, TimelineEvent
from tests.factories import Factory


def service(session: Session, make: Factory, *, steps: list[dict], fields: list[dict] | None = None,
            ordering: str = "enforced", slug: str = "thing"):  # type: ignore[no-untyped-def]
    for step in steps:
        make.team(step["team"])
    definition = parse_service({
        "slug": slug, "name": slug.title(), "category": "Test", "ordering": ordering,
        "fields": fields if fields is not None else [
            {"key": "summary", "label": "Summary", "type": "text"},
            {"key": "amount", "label": "Amount", "type": "number"},
            {"key": "remote", "label": "Remote", "type": "checkbox"},
        ],
        "steps": steps,
    })
    created, _ = save_service(session, definition=definition)
    session.commit()
    return created


def states(make: Factory, request: ServiceRequest) -> list[str]:
    return [task.state for task in make.tasks(request)]


PURCHASE = [
    {"name": "Department head approval", "team": "approvers", "kind": "approval",
     "condition": "amount > 1000"},
    {"name": "CFO approval", "team": "finance", "kind": "approval",
     "condition": "amount > 25000"},
    {"name": "Place order", "team": "finance"},
]


@pytest.mark.parametrize("amount, expected", [
    (500, ["skipped", "skipped", "open"]),
    (5000, ["open", "skipped", "waiting"]),
    (30000, ["open", "waiting", "waiting"]),
])
def test_a_step_whose_condition_is_false_is_skipped_at_submission(session, make, amount, expected):
    purchase = service(session, make, steps=PURCHASE)
    request = make.request(purchase, make.user(), {"amount": amount})
    assert states(make, request) == expected


def test_a_skipped_step_says_why_on_the_timeline(session, make):
    purchase = service(session, make, steps=PURCHASE)
    request = make.request(purchase, make.user(), {"amount": 5000})
    skipped = session.exec(select(TimelineEvent).where(
        TimelineEvent.request_id == request.id, TimelineEvent.kind == "task_skipped")).all()
    assert [event.note for event in skipped] == [
        "Not needed: only for requests where Amount is more than 25,000."]


def test_the_next_stage_opens_past_skipped_steps(session, make):
    purchase = service(session, make, steps=PURCHASE)
    dana = make.user(teams=("approvers",))
    request = make.request(purchase, make.user(), {"amount": 5000})
    approve_task(session, task=make.tasks(request)[0], by=dana)
    assert states(make, request) == ["approved", "skipped", "open"]


def test_a_request_whose_every_step_is_skipped_is_complete_at_once(session, make):
    only_big = service(session, make, steps=[PURCHASE[1]])
    request = make.request(only_big, make.user(), {"amount": 10})
    assert states(make, request) == ["skipped"]
    assert session.get(ServiceRequest, request.id).state == "completed"


def test_steps_sharing_a_stage_open_together_and_the_next_waits_for_all(session, make):
    onboarding = service(session, make, steps=[
        {"name": "Approve", "team": "approvers", "kind": "approval"},
        {"name": "Laptop", "team": "it", "stage": 2},
        {"name": "Desk", "team": "facilities", "stage": 2},
        {"name": "Welcome", "team": "hr"},
    ])
    worker = make.user(teams=("approvers", "it", "facilities", "hr"))
    request = make.request(onboarding, make.user())
    approve, laptop, desk, _welcome = make.tasks(request)
    assert [t.stage for t in make.tasks(request)] == [1, 2, 2, 3]
    approve_task(session, task=approve, by=worker)
    assert states(make, request) == ["approved", "open", "open", "waiting"]
    complete_task(session, task=laptop, by=worker)
    assert states(make, request) == ["approved", "done", "open", "waiting"]
    complete_task(session, task=desk, by=worker)
    assert states(make, request) == ["approved", "done", "done", "open"]


def test_a_skipped_step_in_a_stage_does_not_hold_the_stage_back(session, make):
    onboarding = service(session, make, steps=[
        {"name": "Laptop", "team": "it"},
        {"name": "Desk", "team": "facilities", "stage": 1, "condition": "remote is false"},
        {"name": "Welcome", "team": "hr"},
    ])
    worker = make.user(teams=("it", "hr"))
    request = make.request(onboarding, make.user(), {"remote": "on"})
    assert states(make, request) == ["open", "skipped", "waiting"]
    complete_task(session, task=make.tasks(request)[0], by=worker)
    assert states(make, request) == ["done", "skipped", "open"]


def test_stages_are_numbered_from_the_file_or_one_after_the_step_before(session):
    definition = parse_service({
        "slug": "s", "name": "S", "category": "C", "steps": [
            {"name": "a", "team": "t"}, {"name": "b", "team": "t", "stage": 4},
            {"name": "c", "team": "t", "stage": 4}, {"name": "d", "team": "t"}],
    })
    assert definition.stages() == [1, 4, 4, 5]
    flexible = parse_service({"slug": "s", "name": "S", "category": "C",
                              "ordering": "flexible",
                              "steps": [{"name": "a", "team": "t"}, {"name": "b", "team": "t"}]})
    assert flexible.stages() == [1, 1]


@pytest.mark.parametrize("steps, ordering, problem", [
    ([{"name": "a", "team": "t", "stage": 2}, {"name": "b", "team": "t", "stage": 1}],
     "enforced", "steps.1.stage: stage 1 comes after stage 2 of the step before"),
    ([{"name": "a", "team": "t", "stage": 1}], "flexible",
     "steps.0.stage: stages apply to enforced ordering only"),
    ([{"name": "a", "team": "t", "condition": "amount >"}], "enforced",
     "steps.0.condition: the condition ends too early"),
    ([{"name": "a", "team": "t", "condition": "size > 3"}], "enforced",
     "steps.0.condition: there is no field 'size' to test here"),
    ([{"name": "a", "team": "t", "condition": 'amount == "x"'}], "enforced",
     "steps.0.condition: 'amount' is a number field: compare it with a number"),
    ([{"name": "a", "team": "t", "target_hours": 4, "target_business_days": 1}], "enforced",
     "steps.0.target_hours: give either 'target_hours' or 'target_business_days', not both"),
    ([{"name": "a", "team": "t", "target_hours": 0}], "enforced",
     "steps.0.target_hours: Input should be greater than 0"),
])
def test_stage_condition_and_target_problems_name_their_key(steps, ordering, problem):
    with pytest.raises(DefinitionError) as error:
        parse_service({"slug": "s", "name": "S", "category": "C", "ordering": ordering,
                       "fields": [{"key": "amount", "label": "A", "type": "number"}],
                       "steps": steps})
    assert any(p.startswith(problem) for p in error.value.problems), error.value.problems


def test_every_cross_field_problem_is_reported_at_once():
    with pytest.raises(DefinitionError) as error:
        parse_service({"slug": "s", "name": "S", "category": "C", "fields": [
            {"key": "a", "label": "A", "type": "number", "show_if": "b > 1"},
            {"key": "a", "label": "A again", "type": "text"},
        ], "steps": [
            {"name": "x", "team": "t", "condition": "nope > 1"},
            {"name": "x", "team": "t"},
        ]})
    assert [p.split(":")[0] for p in error.value.problems] == [
        "fields.0.show_if", "fields.1.key", "steps.0.condition", "steps.1.name"]


def test_a_field_can_only_depend_on_answers_above_it():
    with pytest.raises(DefinitionError) as error:
        parse_service({"slug": "s", "name": "S", "category": "C", "fields": [
            {"key": "size", "label": "Size", "type": "text", "show_if": "monitor is true"},
            {"key": "monitor", "label": "Monitor", "type": "checkbox"},
        ], "steps": [{"name": "x", "team": "t"}]})
    assert error.value.problems == [
        "fields.0.show_if: there is no field 'monitor' to test here (fields: none)"]


CONDITIONAL_FORM = [
    {"key": "equipment", "label": "Equipment", "type": "multi_select",
     "options": ["Laptop", "Monitor"]},
    {"key": "monitor_size", "label": "Monitor size", "type": "select", "required": True,
     "options": ["24", "27"], "show_if": 'equipment includes "Monitor"'},
]


def test_a_hidden_field_is_never_required_and_its_stray_value_is_dropped(session, make):
    form = service(session, make, steps=[{"name": "x", "team": "it"}], fields=CONDITIONAL_FORM)
    request = make.request(form, make.user(), {"equipment": ["Laptop"], "monitor_size": "27"})
    assert request.answers == {"equipment": ["Laptop"]}


def test_a_shown_field_is_checked_like_any_other(session, make):
    form = service(session, make, steps=[{"name": "x", "team": "it"}], fields=CONDITIONAL_FORM)
    with pytest.raises(IntakeInvalid) as invalid:
        make.request(form, make.user(), {"equipment": ["Monitor"]})
    assert invalid.value.errors == {"monitor_size": "This answer is required."}
    request = make.request(form, make.user(), {"equipment": ["Monitor"], "monitor_size": "24"})
    assert request.answers == {"equipment": ["Monitor"], "monitor_size": "24"}


# --- targets -------------------------------------------------------------------------------

FRIDAY = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("start, days, expected", [
    (FRIDAY, 1, datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),   # Monday
    (FRIDAY, 5, datetime(2026, 11, 27, 15, 0, tzinfo=UTC)),   # next Friday
    (FRIDAY + timedelta(days=1), 1, datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),  # Sat → Mon
    (datetime(2026, 11, 16, 9, 0, tzinfo=UTC), 3, datetime(2026, 11, 19, 9, 0, tzinfo=UTC)),
])
def test_business_days_skip_weekends(start, days, expected):
    assert add_business_days(start, days) == expected


def test_a_task_gets_its_due_time_when_it_opens(session, make):
    timed = service(session, make, steps=[
        {"name": "Approve", "team": "approvers", "kind": "approval", "target_hours": 4},
        {"name": "Do", "team": "it", "target_business_days": 1},
        {"name": "Close", "team": "it"},
    ])
    dana = make.user(teams=("approvers",))
    with frozen_at(FRIDAY):
        request = make.request(timed, make.user())
    approve, do, close = make.tasks(request)
    assert approve.due_at == FRIDAY + timedelta(hours=4)
    assert do.due_at is None and close.due_at is None
    with frozen_at(FRIDAY + timedelta(hours=2)):
        approve_task(session, task=approve, by=dana)
    assert do.due_at == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert close.due_at is None


def test_overdue_is_a_due_time_in_the_past(session):
    step = parse_service({"slug": "s", "name": "S", "category": "C",
                          "steps": [{"name": "x", "team": "t", "target_hours": 1}]}).steps[0]
    due = due_time(FRIDAY, step)
    assert due == FRIDAY + timedelta(hours=1)
    assert not is_overdue(due, FRIDAY + timedelta(minutes=59))
    assert is_overdue(due, FRIDAY + timedelta(minutes=61))
    assert not is_overdue(None, FRIDAY)


def test_timestamps_come_back_from_the_database_as_aware_utc(session, make):
    timed = service(session, make, steps=[{"name": "x", "team": "it", "target_hours": 2}])
    request = make.request(timed, make.user())
    session.expire_all()
    task = session.exec(select(type(make.tasks(request)[0])).where(
        col(type(make.tasks(request)[0]).request_id) == request.id)).one()
    assert task.due_at is not None and task.due_at.tzinfo is not None


def test_each_skipped_step_shows_the_reason_written_when_it_was_skipped(session, make):
    """request_detail reads each skipped step's reason with the step (its newest
    task_skipped event with a note); a step without such a note falls back on its
    version's condition, and a step not skipped has none."""
    purchase = service(session, make, steps=PURCHASE)
    request = make.request(purchase, make.user(), {"amount": 500})
    events = session.exec(select(TimelineEvent).where(
        TimelineEvent.request_id == request.id, TimelineEvent.kind == "task_skipped")
        .order_by(col(TimelineEvent.id))).all()
    assert len(events) == 2
    events[0].note = "Not needed: written by hand for the first"
    events[1].note = ""  # none recorded: the condition's words
    session.commit()
    detail = request_detail(session, service_request=request, with_internal_notes=False)
    assert [step.skip_reason for step in detail.steps] == [
        "written by hand for the first", "only for requests where Amount is more than 25,000.",
        None]
