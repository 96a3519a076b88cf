"""People: creating accounts, finding someone by name or e-mail, and the admin rules on
people (roles, deactivation).

The admin rules (add_person, grant_role, revoke_role, deactivate_person,
reactivate_person) are one transaction each and write one admin audit entry with the
change. Those that change a person lock that person's row and the acting admin's, in id
order, and check that the admin still is one: two admins revoking each other at the same
moment must not leave Baton without any.
"""

from dataclasses import dataclass

from sqlalchemy import func, or_, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.rules.api_tokens import end_tokens_of
from app.rules.audit import record_admin_action
from app.rules.directory import active_people_meant, people_to_pick
from app.rules.errors import DomainError, FormInvalid, InvalidTransition, NotAllowed
from app.rules.inputs import (
    MAX_NAME_LENGTH,
    InputInvalid,
    TooLong,
    collapsed_line,
    is_email,
    parse_person,
    parse_time_zone,
)
from app.rules.policy import may_administer
from app.rules.sign_in import hash_password
from app.rules.tasks import return_claims_to_queue
from app.rules.teams import describe_returned, memberships_by_person
from app.storage.db import one_transaction
from app.storage.models import LoginSession, Task, TaskState, Team, User, utcnow

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # what the sign-in form accepts
# The roles an admin grants and revokes, with the words that name someone who has one.
ROLES = {"manager": "a manager", "admin": "an admin"}


class PersonExists(ValueError):
    pass


class SelfLockout(DomainError):
    """An admin tried to lock themselves out (deactivate themselves, drop their admin
    rights): another admin must do it, so Baton always keeps one who can undo it."""


def create_person(
    session: Session, *, email: str, name: str, password: str,
    manager: bool = False, admin: bool = False,
) -> User:
    """Creates the account; the caller commits."""
    email = email.strip().lower()
    if session.exec(select(User).where(User.email == email)).first():
        raise PersonExists(f"There is already an account for {email}.")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password),
                is_manager=manager, is_admin=admin)
    session.add(user)
    session.flush()
    return user


def pick_active_person(session: Session, text: str) -> User:
    """The active person meant by what an admin typed: "Name <e-mail>" (what the picker
    suggests), an e-mail address, or a full name that exactly one active person has."""
    try:
        typed = parse_person(text)
    except TooLong:
        raise FormInvalid({"person": "No active person of Baton matches that."}) from None
    if typed is None:
        raise FormInvalid({"person": "Type a name or e-mail and pick the person."})
    meant = active_people_meant(session, typed)
    if len(meant) > 1:
        raise FormInvalid({"person": "Several people have that name: use the e-mail."})
    if not meant:
        raise FormInvalid({"person": people_to_pick(session, text) or (
            "No active person of Baton matches: type part of a name or e-mail and pick "
            "from the suggestions.")})
    return meant[0]


# --- what the admin pages show ----------------------------------------------------------


@dataclass
class PersonLine:
    person: User
    teams: list[tuple[Team, bool]]


@dataclass
class PeoplePage:
    lines: list[PersonLine]
    next_after: int | None


def list_people(
    session: Session, *, search: str = "", after: int | None = None, limit: int = 50
) -> PeoplePage:
    """Everyone, deactivated people too, by name; keyset-paginated after a person's id.
    `search` matches part of a name or e-mail, in any case."""
    query = select(User)
    text = collapsed_line(search).lower()
    if text:
        query = query.where(or_(func.lower(User.name).contains(text, autoescape=True),
                                col(User.email).contains(text, autoescape=True)))
    last = session.get(User, after) if after else None
    if last is not None:
        query = query.where(tuple_(col(User.name), col(User.id)) > (last.name, last.id))
    people = list(session.exec(query.order_by(User.name, col(User.id)).limit(limit + 1)))
    teams = memberships_by_person(session, [person.id for person in people[:limit]])
    return PeoplePage(
        lines=[PersonLine(person, teams[person.id]) for person in people[:limit]],
        next_after=people[limit - 1].id if len(people) > limit else None,
    )


def claimed_tasks_of(session: Session, person: User) -> int:
    return session.exec(
        select(func.count()).select_from(Task)
        .where(Task.assignee_id == person.id, Task.state == TaskState.claimed)
    ).one()


# --- the admin rules --------------------------------------------------------------------


def _subject(person: User) -> str:
    return f"{person.name} <{person.email}>"


def _lock(session: Session, person: User, by: User) -> User:
    """Locks the person's and the acting admin's rows in id order (no deadlock between
    two admins acting on each other), reloads them, and checks that the admin still is
    an active admin. Returns the person as stored now."""
    rows = {user.id: user for user in session.exec(
        select(User).where(col(User.id).in_({person.id, by.id})).order_by(col(User.id))
        # FOR NO KEY UPDATE: a task claim only takes a key-share lock on its assignee's
        # row, so it is not blocked by this; but the person's own task transitions hold
        # their row FOR SHARE (policy.is_active_member), so deactivating them waits for
        # a claim in flight and then returns it to the queue.
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    )}
    actor = rows.get(by.id)
    if actor is None or not may_administer(actor):
        raise NotAllowed("Only admins can do this.")
    return rows[person.id]


@one_transaction
def add_person(
    session: Session, *, name: str, email: str, password: str,
    manager: bool = False, admin: bool = False, by: User,
) -> User:
    name, email = collapsed_line(name), collapsed_line(email).lower()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter the person's name."
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"Use at most {MAX_NAME_LENGTH} characters."
    taken = f"There is already an account for {email}."
    if not email:
        errors["email"] = "Enter the person's e-mail address: they sign in with it."
    elif not is_email(email):
        errors["email"] = "Enter an e-mail address like name@example.com."
    elif session.exec(select(User.id).where(User.email == email)).first() is not None:
        errors["email"] = taken
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors["password"] = f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if errors:
        raise FormInvalid(errors)
    try:
        person = create_person(session, email=email, name=name, password=password,
                               manager=manager, admin=admin)
    except (PersonExists, IntegrityError):
        # Another admin created the same account a moment ago.
        raise FormInvalid({"email": taken}) from None
    roles = [role for role, held in (("manager", manager), ("admin", admin)) if held]
    record_admin_action(session, by=by, action="person.created", subject=_subject(person),
                        detail=f"Roles: {', '.join(roles) if roles else 'none'}.")
    session.commit()
    return person


def _attribute(role: str) -> str:
    if role not in ROLES:
        raise FormInvalid({"role": "Pick a role: manager or admin."})
    return f"is_{role}"


def _set_role(session: Session, *, person: User, role: str, by: User, granted: bool) -> User:
    attribute = _attribute(role)
    if not granted and role == "admin" and person.id == by.id:
        raise SelfLockout("You cannot revoke your own admin rights: ask another admin.")
    person = _lock(session, person, by)
    if getattr(person, attribute) == granted:
        raise InvalidTransition(
            f"{person.name} is already {ROLES[role]}." if granted
            else f"{person.name} is not {ROLES[role]}."
        )
    setattr(person, attribute, granted)
    record_admin_action(
        session, by=by, action="role.granted" if granted else "role.revoked",
        subject=_subject(person),
        detail=f"Now {ROLES[role]}." if granted else f"No longer {ROLES[role]}.",
    )
    session.commit()
    return person


@one_transaction
def grant_role(session: Session, *, person: User, role: str, by: User) -> User:
    return _set_role(session, person=person, role=role, by=by, granted=True)


@one_transaction
def revoke_role(session: Session, *, person: User, role: str, by: User) -> User:
    return _set_role(session, person=person, role=role, by=by, granted=False)


@one_transaction
def deactivate_person(session: Session, *, person: User, by: User) -> list[Task]:
    """The person can no longer sign in, is signed out everywhere, and every task they
    had claimed goes back to its team queue, with a timeline event each. Returns those
    tasks. Memberships and roles stay, so reactivating restores the person as they were."""
    if person.id == by.id:
        raise SelfLockout("You cannot deactivate yourself: ask another admin.")
    person = _lock(session, person, by)
    if not person.is_active:
        raise InvalidTransition(f"{person.name} is already deactivated.")
    person.is_active = False
    session.exec(delete(LoginSession).where(  # type: ignore[call-overload]
        col(LoginSession.user_id) == person.id
    ))
    ended = end_tokens_of(session, person=person, at=utcnow())
    released = return_claims_to_queue(
        session, person=person, by=by,
        note=f"Returned to the queue: {person.name} was deactivated",
    )
    record_admin_action(session, by=by, action="person.deactivated", subject=_subject(person),
                        detail=f"Signed out everywhere. {describe_returned(released)}"
                        + (f" {ended} API token(s) revoked." if ended else ""))
    session.commit()
    return released


@one_transaction
def reactivate_person(session: Session, *, person: User, by: User) -> User:
    person = _lock(session, person, by)
    if person.is_active:
        raise InvalidTransition(f"{person.name} is already active.")
    person.is_active = True
    record_admin_action(session, by=by, action="person.reactivated", subject=_subject(person),
                        detail="Can sign in again; teams and roles are as before.")
    session.commit()
    return person


@one_transaction
def set_time_zone(session: Session, *, person: User, text: str) -> str | None:
    """A person chooses the zone their pages show times in (an IANA name; nothing for
    UTC until their browser's is taken at their next sign-in). FormInvalid by the
    field for a name this system does not know. Commits; returns the zone kept."""
    try:
        zone = parse_time_zone(text)
    except InputInvalid as refused:
        raise FormInvalid({"time_zone": refused.message}) from None
    kept = session.get_one(User, person.id)
    kept.time_zone = zone
    session.add(kept)
    session.commit()
    return zone
