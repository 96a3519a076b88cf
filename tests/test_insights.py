"""The insights' figures on known data (app/reads/insights.py): windows, exact
percentiles by nearest rank, shares within target, the bottleneck, weekly throughput
and open work by age."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, update
from sqlmodel import col, select

from app.reads import step_durations
from app.reads.insights import (
    Window,
    open_work_by_age,
    rank,
    service_figures,
    service_lines,
    team_flows,
    window_of,
)
from app.reads.step_durations import forget_kept, kept_bytes
from app.rules.inputs import InputInvalid
from app.rules.tasks import claim_task
from app.storage.clock import frozen_at
from app.storage.models import (
    RequestLeadTime,
    Service,
    ServiceWeek,
    StepWeek,
    Task,
    TaskDuration,
    User,
)

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TWO_WEEKS = Window(date(2026, 11, 2), date(2026, 11, 16))
HOUR = 3600


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    """Tests roll back and reuse ids: weeks kept for one test must not serve another."""
    forget_kept()
    yield
    forget_kept()


def test_the_last_weeks_end_with_this_one():
    window = window_of(weeks="4", today=date(2026, 11, 4))  # a Wednesday
    assert (window.start, window.end) == (date(2026, 10, 12), date(2026, 11, 9))
    assert len(window.weeks) == 4
    assert len(window_of(today=date(2026, 11, 4)).weeks) == 13  # the default


def test_two_dates_make_the_whole_weeks_they_fall_in():
    window = window_of(start="2026-11-04", end="2026-11-10", today=date(2026, 12, 1))
    assert (window.start, window.end) == (date(2026, 11, 2), date(2026, 11, 16))
    assert window.last_day == date(2026, 11, 15)


@pytest.mark.parametrize("weeks, start, end, message", [
    ("5", "", "", "4, 13 or 52"),
    ("-1", "", "", "4, 13 or 52"),
    ("", "2026-11-04", "", "both dates"),
    ("", "2026-11-04", "2026-11-01", "comes before"),
    ("", "2026-13-04", "2026-11-01", "YYYY-MM-DD"),
    ("", "2024-01-01", "2026-01-01", "at most 52"),
    ("", "0001-01-01", "9999-12-31", "at most 52"),
    ("", "9999-12-20", "9999-12-31", "before the last week of year 9999"),
])
def test_a_bad_window_is_refused_with_a_reason(weeks, start, end, message):
    with pytest.raises(InputInvalid, match=message):
        window_of(weeks=weeks, start=start, end=end, today=date(2026, 11, 4))


def test_percentiles_are_nearest_ranks():
    assert [rank(1, 0.5), rank(1, 0.9)] == [0, 0]
    assert [rank(3, 0.5), rank(3, 0.9)] == [1, 2]
    assert [rank(10, 0.5), rank(10, 0.9)] == [4, 8]
    assert [rank(11, 0.5), rank(11, 0.9)] == [5, 9]


def test_a_service_shows_its_lead_time_steps_and_bottleneck(session, make):
    service, _requests = make.onboarding_history(MONDAY)
    figures = service_figures(session, service=service, window=TWO_WEEKS)
    lead = figures.lead
    assert (lead.count, lead.median, lead.p90) == (3, 52 * HOUR, 76 * HOUR)
    hr, it, facilities = figures.steps
    assert (hr.finished, hr.waited.median, hr.worked.median) == (3, HOUR, HOUR)
    assert (it.waited.median, it.waited.p90, it.worked.p90) == (48 * HOUR, 72 * HOUR, HOUR)
    assert (facilities.waited.median, facilities.worked.median) == (HOUR, 0)
    assert (hr.within_share, it.within_share, facilities.within_share) == (1.0, 0.0, 1.0)
    assert figures.bottleneck is it
    assert figures.share_of_time(it) == pytest.approx((144 + 3) / (6 + 147 + 3))
    # Filed in the first week; completed two in it, one (76 h later) in the second.
    assert [(w.week, w.submitted, w.completed) for w in figures.weeks] == [
        (date(2026, 11, 2), 3, 3), (date(2026, 11, 9), 0, 0)]


def test_a_window_holds_only_what_finished_in_it(session, make):
    service, _requests = make.onboarding_history(MONDAY)
    later = Window(date(2026, 11, 9), date(2026, 11, 16))
    figures = service_figures(session, service=service, window=later)
    assert figures.lead.count == 0 and figures.lead.median is None
    assert all(step.finished == 0 for step in figures.steps)
    assert figures.bottleneck is None
    lines = {line.service.slug: line for line in service_lines(session, window=TWO_WEEKS)}
    assert (lines["onboarding"].submitted, lines["onboarding"].completed) == (3, 3)


def test_teams_show_what_they_finished_each_week_and_open_work_by_age(session, make):
    service, _requests = make.onboarding_history(MONDAY)
    rita = make.user("Rita")
    for days_ago in (0, 2, 5, 10, 20):
        with frozen_at(MONDAY + timedelta(days=30 - days_ago)):
            make.request(service, rita)
    now = MONDAY + timedelta(days=30, hours=1)
    flows = {flow.team.slug: flow for flow in team_flows(session, window=TWO_WEEKS, now=now)}
    assert flows["it"].finished == [3, 0] and flows["it"].per_week == 1.5
    assert flows["hr"].ages == [1, 1, 1, 1, 1]  # each new request waits at HR
    assert flows["it"].ages == [0, 0, 0, 0, 0]
    assert open_work_by_age(session, now=now, service_id=service.id + 1000) == {}


def _statements_of_service_figures(session, service_id: int, window: Window,
                                   now: datetime | None = None) -> int:
    session.expunge_all()  # nothing read before may spare a statement
    service = session.get(Service, service_id)
    statements: list[str] = []

    def count(*args):  # type: ignore[no-untyped-def]
        statements.append(args[2])
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        service_figures(session, service=service, window=window, now=now)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_a_service_of_many_steps_takes_as_many_statements_as_one_of_one_step(session, make):
    onboarding, _requests = make.onboarding_history(MONDAY)
    desk = make.service(slug="desk", steps=[("it", "task")])
    ivan = session.exec(select(User).where(User.name == "Ivan")).one()
    make.finished_history(desk, make.user("Rita"), ivan, start=MONDAY,
                          waits=[timedelta(hours=n) for n in (5, 1, 4, 2, 3)],
                          worked=timedelta(hours=1))
    one_step = service_figures(session, service=desk, window=TWO_WEEKS)
    assert (one_step.steps[0].waited.median, one_step.steps[0].waited.p90) == (
        3 * HOUR, 5 * HOUR)
    assert (one_step.lead.count, one_step.lead.median, one_step.lead.p90) == (
        5, 4 * HOUR, 6 * HOUR)
    forget_kept()  # a first view of each: their weeks read
    three = _statements_of_service_figures(session, onboarding.id, TWO_WEEKS)
    assert three == _statements_of_service_figures(session, desk.id, TWO_WEEKS)
    assert three <= 5  # the version, step weeks, service weeks, every duration at once
    # Viewed again: the weeks, over, kept in memory.
    assert _statements_of_service_figures(session, desk.id, TWO_WEEKS) == three - 1


def test_open_work_by_age_counts_one_service_apart_and_claimed_tasks_too(session, make):
    desk = make.service(slug="desk", steps=[("hr", "task")])
    badge = make.service(slug="badge", steps=[("hr", "task")])
    hana = make.user("Hana", teams=("hr",))
    rita = make.user("Rita")
    for service, days_ago in ((desk, 0), (desk, 20), (desk, 40), (badge, 2), (badge, 30)):
        with frozen_at(MONDAY - timedelta(days=days_ago)):
            request = make.request(service, rita)
    [task] = make.tasks(request)  # badge's, 30 days old: claimed is still open work
    claim_task(session, task=task, by=hana)
    hr = make.team("hr").id
    now = MONDAY + timedelta(hours=1)
    assert open_work_by_age(session, now=now, service_id=desk.id) == {hr: [1, 0, 0, 0, 2]}
    assert open_work_by_age(session, now=now, service_id=badge.id) == {hr: [0, 1, 0, 0, 1]}
    assert open_work_by_age(session, now=now) == {hr: [1, 1, 0, 0, 3]}


def _desk(session, make, waits: list[int], start: datetime = MONDAY) -> tuple[Service, User]:
    """A one-step service with one finished request per wait (hours), each worked 1 h."""
    desk = make.service(slug="desk", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    make.finished_history(desk, make.user("Rita"), ivan, start=start,
                          waits=[timedelta(hours=n) for n in waits], worked=timedelta(hours=1))
    return desk, ivan


def _nearest_ranks(session, column, *where) -> tuple[int, int]:
    values = sorted(session.exec(select(column).where(*where)).all())
    return values[rank(len(values), 0.5)], values[rank(len(values), 0.9)]


def test_percentiles_are_the_nearest_ranks_of_kept_weeks_and_this_one_together(session, make):
    desk, ivan = _desk(session, make, [7, 1, 9, 3, 5, 11, 6])
    make.finished_history(desk, make.user("Sue"), ivan, start=MONDAY + timedelta(days=7),
                          waits=[timedelta(hours=n) for n in (2, 8, 4, 10)],
                          worked=timedelta(hours=1))
    now = MONDAY + timedelta(days=8)  # the second week of the window is this one
    for _view in ("first", "kept"):
        figures = service_figures(session, service=desk, window=TWO_WEEKS, now=now)
        [step] = figures.steps
        assert step.waited.count == figures.lead.count == 11
        of_desk = col(TaskDuration.service_id) == desk.id
        assert (step.waited.median, step.waited.p90) == _nearest_ranks(
            session, TaskDuration.waited_seconds, of_desk)
        assert (step.worked.median, step.worked.p90) == (HOUR, HOUR)
        assert (figures.lead.median, figures.lead.p90) == _nearest_ranks(
            session, RequestLeadTime.lead_seconds, col(RequestLeadTime.service_id) == desk.id)
        assert (step.waited.median, step.waited.p90) == (6 * HOUR, 10 * HOUR)


def test_this_weeks_tasks_count_at_once_without_reading_the_past_again(session, make):
    desk, ivan = _desk(session, make, [1, 2, 3])
    now = MONDAY + timedelta(days=8)
    service_figures(session, service=desk, window=TWO_WEEKS, now=now)
    kept = _statements_of_service_figures(session, desk.id, TWO_WEEKS, now)
    make.finished_history(desk, make.user("Sue"), ivan, start=MONDAY + timedelta(days=7),
                          waits=[timedelta(hours=10)], worked=timedelta(hours=1))
    figures = service_figures(session, service=desk, window=TWO_WEEKS, now=now)
    [step] = figures.steps
    assert (step.waited.count, step.waited.median, step.waited.p90) == (4, 2 * HOUR, 10 * HOUR)
    assert (figures.lead.count, figures.lead.p90) == (4, 11 * HOUR)
    # One statement more: this week's durations and lead times, the past still kept.
    assert _statements_of_service_figures(session, desk.id, TWO_WEEKS, now) == kept + 1


def test_a_kept_window_is_read_again_when_a_recount_changes_its_sums(session, make):
    desk, _ivan = _desk(session, make, [1, 2, 3, 4, 5])
    now = MONDAY + timedelta(days=8)
    [step] = service_figures(session, service=desk, window=TWO_WEEKS, now=now).steps
    assert (step.waited.median, step.waited.p90) == (3 * HOUR, 5 * HOUR)
    kept = _statements_of_service_figures(session, desk.id, TWO_WEEKS, now)
    # A recount finds the 3-hour wait was 30 hours: the duration, the lead time and the
    # week's sums change together, as app.storage.flow_figures writes them.
    longer = 27 * HOUR
    duration = session.exec(select(TaskDuration).where(
        TaskDuration.service_id == desk.id, TaskDuration.waited_seconds == 3 * HOUR)).one()
    session.execute(update(TaskDuration).where(
        col(TaskDuration.task_id) == duration.task_id).values(waited_seconds=30 * HOUR))
    session.execute(update(StepWeek).where(col(StepWeek.service_id) == desk.id).values(
        waited_seconds=StepWeek.waited_seconds + longer))
    session.execute(update(RequestLeadTime).where(
        col(RequestLeadTime.request_id) == session.get(Task, duration.task_id).request_id
    ).values(
        lead_seconds=RequestLeadTime.lead_seconds + longer))
    session.execute(update(ServiceWeek).where(col(ServiceWeek.service_id) == desk.id).values(
        lead_seconds=ServiceWeek.lead_seconds + longer))
    session.flush()
    # Read again once (the durations and lead times in one statement), then kept.
    assert _statements_of_service_figures(session, desk.id, TWO_WEEKS, now) == kept + 1
    assert _statements_of_service_figures(session, desk.id, TWO_WEEKS, now) == kept
    figures = service_figures(session, service=desk, window=TWO_WEEKS, now=now)
    [step] = figures.steps
    assert (step.waited.median, step.waited.p90) == (4 * HOUR, 30 * HOUR)
    assert (figures.lead.median, figures.lead.p90) == (5 * HOUR, 31 * HOUR)


def test_what_is_kept_stays_within_its_bytes(session, make, monkeypatch):
    service, _requests = make.onboarding_history(MONDAY)
    monkeypatch.setattr(step_durations, "MAX_KEPT_BYTES", 300)  # one step's lists or so
    for _view in ("first", "again"):
        figures = service_figures(session, service=service, window=TWO_WEEKS)
        assert (figures.lead.count, figures.lead.median, figures.lead.p90) == (
            3, 52 * HOUR, 76 * HOUR)
        assert figures.steps[1].waited.p90 == 72 * HOUR
        entries, size = kept_bytes()
        assert 0 < size <= 300 and entries < 4  # 3 steps and the lead times: not all kept
