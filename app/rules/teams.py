"""Teams and membership: who belongs where, and the admin rules that change it.

The admin rules (create_team, rename_team, add_team_member, remove_team_member,
set_team_lead) are one transaction each, write one admin audit entry with the change, and
lock the team row first so that two admins changing one team's members are serialized.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.rules.audit import record_admin_action
from app.rules.errors import FormInvalid, InvalidTransition
from app.rules.inputs import collapsed_line
from app.rules.tasks import return_claims_to_queue
from app.storage.db import one_transaction
from app.storage.directory_cache import directory_kept
from app.storage.models import (
    Membership,
    Task,
    Team,
    User,
    request_number,
)

# The catalog files' slug rule, bounded by the column's 60 characters.
TEAM_SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
MAX_TEAM_NAME = 120


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


def kept_team_ids_by_slug(session: Session) -> dict[str, int]:
    """Every team's id by its slug, from memory while the directory version the session
    read is current (app.storage.directory_cache). Never to be changed by the caller."""
    return directory_kept(session, ("team ids by slug",), lambda: {
        slug: team_id for team_id, slug in team_slugs_by_id(session).items()})


def active_members(session: Session, team_id: int) -> list[User]:
    return list(session.exec(
        select(User).join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.team_id == team_id, User.is_active == True)  # noqa: E712
        .order_by(User.name)
    ))


class Member(NamedTuple):
    id: int
    name: str
    email: str


def active_members_of(session: Session, team_ids: Collection[int],
                      at_most: int | None = None) -> dict[int, list[Member]]:
    """team id -> its active members by name, in one query, as plain tuples (for the
    "Hand to" suggestions of a page of tasks). `at_most`: only the first ones, in all
    (for one row, which only asks whether anyone but the holder could take it)."""
    members: dict[int, list[Member]] = {team_id: [] for team_id in team_ids}
    if not members:
        return members
    rows = session.exec(
        select(Membership.team_id, User.id, User.name, User.email)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(col(Membership.team_id).in_(members), User.is_active == True)  # noqa: E712
        .order_by(col(User.name), col(User.id)).limit(at_most)
    )
    for team_id, user_id, name, email in rows:
        members[team_id].append(Member(user_id, name, email))
    return members


def add_member(session: Session, *, team: Team, user: User, lead: bool = False) -> None:
    """Adds (or updates) a membership; the caller commits."""
    membership = session.get(Membership, (team.id, user.id))
    if membership is None:
        session.add(Membership(team_id=team.id, user_id=user.id, is_lead=lead))
    else:
        membership.is_lead = lead


# --- what the admin pages show ----------------------------------------------------------


@dataclass
class TeamLine:
    team: Team
    members: int = 0
    leads: list[str] = field(default_factory=list)


def team_lines(session: Session) -> list[TeamLine]:
    """Every team with its number of active members and the names of its active leads."""
    lines = {team.id: TeamLine(team) for team in session.exec(
        select(Team).order_by(Team.name, col(Team.id))
    )}
    active = (select(Membership.team_id, User.name, Membership.is_lead)
              .join(User, col(User.id) == Membership.user_id)
              .where(User.is_active == True)  # noqa: E712
              .order_by(User.name))
    for team_id, name, is_lead in session.exec(active):
        lines[team_id].members += 1
        if is_lead:
            lines[team_id].leads.append(name)
    return list(lines.values())


def members_of(session: Session, team: Team) -> list[tuple[User, bool]]:
    """Every member, deactivated ones too, with their lead flag; by name."""
    return [(user, is_lead) for user, is_lead in session.exec(
        select(User, Membership.is_lead).join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.team_id == team.id).order_by(User.name, col(User.id))
    )]


def memberships_by_person(
    session: Session, person_ids: list[int]
) -> dict[int, list[tuple[Team, bool]]]:
    """The teams of each of these people, with their lead flag; by team name."""
    found: dict[int, list[tuple[Team, bool]]] = {person_id: [] for person_id in person_ids}
    if person_ids:
        for user_id, team, is_lead in session.exec(
            select(Membership.user_id, Team, Membership.is_lead)
            .join(Team, col(Team.id) == Membership.team_id)
            .where(col(Membership.user_id).in_(person_ids)).order_by(Team.name)
        ):
            found[user_id].append((team, is_lead))
    return found


# --- claims that must go back to the queue ----------------------------------------------


def describe_returned(tasks: list[Task]) -> str:
    if not tasks:
        return "No claimed tasks to return."
    numbers = ", ".join(request_number(number) for number in sorted({t.request_id for t in tasks}))
    if len(tasks) == 1:
        return f"Returned 1 claimed task to its team queue: {numbers}."
    return f"Returned {len(tasks)} claimed tasks to their team queues: {numbers}."


# --- the admin rules --------------------------------------------------------------------


def _check_name(name: str) -> str | None:
    if not name:
        return "Enter the team's name."
    if len(name) > MAX_TEAM_NAME:
        return f"Use at most {MAX_TEAM_NAME} characters."
    return None


def _lock_team(session: Session, team: Team) -> Team:
    return session.exec(
        select(Team).where(Team.id == team.id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).one()


def _subject(team: Team) -> str:
    return f"{team.name} ({team.slug})"


def _person(person: User) -> str:
    return f"{person.name} <{person.email}>"


@one_transaction
def create_team(session: Session, *, slug: str, name: str, by: User) -> Team:
    slug, name = slug.strip(), collapsed_line(name)
    errors: dict[str, str] = {}
    if not slug:
        errors["slug"] = "Enter a slug: it names the team in addresses and catalog files."
    elif not TEAM_SLUG_PATTERN.match(slug):
        errors["slug"] = ("Use lower-case letters, digits and hyphens, starting with a "
                          "letter or digit, at most 60 characters (e.g. “it-support”).")
    elif (taken := get_team_by_slug(session, slug)) is not None:
        errors["slug"] = f"The slug “{slug}” is already the team {taken.name}."
    if problem := _check_name(name):
        errors["name"] = problem
    if errors:
        raise FormInvalid(errors)
    team = Team(slug=slug, name=name)
    session.add(team)
    try:
        session.flush()
    except IntegrityError:
        # Another admin created it a moment ago.
        raise FormInvalid({"slug": f"The slug “{slug}” is already taken."}) from None
    record_admin_action(session, by=by, action="team.created", subject=_subject(team),
                        detail=f"Slug “{slug}”, name “{name}”.")
    session.commit()
    return team


@one_transaction
def rename_team(session: Session, *, team: Team, name: str, by: User) -> Team:
    """Renames the team; the slug stays (catalog files and addresses use it). An
    unchanged name changes nothing and writes nothing to the log."""
    name = collapsed_line(name)
    if problem := _check_name(name):
        raise FormInvalid({"name": problem})
    team = _lock_team(session, team)
    old = team.name
    if name == old:
        session.commit()
        return team
    team.name = name
    record_admin_action(session, by=by, action="team.renamed", subject=_subject(team),
                        detail=f"From “{old}” to “{name}”.")
    session.commit()
    return team


@one_transaction
def add_team_member(
    session: Session, *, team: Team, person: User, lead: bool = False, by: User
) -> Membership:
    team = _lock_team(session, team)
    person = session.get(User, person.id, populate_existing=True) or person
    if not person.is_active:
        raise FormInvalid({"person": f"{person.name} is deactivated: reactivate them first."})
    if session.get(Membership, (team.id, person.id), populate_existing=True) is not None:
        raise FormInvalid({"person": f"{person.name} is already a member of {team.name}."})
    membership = Membership(team_id=team.id, user_id=person.id, is_lead=lead)
    session.add(membership)
    record_admin_action(session, by=by, action="member.added", subject=_subject(team),
                        detail=_person(person) + (", as a lead." if lead else "."))
    session.commit()
    return membership


def _membership(
    session: Session, team: Team, person: User, *, lock: bool = False
) -> Membership:
    membership = session.get(Membership, (team.id, person.id), populate_existing=True,
                             with_for_update=lock)
    if membership is None:
        raise InvalidTransition(f"{person.name} is not a member of {team.name}.")
    return membership


@one_transaction
def remove_team_member(session: Session, *, team: Team, person: User, by: User) -> list[Task]:
    """Removes the member. The tasks of this team they had claimed go back to its queue:
    they may no longer act on them, and the team should see them as unclaimed."""
    team = _lock_team(session, team)
    # FOR UPDATE: waits for a claim that relies on this membership (it holds the row FOR
    # SHARE, see policy.is_active_member) to commit, so that the claim is among those returned
    # below; a claim that comes after finds no membership.
    session.delete(_membership(session, team, person, lock=True))
    released = return_claims_to_queue(
        session, person=person, by=by, team=team,
        note=f"Returned to the queue: {person.name} left {team.name}",
    )
    record_admin_action(session, by=by, action="member.removed", subject=_subject(team),
                        detail=f"{_person(person)}. {describe_returned(released)}")
    session.commit()
    return released


@one_transaction
def set_team_lead(
    session: Session, *, team: Team, person: User, lead: bool, by: User
) -> Membership:
    team = _lock_team(session, team)
    membership = _membership(session, team, person)
    if membership.is_lead == lead:
        raise InvalidTransition(
            f"{person.name} is already a lead of {team.name}." if lead
            else f"{person.name} is not a lead of {team.name}."
        )
    membership.is_lead = lead
    record_admin_action(
        session, by=by, action="lead.set" if lead else "lead.unset", subject=_subject(team),
        detail=f"{_person(person)} is {'now' if lead else 'no longer'} a lead.",
    )
    session.commit()
    return membership

