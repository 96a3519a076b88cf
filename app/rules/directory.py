"""Who someone meant: the active people of Baton that a typed person ("Name <e-mail>",
an address or a full name, app.rules.inputs.parse_person) names, and those whose name or
address holds what was typed (the picker's suggestions). For the intake form's person
fields and the admin pages alike, which each say in their own words what was wrong."""

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.rules.inputs import PersonText
from app.storage.models import User


def active_people_meant(session: Session, typed: PersonText) -> list[User]:
    """The active person with the typed address; else the active people with the typed
    full name, at most two (enough to tell one from several: two people may share a
    name, so only exactly one is a match)."""
    active = select(User).where(User.is_active == True)  # noqa: E712
    person = session.exec(active.where(User.email == typed.email)).first()
    if person is not None:
        return [person]
    if typed.name is None:
        return []
    return list(session.exec(active.where(func.lower(User.name) == typed.name).limit(2)))


def find_people(session: Session, text: str, *, limit: int = 10) -> list[User]:
    text = text.strip().lower()
    if len(text) < 2:
        return []
    return list(session.exec(
        select(User)
        .where(User.is_active == True,  # noqa: E712
               or_(func.lower(User.name).contains(text, autoescape=True),
                   col(User.email).contains(text, autoescape=True)))
        .order_by(User.name).limit(limit)
    ))


_NAMED_AT_MOST = 3


def people_to_pick(session: Session, typed: str) -> str | None:
    """For part of a name or address that active people have (what the picker suggested,
    not picked): who they are, to pick from, rather than "nobody matches". None when
    nobody's name or address holds it."""
    near = find_people(session, typed, limit=_NAMED_AT_MOST + 1)
    if not near:
        return None
    named = ", ".join(f"{person.name} <{person.email}>" for person in near[:_NAMED_AT_MOST])
    more = ", or someone else (type more of the name)" if len(near) > _NAMED_AT_MOST else ""
    return f"Pick the person from the suggestions: {named}{more}."
