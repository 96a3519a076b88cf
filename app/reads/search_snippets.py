"""What a search result shows of where its words are: the one answer, comment or internal
note that holds them, with its label ("Laptop model: Docking station", "Comment by Iris
Ito: …") and the words marked, and the words marked in the title. The index keeps each
request's words as one text (app.storage.search_index), so its own snippet strings
answers together without their labels; this reads the page's rows again, a few
statements for twenty results, and finds the words in each part.

The words are matched as the index matches them: runs of letters and digits, compared
lower-cased and without accents (SQLite's unicode61 tokenizer folds accents; a word the
index found through an accent PostgreSQL keeps still matches here)."""

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.storage.models import ServiceRequest, ServiceVersion, TimelineEvent, User

_WORD = re.compile(r"[^\W_]+")
SNIPPET_WORDS = 16  # words shown around the first match, as the index's snippet did
SEARCHED_KINDS = ("comment", "note")

Parts = list[tuple[str, bool]]  # (text, whether it is a word searched for)


@dataclass(frozen=True)
class Snippet:
    label: str
    parts: Parts


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def marked(text: str, words: Collection[str], *, whole: bool = True) -> Parts | None:
    """`text` cut into parts with the searched words marked; None when it holds none of
    them. Unless `whole`, a long text is cut to SNIPPET_WORDS words from a little before
    its first match, with "…" where it was cut."""
    wanted = {_fold(word) for word in words}
    tokens = list(_WORD.finditer(text))
    hits = [index for index, token in enumerate(tokens) if _fold(token.group()) in wanted]
    if not hits:
        return None
    start, stop, prefix, suffix = 0, len(text), "", ""
    if not whole and len(tokens) > SNIPPET_WORDS:
        first = max(0, min(hits[0] - 3, len(tokens) - SNIPPET_WORDS))
        last = min(len(tokens), first + SNIPPET_WORDS) - 1
        if first > 0:
            start, prefix = tokens[first].start(), "…"
        if last < len(tokens) - 1:
            stop, suffix = tokens[last].end(), "…"
    parts: Parts = [(prefix, False)] if prefix else []
    at = start
    for index in hits:
        token = tokens[index]
        if not start <= token.start() < stop:
            continue
        if token.start() > at:
            parts.append((text[at:token.start()], False))
        parts.append((token.group(), True))
        at = token.end()
    if at < stop:
        parts.append((text[at:stop], False))
    if suffix:
        parts.append((suffix, False))
    return parts


def _answer_text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""  # a checkbox says nothing a word could find
    if isinstance(value, list):
        return ", ".join(_answer_text(item) for item in value if _answer_text(item))
    if isinstance(value, dict):  # a person: their name and e-mail
        return " ".join(str(value[key]) for key in ("name", "email") if value.get(key))
    return str(value)


def _form_labels(session: Session, version_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
    """Each version's (key, label) of its fields, in the form's order (files left out:
    their answers are attachment ids, not words anyone typed)."""
    labels: dict[int, list[tuple[str, str]]] = {}
    for version_id, definition in session.exec(
            select(ServiceVersion.id, ServiceVersion.definition)
            .where(col(ServiceVersion.id).in_(version_ids))):
        labels[version_id] = [(field["key"], field.get("label") or field["key"])
                              for field in definition.get("fields", [])
                              if field.get("type") != "file"]
    return labels


def best_parts(session: Session, *, words: list[str], titles: Mapping[int, str],
               notes_of: Collection[int]) -> dict[int, Snippet]:
    """For each request of `titles` (id: title), the answer or public comment holding the
    most of `words` (the first in the form's and the timeline's order on a tie); for those
    of `notes_of` (the viewer found them through an internal note only), the internal note
    instead. The answer the title was made of is the title already, and a request whose
    words are only in its title or requester's name has no part."""
    request_ids = list(titles)
    if not request_ids or not words:
        return {}
    rows = session.exec(select(ServiceRequest.id, ServiceRequest.version_id,
                               ServiceRequest.answers)
                        .where(col(ServiceRequest.id).in_(request_ids))).all()
    labels = _form_labels(session, {version_id for _, version_id, _ in rows})
    best: dict[int, tuple[int, Snippet]] = {}

    def consider(request_id: int, label: str, text: str) -> None:
        parts = marked(text, words, whole=False)
        if parts is None:
            return
        count = len({_fold(part) for part, hit in parts if hit})
        if request_id not in best or count > best[request_id][0]:
            best[request_id] = (count, Snippet(label, parts))

    for request_id, version_id, answers in rows:
        if request_id in notes_of:
            continue
        for key, label in labels.get(version_id, []):
            text = _answer_text((answers or {}).get(key))
            if text.strip() and text.strip() not in titles[request_id]:
                consider(request_id, label, text)
    events = session.exec(
        select(TimelineEvent.request_id, TimelineEvent.note, TimelineEvent.is_internal,
               User.name)
        .join(User, col(User.id) == TimelineEvent.actor_id, isouter=True)
        .where(col(TimelineEvent.request_id).in_(request_ids),
               col(TimelineEvent.kind).in_(SEARCHED_KINDS))
        .order_by(col(TimelineEvent.id))).all()
    for request_id, note, internal, author in events:
        # Internal notes only for the requests found through one (never a requester's).
        if bool(internal) != (request_id in notes_of) or not note:
            continue
        kind = "Internal note" if internal else "Comment"
        consider(request_id, f"{kind} by {author}" if author else kind, note)
    return {request_id: snippet for request_id, (_, snippet) in best.items()}
