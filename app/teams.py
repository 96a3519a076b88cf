"""Teams and membership: who belongs where."""

from sqlmodel import Session, col, select

from app.models import Membership, Team, User


def is_member(session: Session, *, user_id: int | None, team_id: int) -> bool:
    return session.get(Membership, (team_id, user_id)) is not None


def teams_of(session: Session, user: User) -> list[Team]:
    return list(session.exec(
        select(Team).join(Membership, col(Membership.team_id) == Team.id)
        .where(Membership.user_id == user.id).order_by(Team.name)
    ))


def get_team_by_slug(session: Session, slug: str) -> Team | None:
    return session.exec(select(Team).where(Team.slug == slug)).first()


def team_slugs_by_id(session: Session) -> dict[int, str]:
    return {team_id: slug for team_id, slug in session.exec(select(Team.id, Team.slug))}


def active_members(session: Session, team_id: int) -> list[User]:
    return list(session.exec(
        select(User).join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.team_id == team_id, User.is_active == True)  # noqa: E712
        .order_by(User.name)
    ))


def add_member(session: Session, *, team: Team, user: User, lead: bool = False) -> None:
    """Adds (or updates) a membership; the caller commits."""
    membership = session.get(Membership, (team.id, user.id))
    if membership is None:
        session.add(Membership(team_id=team.id, user_id=user.id, is_lead=lead))
    else:
        membership.is_lead = lead
