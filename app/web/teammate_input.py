"""The "Hand to" / "Assign to" box: the teammate a form names, read one way for every
route that takes one (a task's hand and assign, a queue's bulk hand), with one set of
messages for when it names nobody."""

from fastapi import HTTPException
from sqlmodel import Session, select

from app.rules.inputs import TooLong, parse_person
from app.rules.teams import active_members_of
from app.storage.models import MAX_ID, User


def teammate_named(session: Session, *, team_id: int, text: str) -> User | None:
    """The person the box names: an e-mail (what its suggestions fill in), the name of
    one of the team's active members, "Name <e-mail>" (read as everywhere, by
    app.rules.inputs.parse_person), or an id. A name two teammates share is refused with a
    message (422). Someone outside the team, named by e-mail, is returned: the rule that
    acts (hand_task, assign_task) says why they cannot have the task."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return session.get(User, int(text)) if int(text) <= MAX_ID else None
    try:
        typed = parse_person(text)
    except TooLong:
        return None
    if typed is None:
        return None
    members = active_members_of(session, {team_id})[team_id]
    matches = [m for m in members if m.email.lower() == typed.email
               or (typed.name is not None and " ".join(m.name.lower().split()) == typed.name)]
    if len(matches) > 1:
        raise HTTPException(status_code=422,
                            detail="Several teammates have that name: use the e-mail.")
    if matches:
        return session.get(User, matches[0].id)
    return session.exec(select(User).where(User.email == typed.email)).first()


def teammate_or_422(session: Session, *, team_id: int, typed: str, purpose: str) -> User:
    """The person a hand or assign form names (`team_id`: the team whose tasks they
    would take); a 422 saying what to do when it names nobody. `purpose` ends the
    message for an empty box: "Pick a teammate to <purpose>."."""
    person = teammate_named(session, team_id=team_id, text=typed) if typed.strip() else None
    if person is None:
        raise HTTPException(status_code=422, detail=(
            "No active person matches that: pick a teammate from the suggestions."
            if typed.strip() else f"Pick a teammate to {purpose}."))
    return person
