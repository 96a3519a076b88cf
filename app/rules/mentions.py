"""@mentions in comments and internal notes (issue 14 item 2).

A mention is `@` and a person's e-mail address (`@iris@example.com`, what the comment
box's suggestions insert) or the part of it before the `@` when exactly one active person
has it (`@iris`). Before anything is posted, every mention must name an active person
who may see the request (rule 6), and for an internal note one who may see its notes;
otherwise the comment is refused with a message that says who and why, and nothing is
written. A posted mention is stored as the person's name (`@Iris Ito`), so the timeline
(and search) reads names, and as a `Mention` row, from which the inbox tells them."""

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.rules.errors import InvalidNote
from app.rules.policy import request_access
from app.storage.models import Mention, ServiceRequest, TimelineEvent, User

# Not after a word character, so an address written in the text ("bob@example.com") is
# not a mention. The text is a comment, bounded (MAX_NOTE_LENGTH) before this runs; the
# pattern's parts are separated by `@` and `.`, so it does not backtrack.
MENTION = re.compile(
    r"(?<![\w.+%-])@([A-Za-z0-9._%+-]{1,64}(?:@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)?)")
MAX_MENTIONS = 20


class InvalidMention(InvalidNote):
    """A mention of no one, of several people, or of someone who may not see what is
    written: shown next to the comment box, the text kept (as any InvalidNote)."""


@dataclass(frozen=True)
class Mentions:
    text: str  # the comment with each mention written as the person's name
    people: list[User]


def _handle(token: str) -> str:
    return token.rstrip(".").lower()


def _person(session: Session, handle: str) -> User:
    active = select(User).where(User.is_active == True)  # noqa: E712
    if "@" in handle:
        found = list(session.exec(active.where(User.email == handle)))
    else:
        found = list(session.exec(
            active.where(col(User.email).startswith(handle + "@", autoescape=True)).limit(2)))
    if not found:
        raise InvalidMention(f"No one in Baton is @{handle}: pick the person from the "
                             "suggestions.")
    if len(found) > 1:
        raise InvalidMention(f"Several people are @{handle}: use their whole e-mail "
                             "address.")
    return found[0]


def resolve_mentions(session: Session, *, text: str, request: ServiceRequest,
                     internal: bool) -> Mentions:
    """The people `text` mentions, each allowed to read it, and the text with their
    names; raises InvalidMention otherwise (before anything is written)."""
    handles = list(dict.fromkeys(_handle(match.group(1)) for match in MENTION.finditer(text)))
    if not handles:
        return Mentions(text=text, people=[])
    if len(handles) > MAX_MENTIONS:
        raise InvalidMention(f"Mention at most {MAX_MENTIONS} people in one comment.")
    people: dict[str, User] = {}
    for handle in handles:
        person = _person(session, handle)
        access = request_access(session, user=person, request=request)
        if not access.can_view:
            raise InvalidMention(f"{person.name} cannot see this request, so they cannot be "
                                 "mentioned here. Nothing was posted.")
        if internal and not access.sees_internal_notes:
            raise InvalidMention(f"{person.name} cannot see internal notes on this request: "
                                 "mention them in a comment instead. Nothing was posted.")
        people[handle] = person

    def named(match: re.Match[str]) -> str:
        token = match.group(1)
        person = people[_handle(token)]
        trailing = token[len(token.rstrip(".")):]
        return f"@{person.name}{trailing}"

    unique = list({person.id: person for person in people.values()}.values())
    return Mentions(text=MENTION.sub(named, text), people=unique)


def record_mentions(session: Session, *, event: TimelineEvent, people: list[User]) -> None:
    """The event's mentions, in its transaction (the inbox delivers them at commit)."""
    if not people:
        return
    session.flush()  # the event's id
    for person in people:
        session.add(Mention(event_id=event.id, user_id=person.id))
