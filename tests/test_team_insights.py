"""A team's insights read from the stored figures (app.reads.team_insights): exact
nearest-rank percentiles of each step it owns, and as many statements for a team of many
steps as for a team of one."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlmodel import Session

from app.reads.insights import Window
from app.reads.team_insights import team_insights
from app.rules.teams import get_team_by_slug
from app.storage.models import Team

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
TWO_WEEKS = Window(MONDAY.date(), MONDAY.date() + timedelta(days=14))
HOUR = 3600


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
    # The steps, the weekly sums, every percentile at once, the open work by age.
    assert many <= 4
    it = get_team_by_slug(session, "it")
    assert it is not None
    insights = team_insights(session, team=it, window=TWO_WEEKS,
                             now=MONDAY + timedelta(days=20))
    assert len(insights.steps) == 5
    assert [s.waited.median for s in insights.steps if s.service.slug.startswith("desk")] \
        == [HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR]
