"""Search across requests: a request number, or words found in titles, answers, comments,
internal notes (for those who may see them) and requester names, in the index
app.storage.search_index keeps.

Who sees what (rule 6, as app.rules.policy says it) is part of the full-text query: a
request is found through its requester's scope word for its requester (public words
only: never through its internal notes), through a team's for that team's members, and
through any for a manager (the internal notes too, except on their own requests). The
user's text is only ever words: it is split into letters-and-digits runs, each quoted,
so nothing typed is taken as query syntax (`NEAR`, `*`, `"`, `-`, `OR`, `:`).

Results come newest first, keyset-paged by request id; the count is exact up to
COUNT_LIMIT and said as "more than" beyond it (counting every match of a common word in
a million requests would cost more than the page itself).
"""

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

from app.reads.search_snippets import Snippet, best_parts, marked
from app.rules.inputs import dates_out_of_order
from app.rules.policy import may_see_request
from app.storage.models import MAX_ID, ServiceRequest, User, request_number
from app.storage.search_index import PG_CONFIG

PAGE_SIZE = 20
COUNT_LIMIT = 1000
MAX_QUERY_LENGTH = 200  # characters read of what was typed; the rest is ignored
MAX_WORDS = 8
MAX_WORD_LENGTH = 60
MAX_MONTHS = 24  # of filing dates narrowed in the index (_narrowing)
_WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"\s*(?:req\s*-?\s*)?#?\s*(\d{1,12})\s*", re.IGNORECASE)
# Snippet marks: characters no text of Baton holds (control characters are removed
# from what people type); the snippet is handed on as (text, is a match) parts.
_START, _STOP = "\x02", "\x03"


def words_of(query: str) -> list[str]:
    """The words to look for, in order, without repeats: runs of letters and digits,
    lower-cased. Nothing else of the text survives, so nothing is query syntax."""
    found: list[str] = []
    normal = unicodedata.normalize("NFC", query[:MAX_QUERY_LENGTH]).lower()
    for word in _WORD.findall(normal):
        word = word[:MAX_WORD_LENGTH]
        if word not in found:
            found.append(word)
    return found[:MAX_WORDS]


def number_in(query: str) -> int | None:
    """The request number a query is, if it is one: `REQ-42`, `req 42`, `#42` or `42`."""
    match = _NUMBER.fullmatch(query[:40])
    return int(match.group(1)) if match else None


def request_by_number(session: Session, *, user: User, number: int) -> ServiceRequest | None:
    """The request with that number if `user` may see it; None whether it does not
    exist or is not theirs to see (nothing tells the two apart)."""
    if not 1 <= number <= MAX_ID:
        return None
    found = session.get(ServiceRequest, number)
    if found is None or not may_see_request(session, user=user, request=found):
        return None
    return found


@dataclass(frozen=True)
class SearchFilters:
    state: str | None = None
    service_id: int | None = None
    filed_from: date | None = None  # UTC days, both ends included
    filed_until: date | None = None

    def dates_problem(self) -> str | None:
        return dates_out_of_order(self.filed_from, self.filed_until)


@dataclass(frozen=True)
class SearchResult:
    id: int
    title: str
    state: str
    service_name: str
    requester_name: str
    created_at: datetime
    snippet: list[tuple[str, bool]]  # (text, whether it is a word searched for)
    in_note: bool  # the words were found in an internal note (never for its requester)
    # The answer, comment or note the snippet is from ("Laptop model", "Comment by Iris
    # Ito"); None for no snippet or the index's own (app.reads.search_snippets).
    snippet_label: str | None = None
    title_parts: tuple[tuple[str, bool], ...] = ()  # the title, its searched words marked

    @property
    def number(self) -> str:
        return request_number(self.id)


@dataclass(frozen=True)
class SearchPage:
    results: list[SearchResult]
    next_before: int | None
    count: int
    count_is_exact: bool  # False: more than `count` requests match


def _fts_words(words: list[str], columns: str) -> str:
    return f"{{{columns}}} : (" + " AND ".join(f'"{word}"' for word in words) + ")"


def _fts_scope(tokens: list[str]) -> str:
    return "{scope} : (" + " OR ".join(f'"{token}"' for token in tokens) + ")"


def _pg_words(words: list[str], weights: str) -> str:
    return "(" + " & ".join(f"'{word}':{weights}" for word in words) + ")"


def _pg_scope(tokens: list[str]) -> str:
    return "(" + " | ".join(f"'{token}':C" for token in tokens) + ")"


def _query(dialect: str, words: list[str], *, user: User, team_ids: Collection[int],
           narrowing: list[list[str]]) -> str:
    """The full-text query: the words, where this viewer may find them (module doc), and
    in each of `narrowing`'s groups of scope words (a service; the months filed in)."""
    own = f"u{user.id}"
    teams = [f"t{team_id}" for team_id in sorted(team_ids)]
    if dialect == "sqlite":
        everywhere, public = _fts_words(words, "public notes"), _fts_words(words, "public")
        parts = [f'({public} AND {_fts_scope([own])})']
        if user.is_manager:
            parts.append(f'({everywhere} NOT {_fts_scope([own])})')
        elif teams:
            parts.append(f'(({everywhere} AND {_fts_scope(teams)}) NOT {_fts_scope([own])})')
        return " AND ".join([f"({' OR '.join(parts)})",
                             *(_fts_scope(group) for group in narrowing)])
    everywhere, public = _pg_words(words, "AB"), _pg_words(words, "A")
    parts = [f"({public} & {_pg_scope([own])})"]
    if user.is_manager:
        parts.append(f"({everywhere} & !{_pg_scope([own])})")
    elif teams:
        parts.append(f"({everywhere} & {_pg_scope(teams)} & !{_pg_scope([own])})")
    return " & ".join([f"({' | '.join(parts)})", *(_pg_scope(group) for group in narrowing)])


def _months(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"m{year}{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _narrowing(session: Session, filters: SearchFilters, *, months: bool
               ) -> list[list[str]]:
    """The scope words a service and filing dates (SQLite, `months`; PostgreSQL narrows
    dates by _id_range) narrow the search to: the index finds
    a service's or a few months' matches itself instead of reading every newer match to
    check its row (a month's common word at 1M requests: 400 ms to a few). The dates
    are still checked on the rows, to the day. A span of more than MAX_MONTHS is most
    of the requests anyway: it is left to that check alone."""
    narrowing = [[f"s{filters.service_id}"]] if filters.service_id else []
    if months and (filters.filed_from or filters.filed_until):
        first = filters.filed_from
        if first is None:
            oldest = session.execute(text(
                "SELECT created_at FROM service_request ORDER BY id LIMIT 1")).scalar()
            first = date.fromisoformat(str(oldest)[:10]) if oldest else date.today()
        last = filters.filed_until or datetime.now(UTC).date()
        filed = _months(first, last)
        if len(filed) <= MAX_MONTHS:
            narrowing.append(filed or ["m0"])  # an empty span: nothing matches
    return narrowing


# How far apart, in ids, two requests may be filed out of order (two filed at the same
# moment by concurrent transactions): the id range of some dates is widened by this.
ID_SLACK = 1000


def _first_id_filed_from(session: Session, moment: datetime) -> int:
    """The first request id filed at or after `moment`, found by halving the ids (ids
    follow filing order but for ID_SLACK): some twenty primary key lookups."""
    low, high = 1, int(session.execute(text(
        "SELECT coalesce(max(id), 0) FROM service_request")).scalar_one()) + 1
    created = ServiceRequest.__table__.c.created_at.type  # type: ignore[attr-defined]
    step = text("SELECT id, created_at FROM service_request WHERE id >= :id "
                "ORDER BY id LIMIT 1").columns(created_at=created)
    while low < high:
        middle = (low + high) // 2
        row = session.execute(step, {"id": middle}).first()
        if row is None or row[0] >= high or row[1] >= moment:
            high = middle
        else:
            low = row[0] + 1
    return low


def _id_range(session: Session, filters: SearchFilters, params: dict[str, Any]) -> str:
    """PostgreSQL: the filing dates as a range of request ids too. Its plan for a common
    word walks the documents newest first, testing each: the matches of an old month lie
    deep in that walk (500 ms at 1M requests) unless the walk starts and ends there. The
    range is said of both tables: PostgreSQL does not carry it across the join."""
    where = ""
    if filters.filed_from:
        params["id_from"] = _first_id_filed_from(session, params["filed_from"]) - ID_SLACK
        where += " AND d.request_id >= :id_from AND r.id >= :id_from"
    if filters.filed_until:
        params["id_until"] = _first_id_filed_from(session, params["filed_until"]) + ID_SLACK
        where += " AND d.request_id < :id_until AND r.id < :id_until"
    return where


def _filters_sql(filters: SearchFilters, params: dict[str, Any]) -> str:
    where = ""
    if filters.state:
        where += " AND r.state = :state"
        params["state"] = filters.state
    if filters.filed_from:
        where += " AND r.created_at >= :filed_from"
        params["filed_from"] = datetime.combine(filters.filed_from, time.min, UTC)
    if filters.filed_until:
        where += " AND r.created_at < :filed_until"
        params["filed_until"] = datetime.combine(
            filters.filed_until + timedelta(days=1), time.min, UTC)
    return where


def _typed(statement: str, *, rows: bool = False) -> Any:
    """The statement with its dates typed as the column's (SQLite keeps them as text)."""
    created = ServiceRequest.__table__.c.created_at.type  # type: ignore[attr-defined]
    names = [name for name in ("filed_from", "filed_until") if f":{name}" in statement]
    typed = text(statement).bindparams(*(bindparam(name, type_=created) for name in names))
    return typed.columns(created_at=created) if rows else typed


def _matches_sql(dialect: str, where: str) -> str:
    """The ids of the matching requests, newest first (`:q` the query, `:before`)."""
    if dialect == "sqlite":
        join = " JOIN service_request r ON r.id = search_text.rowid" if where else ""
        return (f"SELECT search_text.rowid AS id FROM search_text{join} "
                f"WHERE search_text MATCH :q AND search_text.rowid < :before{where} "
                "ORDER BY search_text.rowid DESC")
    join = " JOIN service_request r ON r.id = d.request_id" if where else ""
    return (f"SELECT d.request_id AS id FROM search_document d{join} "
            f"WHERE d.words @@ to_tsquery('{PG_CONFIG}', :q) AND d.request_id < :before"
            f"{where} ORDER BY d.request_id DESC")


def _page_sql(dialect: str, where: str) -> str:
    """The page's rows with their snippets, made for the page's rows only."""
    if dialect == "sqlite":
        snippet = "snippet(search_text, {column}, char(2), char(3), '…', 16)"
        return (
            "SELECT r.id, r.title, r.state, svc.name, u.name, r.created_at, "
            f"{snippet.format(column=0)}, CASE WHEN r.requester_id = :me THEN '' "
            f"ELSE {snippet.format(column=1)} END "
            "FROM search_text JOIN service_request r ON r.id = search_text.rowid "
            "JOIN service svc ON svc.id = r.service_id JOIN \"user\" u ON u.id = r.requester_id "
            f"WHERE search_text MATCH :q AND search_text.rowid < :before{where} "
            "ORDER BY search_text.rowid DESC LIMIT :limit")
    headline = (f"ts_headline('{PG_CONFIG}', {{text}}, to_tsquery('{PG_CONFIG}', :words), "
                "'StartSel=\x02, StopSel=\x03, MaxWords=16, MinWords=6, MaxFragments=1, "
                "FragmentDelimiter=…')")
    return (
        "SELECT r.id, r.title, r.state, svc.name, u.name, r.created_at, "
        f"{headline.format(text='d.public_text')}, CASE WHEN r.requester_id = :me THEN '' "
        f"ELSE {headline.format(text='d.notes_text')} END "
        f"FROM ({_matches_sql(dialect, where)} LIMIT :limit) page "
        "JOIN search_document d ON d.request_id = page.id "
        "JOIN service_request r ON r.id = page.id "
        "JOIN service svc ON svc.id = r.service_id JOIN \"user\" u ON u.id = r.requester_id "
        "ORDER BY r.id DESC")


def _snippet(marked: str | None) -> list[tuple[str, bool]]:
    parts: list[tuple[str, bool]] = []
    for index, piece in enumerate(re.split(f"[{_START}{_STOP}]", marked or "")):
        if piece:
            parts.append((piece, index % 2 == 1))
    return parts


def _in_note(row: Any) -> bool:
    public, notes = row[6], row[7]
    return _START not in (public or "") and _START in (notes or "")


def _result(row: Any, words: list[str], labelled: dict[int, Snippet]) -> SearchResult:
    """One result: the labelled part its words are in (`labelled`), with its title's
    words marked. A request found by its title or requester's name alone shows no
    snippet (both are on the result already); the index's own unlabelled snippet is
    kept for a match found nowhere else (the two tokenizers disagreeing)."""
    request_id, title, state, service_name, requester_name, created_at, public, notes = row
    in_note = _in_note(row)
    title_parts = marked(title, words)
    snippet, label = [], None
    if request_id in labelled:
        snippet, label = labelled[request_id].parts, labelled[request_id].label
    elif title_parts is None and marked(requester_name, words) is None:
        snippet = _snippet(notes if in_note else public)
    return SearchResult(id=request_id, title=title, state=state, service_name=service_name,
                        requester_name=requester_name, created_at=created_at,
                        snippet=snippet, in_note=in_note, snippet_label=label,
                        title_parts=tuple(title_parts or [(title, False)]))


def search_requests(
    session: Session, *, user: User, team_ids: Collection[int], words: list[str],
    filters: SearchFilters = SearchFilters(), before: int | None = None,
    limit: int = PAGE_SIZE,
) -> SearchPage:
    """The requests `user` may see that hold every one of `words`, newest first, after
    the request `before` (keyset); `team_ids`: the viewer's teams."""
    if not words or not user.is_active:
        return SearchPage([], None, 0, True)
    dialect = session.get_bind().dialect.name
    narrowing = _narrowing(session, filters, months=dialect == "sqlite")
    params: dict[str, Any] = {
        "q": _query(dialect, words, user=user, team_ids=team_ids, narrowing=narrowing),
        "before": min(before or MAX_ID + 1, MAX_ID + 1), "me": user.id, "limit": limit + 1,
        "words": " & ".join(f"'{word}'" for word in words),
    }
    where = _filters_sql(filters, params)
    if dialect != "sqlite" and (filters.filed_from or filters.filed_until):
        where += _id_range(session, filters, params)
    rows = session.execute(_typed(_page_sql(dialect, where), rows=True), params).all()
    labelled = best_parts(session, words=words, titles={row[0]: row[1] for row in rows[:limit]},
                          notes_of={row[0] for row in rows[:limit] if _in_note(row)})
    results = [_result(row, words, labelled) for row in rows[:limit]]
    next_before = results[-1].id if len(rows) > limit else None
    if before is None and len(rows) <= limit:
        count, exact = len(rows), True  # the whole answer is on this page
    else:
        params["before"] = MAX_ID + 1
        counted = session.execute(_typed(
            f"SELECT count(*) FROM ({_matches_sql(dialect, where)} "
            f"LIMIT {COUNT_LIMIT + 1}) m"),
            params).scalar_one()
        count, exact = min(counted, COUNT_LIMIT), counted <= COUNT_LIMIT
    return SearchPage(results, next_before, count, exact)
