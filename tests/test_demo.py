"""The demo's story (issue 13 item 7): twelve weeks of history in which onboarding's IT
step is plainly the bottleneck the insights page names, made once."""

from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.demo import (
    BOTTLENECK_SERVICE,
    BOTTLENECK_STEP,
    DEMO_PEOPLE,
    HISTORY_WEEKS,
    seed_demo,
    seed_people,
)
from app.reads.insights import service_figures, window_of
from app.rules.catalog import get_service_by_slug, import_catalog
from app.storage.clock import utcnow
from app.storage.models import Membership, ServiceRequest, Task, Team, User, is_queued

SERVICES = Path(__file__).resolve().parent.parent / "services"


def test_the_demo_shows_onboarding_held_up_at_its_it_step_over_twelve_weeks(
    session: Session, attachments_dir: Path
) -> None:
    assert seed_demo(session, services_dir=SERVICES, attachments_dir=attachments_dir) > 60
    service = get_service_by_slug(session, BOTTLENECK_SERVICE)
    assert service is not None
    window = window_of(weeks="13", today=utcnow().date())
    figures = service_figures(session, service=service, window=window)

    bottleneck = figures.bottleneck
    assert bottleneck is not None and bottleneck.name == BOTTLENECK_STEP
    assert bottleneck.waited_total > bottleneck.worked_total  # it waits in the queue
    assert figures.share_of_time(bottleneck) > 0.5
    others = [step for step in figures.steps if step is not bottleneck and step.finished]
    assert others and all(
        bottleneck.waited.median > 4 * step.waited.median  # type: ignore[operator]
        for step in others)
    # Throughput to draw: completions in (nearly) every week of the history.
    weeks_with_completions = [week for week in figures.weeks if week.completed]
    assert len(weeks_with_completions) >= HISTORY_WEEKS - 2
    assert figures.lead.count >= 2 * (HISTORY_WEEKS - 2)
    # The latest onboardings still wait there: the list behind the bottleneck has rows.
    waiting = session.exec(select(func.count()).select_from(Task).where(
        col(Task.service_id) == service.id, col(Task.position) == bottleneck.position,
        is_queued())).one()
    assert waiting >= 1


def test_running_the_demo_again_adds_nothing(session: Session, attachments_dir: Path) -> None:
    made = seed_demo(session, services_dir=SERVICES, attachments_dir=attachments_dir)
    count = session.exec(select(func.count()).select_from(ServiceRequest)).one()
    assert count == made

    assert seed_demo(session, services_dir=SERVICES, attachments_dir=attachments_dir) == 0
    assert session.exec(select(func.count()).select_from(ServiceRequest)).one() == count


def test_each_demo_team_has_one_lead_and_ivan_leads_it(session: Session) -> None:
    """A lead's queue rows carry an Assign box: with everyone a lead, every row showed it
    to everyone. One lead a team (its first demo person), Ivan for IT (the accessibility
    check looks at a lead's queue as him), not Iris; running the demo again keeps it so."""
    import_catalog(session, SERVICES)
    staffed = {slug for person in DEMO_PEOPLE for slug in person.teams}
    for _ in range(2):
        seed_people(session)
        leads = session.exec(
            select(Team.slug, User.email).join(Membership, col(Membership.team_id) == Team.id)
            .join(User, col(User.id) == Membership.user_id)
            .where(col(Membership.is_lead))).all()
        assert sorted(slug for slug, _ in leads) == sorted(staffed)
        assert ("it", "ivan@example.com") in leads
        assert ("it", "iris@example.com") not in leads
