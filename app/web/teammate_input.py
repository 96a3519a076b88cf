"""The "Hand to" / "Assign to" box: the teammate a form names, read one way for every
route that takes one (a task's hand and assign, a queue's bulk hand), with one set of
messages for when it names nobody."""

from fastapi import HTTPException
from sqlmodel import Session, select

from app.rules.inputs import TooLong, parse_person
from app.rules.teams import Member, active_members_of
from app.storage.models import MAX_ID, User

MAX_CHOICES = 5  # teammates named in the message for a name that fits several


def _choices(members: list[Member], *, emails: bool) -> str:
    named = [f"{m.name} ({m.email})" if emails else m.name for m in members[:MAX_CHOICES]]
    if len(members) > MAX_CHOICES:
        named.append(f"{len(members) - MAX_CHOICES} more")
    return ", ".join(named[:-1]) + " or " + named[-1]


def teammate_named(session: Session, *, team_id: int, text: str) -> User | None:
    """The person the box names: an e-mail (what its suggestions fill in), the name of
    one of the team's active members, "Name <e-mail>" (read as everywhere, by
    app.rules.inputs.parse_person), or an id; failing those, the one active member whose
    name begins with what was typed, whatever its case ("iris" for Iris Ito: the box
    asks for a teammate's name, and people type first names). A name that fits several
    teammates is refused with a message naming them (422). Someone outside the team,
    named by e-mail, is returned: the rule that acts (hand_task, assign_task) says why
    they cannot have the task."""
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
               or (typed.name is not None and _folded(m.name) == typed.name)]
    if len(matches) > 1:
        raise HTTPException(status_code=422, detail=(
            f"Several teammates have that name: use the e-mail "
            f"({_choices(matches, emails=True)})."))
    if not matches and typed.name is not None and "@" not in typed.name:
        begun = " ".join(typed.name.split())
        matches = [m for m in members if _folded(m.name).startswith(begun)]
        if len(matches) > 1:
            same_names = len({_folded(m.name) for m in matches}) < len(matches)
            raise HTTPException(status_code=422, detail=(
                f"“{text}” fits several teammates: "
                f"{_choices(matches, emails=same_names)}. Type more of the name, "
                "or the e-mail."))
    if matches:
        return session.get(User, matches[0].id)
    return session.exec(select(User).where(User.email == typed.email)).first()


def _folded(name: str) -> str:
    return " ".join(name.lower().split())


def teammate_or_422(session: Session, *, team_id: int, typed: str, purpose: str,
                    member_only: bool = False) -> User:
    """The person a hand or assign form names (`team_id`: the team whose tasks they
    would take); a 422 saying what to do when it names nobody. `purpose` ends the
    message for an empty box: "Pick a teammate to <purpose>.". `member_only`: someone
    outside the team is refused here too, before anything is tried (a bulk hand: one
    message, rather than the rule's refusal repeated for every task)."""
    person = teammate_named(session, team_id=team_id, text=typed) if typed.strip() else None
    if person is None:
        raise HTTPException(status_code=422, detail=(
            "No active person matches that: pick a teammate from the suggestions."
            if typed.strip() else f"Pick a teammate to {purpose}."))
    if member_only and not any(
            m.id == person.id for m in active_members_of(session, {team_id})[team_id]):
        raise HTTPException(status_code=422, detail=(
            f"{person.name} is not an active member of this team: "
            f"pick a teammate to {purpose}."))
    return person
