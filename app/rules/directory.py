"""Who someone meant: the active people of Baton that a typed person ("Name <e-mail>",
an address or a full name, app.rules.inputs.parse_person) names. For the intake form's
person fields and the admin pages alike, which each say in their own words what was
wrong."""

from sqlalchemy import func
from sqlmodel import Session, select

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
