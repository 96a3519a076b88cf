"""People: creating accounts and finding someone by name or e-mail."""

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.auth import hash_password
from app.models import User


class PersonExists(ValueError):
    pass


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
