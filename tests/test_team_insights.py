"""A team's insights read from the stored figures (app.reads.team_insights): exact
nearest-rank percentiles of each step it owns, and as many statements for a team of many
steps as for a team of one."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.reads.insights import Window
from app.reads.step_durations import forget_kept
from app.reads.team_insights import team_insights
from app.rules.teams import get_team_by_slug
from app.storage.models import Team

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
TWO_WEEKS = Window(MONDAY.date(), MONDAY.date() + timedelta(days=14))
HOUR = 3600


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    """Tests roll back and reuse ids: weeks kept for one test must not serve another."""
    forget_kept()
    yield
    forget_kept()


def _statements(session: Session, team_id: int) -> int:
    session.expunge_all()  # nothing read before may spare a statement
    team = session.get(Team, team_id)
    assert team is not None
    statements: list[str] = []

    def count(*args):  # type: ignore[no-untyped-def]
        statements.append(args[2])
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        team_insights(session, team=team, window=TWO_WEEKS, now=MONDAY + timedelta(days=20))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_each_step_has_exact_nearest_rank_percentiles(session, make):
    desk = make.service(slug="desk", name="Desk", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    make.finished_history(desk, make.user("Rita"), ivan, start=MONDAY,
                          waits=[timedelta(hours=n) for n in (5, 1, 4, 2, 3)],
                          worked=timedelta(minutes=10))
    it = get_team_by_slug(session, "it")
    insights = team_insights(session, team=it, window=TWO_WEEKS,
                             now=MONDAY + timedelta(days=20))
    [step] = insights.steps
    assert (step.service.slug, step.position, step.finished) == ("desk", 0, 5)
    assert (step.waited.median, step.waited.p90) == (3 * HOUR, 5 * HOUR)
    assert (step.worked.median, step.worked.p90) == (600, 600)
    assert step.within_share is None  # no target
    assert insights.finished == [5, 0] and insights.ages == [0, 0, 0, 0, 0]


def test_a_team_of_many_steps_takes_as_many_statements_as_a_team_of_one(session, make):
    make.onboarding_history(MONDAY)  # IT owns one step of onboarding
    ivan = make.user("Ivo", teams=("it",))
    rita = make.user("Rita")
    for n in range(4):  # and four more, each with tasks finished
        service = make.service(slug=f"desk-{n}", steps=[("it", "task")])
        make.finished_history(service, rita, ivan, start=MONDAY,
                              waits=[timedelta(hours=1 + n)], worked=timedelta(hours=1))
    it, hr = get_team_by_slug(session, "it"), get_team_by_slug(session, "hr")
    assert it is not None and hr is not None
    many = _statements(session, it.id)
    assert many == _statements(session, hr.id)
    # The steps, the sums by step and by week, the durations of the weeks that are over
    # and of this week (app.reads.step_durations), the open work by age.
    assert many <= 6
    it = get_team_by_slug(session, "it")
    assert it is not None
    insights = team_insights(session, team=it, window=TWO_WEEKS,
                             now=MONDAY + timedelta(days=20))
    assert len(insights.steps) == 5
    assert [s.waited.median for s in insights.steps if s.service.slug.startswith("desk")] \
        == [HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR]


def test_weeks_that_are_over_are_read_once_and_again_when_their_sums_change(session, make):
    """The weeks before this one are kept in memory (app.reads.step_durations); a page
    then reads only this week's durations, unless the kept weeks' sums have changed."""
    desk = make.service(slug="desk", name="Desk", steps=[("it", "task")])
    ivan = make.user("Ivan", teams=("it",))
    rita = make.user("Rita")
    make.finished_history(desk, rita, ivan, start=MONDAY, waits=[timedelta(hours=2)],
                          worked=timedelta(hours=1))
    it = get_team_by_slug(session, "it")
    assert it is not None
    now = MONDAY + timedelta(days=8)  # the second week of the window is this week

    def waits() -> tuple[int | None, int | None, int]:
        [step] = team_insights(session, team=it, window=TWO_WEEKS, now=now).steps
        return step.waited.median, step.waited.p90, step.finished

    assert waits() == (2 * HOUR, 2 * HOUR, 1)
    read_again = _statements_at(session, it.id, now)
    # This week's tasks are read at every page.
    make.finished_history(desk, rita, ivan, start=MONDAY + timedelta(days=7, hours=1),
                          waits=[timedelta(hours=6)], worked=timedelta(hours=1))
    assert waits() == (2 * HOUR, 6 * HOUR, 2)
    assert _statements_at(session, it.id, now) == read_again + 1  # this week's, too
    # A task finished in a week that is over (as a recount would write it): read again.
    make.finished_history(desk, rita, ivan, start=MONDAY + timedelta(hours=1),
                          waits=[timedelta(hours=1), timedelta(hours=3)],
                          worked=timedelta(hours=1))
    assert waits() == (2 * HOUR, 6 * HOUR, 4)
    [step] = team_insights(session, team=it, window=TWO_WEEKS, now=now).steps
    assert (step.worked.median, step.before.count, step.this_week) == (HOUR, 3, 1)


def _statements_at(session: Session, team_id: int, now: datetime) -> int:
    team = session.get(Team, team_id)
    statements: list[str] = []

    def count(*args):  # type: ignore[no-untyped-def]
        statements.append(args[2])
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        team_insights(session, team=team, window=TWO_WEEKS, now=now)  # type: ignore[arg-type]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)
