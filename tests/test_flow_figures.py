"""The insights' figures (app/storage/flow_figures.py): after every rule, in its
transaction, they say exactly what a recount of the tasks, their claims and the requests
says; and the durations are the ones the clock saw."""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.rules.errors import AlreadyClaimed
from app.rules.requests import cancel_request
from app.rules.tasks import (
    approve_task,
    claim_task,
    complete_task,
    hand_task,
    reject_task,
    release_task,
)
from app.storage import flow_figures
from app.storage.clock import frozen_at

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def agree(session) -> flow_figures.Figures:  # type: ignore[no-untyped-def]
    history = flow_figures.from_history(session)
    assert flow_figures.stored(session) == history
    return history


def test_figures_follow_every_rule(session, make):  # type: ignore[no-untyped-def]
    laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "approval"),
                                                ("it", "task")], target_hours=4)
    ivan = make.user("Ivan", teams=("it",))
    iris = make.user("Iris", teams=("it",))
    hana = make.user("Hana", teams=("hr",))
    rita = make.user("Rita")
    assert agree(session) == flow_figures.Figures()

    with frozen_at(MONDAY):
        first = make.request(laptop, rita)
        second = make.request(laptop, rita)
        third = make.request(laptop, rita)
    assert agree(session).service_weeks == {(laptop.id, date(2026, 11, 2)): (3, 0, 0)}

    with frozen_at(MONDAY + timedelta(hours=1)):
        claim_task(session, task=make.tasks(first)[0], by=ivan)
    agree(session)
    with frozen_at(MONDAY + timedelta(hours=2)):
        hand_task(session, task=make.tasks(first)[0], by=ivan, to=iris)
    agree(session)
    with frozen_at(MONDAY + timedelta(hours=3)):
        release_task(session, task=make.tasks(first)[0], by=iris)
    agree(session)
    with frozen_at(MONDAY + timedelta(hours=5)):
        claim_task(session, task=make.tasks(first)[0], by=ivan)
    with pytest.raises(AlreadyClaimed):  # a refused rule changes no figure
        claim_task(session, task=make.tasks(first)[0], by=iris)
    with frozen_at(MONDAY + timedelta(hours=6)):
        complete_task(session, task=make.tasks(first)[0], by=ivan)  # after its 4 h target
    figures = agree(session)
    # Waited until the last claim (released and claimed again), worked from it.
    assert figures.durations[make.tasks(first)[0].id] == (
        laptop.id, 0, make.team("it").id, MONDAY + timedelta(hours=6), 5 * 3600, 3600, False)

    with frozen_at(MONDAY + timedelta(days=7, hours=1)):
        approve_task(session, task=make.tasks(first)[1], by=hana)  # claimed on the way
    agree(session)
    with frozen_at(MONDAY + timedelta(days=7, hours=3)):
        complete_task(session, task=make.tasks(first)[2], by=iris)  # request completed
    figures = agree(session)
    assert figures.durations[make.tasks(first)[1].id][4:] == (3600 * 19 + 3600 * 24 * 6, 0,
                                                               False)
    assert figures.durations[make.tasks(first)[2].id][4:] == (2 * 3600, 0, True)
    assert figures.lead_times[first.id] == (laptop.id, MONDAY + timedelta(days=7, hours=3),
                                            (7 * 24 + 3) * 3600)
    assert figures.service_weeks[(laptop.id, date(2026, 11, 9))] == (0, 1, (7 * 24 + 3) * 3600)

    complete_task(session, task=make.tasks(second)[0], by=ivan)
    reject_task(session, task=make.tasks(second)[1], by=hana, reason="No budget")
    figures = agree(session)
    assert make.tasks(second)[1].id in figures.durations  # a rejection was decided
    assert second.id not in figures.lead_times  # but the request never completed

    claim_task(session, task=make.tasks(third)[0], by=ivan)
    cancel_request(session, service_request=third, by=rita, reason="No longer needed")
    figures = agree(session)
    assert make.tasks(third)[0].id not in figures.durations  # cancelled: never finished


def test_recount_rebuilds_figures_that_drifted(session, make):  # type: ignore[no-untyped-def]
    laptop = make.service(slug="laptop", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    request = make.request(laptop, make.user("Rita"))
    complete_task(session, task=make.tasks(request)[0], by=ivan)
    right = agree(session)
    session.execute(flow_figures.delete(flow_figures.StepWeek))
    assert flow_figures.stored(session) != right
    flow_figures.recount(session)
    session.commit()
    assert agree(session) == right


def test_a_week_is_named_by_its_monday_in_utc() -> None:
    assert flow_figures.week_of(datetime(2026, 11, 8, 23, 59, tzinfo=UTC)) == date(2026, 11, 2)
    assert flow_figures.week_of(datetime(2026, 11, 9, 0, 0, tzinfo=UTC)) == date(2026, 11, 9)


def test_skipped_steps_have_no_durations_and_a_request_skipped_through_completes(
        session, make):  # type: ignore[no-untyped-def]
    from app.format.definitions import parse_service
    from app.rules.catalog import save_service

    make.team("it")
    make.team("hr")
    service, _version = save_service(session, definition=parse_service({
        "slug": "conditional", "name": "Conditional", "category": "General",
        "fields": [{"key": "summary", "label": "Summary", "type": "text", "required": True}],
        "steps": [
            {"name": "Only for help", "team": "it", "condition": 'summary == "Help"'},
            {"name": "Never", "team": "hr", "condition": 'summary == "Never"'},
        ],
    }))
    session.commit()
    rita = make.user("Rita")
    with frozen_at(MONDAY):
        skipped_through = make.request(service, rita, {"summary": "Other"})
        worked = make.request(service, rita, {"summary": "Help"})
    figures = agree(session)
    assert figures.lead_times == {skipped_through.id: (service.id, MONDAY, 0)}
    with frozen_at(MONDAY + timedelta(hours=2)):
        complete_task(session, task=make.tasks(worked)[0], by=make.user("Ivan", teams=("it",)))
    figures = agree(session)
    assert set(figures.durations) == {make.tasks(worked)[0].id}  # the skipped one has none
    assert figures.lead_times[worked.id][2] == 2 * 3600
    assert figures.service_weeks == {(service.id, date(2026, 11, 2)): (2, 2, 2 * 3600)}


def _claim_reads(session, rule) -> int:  # type: ignore[no-untyped-def]
    """How many statements reading last claims `rule()` runs."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "max(timeline_event.created_at)" in statement:
            seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        rule()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_task_claimed_in_the_transaction_that_finishes_it_needs_no_read_of_its_claim(
        session, make):  # type: ignore[no-untyped-def]
    laptop = make.service(slug="laptop", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    rita = make.user("Rita")
    with frozen_at(MONDAY):
        on_the_way, claimed_before = make.request(laptop, rita), make.request(laptop, rita)
    with frozen_at(MONDAY + timedelta(hours=1)):
        claim_task(session, task=make.tasks(claimed_before)[0], by=ivan)
    assert flow_figures._CLAIMS not in session.info  # noted claims end with their commit
    with frozen_at(MONDAY + timedelta(hours=3)):
        assert _claim_reads(session, lambda: complete_task(
            session, task=make.tasks(on_the_way)[0], by=ivan)) == 0
        assert _claim_reads(session, lambda: complete_task(
            session, task=make.tasks(claimed_before)[0], by=ivan)) == 1
    figures = agree(session)
    assert figures.durations[make.tasks(on_the_way)[0].id][4:6] == (3 * 3600, 0)
    assert figures.durations[make.tasks(claimed_before)[0].id][4:6] == (3600, 2 * 3600)


def test_claims_noted_in_a_transaction_rolled_back_are_forgotten(
        session, make):  # type: ignore[no-untyped-def]
    from app.storage.models import EventKind, TimelineEvent

    laptop = make.service(slug="laptop", steps=[("it", "task")])
    request = make.request(laptop, make.user("Rita"))
    task = make.tasks(request)[0]
    session.add(TimelineEvent(request_id=request.id, task_id=task.id, kind=EventKind.claimed,
                              created_at=MONDAY))
    session.flush()
    assert session.info[flow_figures._CLAIMS] == {task.id: MONDAY}
    session.rollback()
    assert flow_figures._CLAIMS not in session.info


def test_a_finished_task_writes_its_figures_in_one_statement_on_postgresql(
        session, make):  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    laptop = make.service(slug="laptop", steps=[("it", "task"), ("it", "task")])
    request = make.request(laptop, make.user("Rita"))
    writes: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith(("INSERT", "WITH")) and (
                "step_week" in statement or "task_duration" in statement):
            writes.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        complete_task(session, task=make.tasks(request)[0], by=make.user("Ivan", teams=("it",)))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The duration row rides in the step week's upsert there; SQLite takes one each.
    assert len(writes) == (1 if engine.dialect.name == "postgresql" else 2)
    agree(session)
