"""@mentions in comments and internal notes (issue 14 item 2).

A mention is `@` and a person's e-mail address (`@iris@example.com`, what the comment
box's suggestions insert) or the part of it before the `@` when exactly one active person
has it (`@iris`). A word after `@` that names no active person is plain text
("Decorators like @property") and posts as written; `\\@` writes a plain `@` even before a
person's handle (`\\@iris` posts as `@iris`, no one mentioned). Before anything is
posted, every mention of a person must name someone who may see the request (rule 6),
and for an internal note one who may see its notes; otherwise the comment is refused
with a message that says who and why, and nothing is written. A handle that several
people share is refused too (it names someone, but not whom). A posted mention is stored
as the person's name (`@Iris Ito`), so the timeline (and search) reads names, and as a
`Mention` row, from which the inbox tells them.

The comment box suggests only people who may see the request (mentionable_people), and
for an internal note its notes: the refusal is for what was typed by hand."""

import re
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.rules.errors import InvalidNote
from app.rules.following import sees_request
from app.rules.policy import request_access
from app.storage.models import Mention, ServiceRequest, TimelineEvent, User

# Not after a word character, so an address written in the text ("bob@example.com") is
# not a mention, nor after a backslash (an escaped, plain @). The text is a comment,
# bounded (MAX_NOTE_LENGTH) before this runs; the pattern's parts are separated by `@`
# and `.`, so it does not backtrack.
MENTION = re.compile(
    r"(?<![\w.+%\\-])@([A-Za-z0-9._%+-]{1,64}(?:@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)?)")
MAX_MENTIONS = 20


class InvalidMention(InvalidNote):
    """A mention of several people, or of someone who may not see what is written:
    shown next to the comment box, the text kept (as any InvalidNote)."""


@dataclass(frozen=True)
class Mentions:
    text: str  # the comment with each mention written as the person's name
    people: list[User]


def _handle(token: str) -> str:
    return token.rstrip(".").lower()


ESCAPED_AT = "\\@"
PLAIN = "write \\@ before it to keep it as plain text"


def _person(session: Session, handle: str) -> User | None:
    """The one active person `handle` names; None for no one (the word stays text)."""
    active = select(User).where(User.is_active == True)  # noqa: E712
    if "@" in handle:
        found = list(session.exec(active.where(User.email == handle).limit(2)))
    else:
        found = list(session.exec(
            active.where(col(User.email).startswith(handle + "@", autoescape=True)).limit(2)))
    if len(found) > 1:
        raise InvalidMention(f"Several people are @{handle}: use their whole e-mail "
                             f"address, or {PLAIN}. Nothing was posted.")
    return found[0] if found else None


def resolve_mentions(session: Session, *, text: str, request: ServiceRequest,
                     internal: bool) -> Mentions:
    """The people `text` mentions, each allowed to read it, and the text with their
    names (an escaped `\\@` made plain); raises InvalidMention otherwise (before anything
    is written). A word that names nobody is left as it is."""
    handles = list(dict.fromkeys(_handle(match.group(1)) for match in MENTION.finditer(text)))
    if len(handles) > MAX_MENTIONS:
        raise InvalidMention(f"Mention at most {MAX_MENTIONS} people in one comment.")
    people: dict[str, User] = {}
    for handle in handles:
        person = _person(session, handle)
        if person is None:
            continue
        access = request_access(session, user=person, request=request)
        if not access.can_view:
            raise InvalidMention(f"{person.name} cannot see this request, so they cannot be "
                                 f"mentioned here ({PLAIN}). Nothing was posted.")
        if internal and not access.sees_internal_notes:
            raise InvalidMention(f"{person.name} cannot see internal notes on this request: "
                                 f"mention them in a comment instead ({PLAIN}). Nothing "
                                 "was posted.")
        people[handle] = person

    def named(match: re.Match[str]) -> str:
        token = match.group(1)
        person = people.get(_handle(token))
        if person is None:
            return match.group(0)
        trailing = token[len(token.rstrip(".")):]
        return f"@{person.name}{trailing}"

    posted = MENTION.sub(named, text) if people else text
    unique = list({person.id: person for person in people.values()}.values())
    return Mentions(text=posted.replace(ESCAPED_AT, "@"), people=unique)


def mentionable_people(session: Session, *, request: ServiceRequest, text: str,
                       internal: bool = False, limit: int = 10) -> list[User]:
    """The comment box's suggestions: the active people whose name or e-mail holds
    `text` and who may see the request (rule 6; with `internal`, its notes), as the
    person picker finds them: at most `limit`, by name, one bounded query."""
    text = text.strip().lower()[:100]
    if len(text) < 2:
        return []
    return list(session.exec(
        select(User)
        .where(sees_request(request, notes=internal),
               or_(func.lower(User.name).contains(text, autoescape=True),
                   col(User.email).contains(text, autoescape=True)))
        .order_by(User.name).limit(limit)))


def record_mentions(session: Session, *, event: TimelineEvent, people: list[User]) -> None:
    """The event's mentions, in its transaction (the inbox delivers them at commit)."""
    if not people:
        return
    session.flush()  # the event's id
    for person in people:
        session.add(Mention(event_id=event.id, user_id=person.id))
