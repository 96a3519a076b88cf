"""Who is asking: the login session a request's cookie names, its person and their
teams, read in one statement when the request's database session opens (app.storage.db)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, String, bindparam
from sqlalchemy import cast as sql_cast
from sqlalchemy import select as core_select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select
from starlette.requests import HTTPConnection

from app.reads.inbox import bell_of
from app.rules.sign_in import token_hash
from app.storage.directory_cache import note_directory_version
from app.storage.driver_reads import DriverRead
from app.storage.models import LoginSession, Membership, User, utcnow
from app.storage.page_versions import directory_version
from app.storage.snapshots import Snapshot

SESSION_COOKIE = "baton_session"
ANON_CSRF_COOKIE = "baton_csrf"


@dataclass
class Viewer:
    """Who is looking: the signed-in person (or None) and the CSRF token to embed.
    `user` is a snapshot made without the ORM (load_viewer): read it, never set its
    attributes nor hand it to a session; a rule that changes the person reads them
    again (app.rules.people.set_time_zone)."""

    user: User | None
    csrf_token: str
    team_ids: frozenset[int] = frozenset()
    # app.storage.page_versions, read in the same statement as the person's teams and roles.
    directory_version: int = 0
    # The bell's unread count (app.reads.inbox), read with the person for a whole page
    # asked for: None for a fragment or a form's answer, which mostly show no navigation.
    unread: int | None = None
    # How to read it for a form's answer that is a whole page after all (a refused form
    # shown again): only when that page is drawn (bell_count), so a post answered with a
    # redirect or a fragment never reads it.
    unread_later: Callable[[], int] | None = field(default=None, repr=False, compare=False)

    @property
    def is_team_member(self) -> bool:
        return bool(self.team_ids)

    def bell_count(self) -> int | None:
        """The count the navigation's bell shows (None: none)."""
        if self.unread is None and self.unread_later is not None:
            read, self.unread_later = self.unread_later, None
            try:
                self.unread = read()
            except SQLAlchemyError:  # its session ended with a refusal: no count
                return None
        return self.unread


class CommaList(FunctionElement[str]):
    """Values joined by commas, as SQLAlchemy's aggregate_strings joins them, with the
    comma written in the SQL: aggregate_strings binds it at each execution, which
    finishes the statement's SQL anew every time (and keeps it from
    app.storage.driver_reads)."""

    type = String()
    name = "comma_list"
    inherit_cache = True


@compiles(CommaList, "postgresql")
def _comma_list_on_postgresql(element: CommaList, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


@compiles(CommaList)  # SQLite's, and what str() of a statement shows
def _comma_list(element: CommaList, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


# A person's teams, as one column beside them ("3,7"): read with the person, not after.
TEAMS_OF_USER = (select(CommaList(sql_cast(Membership.team_id, String)))
                 .where(Membership.user_id == User.id).scalar_subquery())


def team_ids_of(teams: str | None) -> frozenset[int]:
    return frozenset(int(team) for team in (teams or "").split(",") if team)


# The login, its person and their teams in one statement: every request reads it. Built
# once, with the token's hash bound at each request (building its comparison again cost
# about a tenth of a millisecond a page). Columns, not the login's and the person's
# objects: the page gets a snapshot of the person anyway (load_viewer), and loading two
# objects into the session to copy one cost another 0.1 ms a page (SQLite, 20k).
_PERSON = Snapshot(User)
_VIEWER = (
    core_select(col(LoginSession.expires_at), col(LoginSession.csrf_token), *_PERSON.columns,
                TEAMS_OF_USER, directory_version)
    .join(User, col(User.id) == LoginSession.user_id)
    .where(col(LoginSession.token_hash) == bindparam("token_hash", type_=String))
)
_FIRST_PERSON = 2
_TEAMS = _FIRST_PERSON + len(_PERSON)
# The same with the bell's unread count (app.reads.inbox.bell_of) for a whole page: the
# count in the viewer's statement, not a statement of its own after it (one round trip
# less on every page; on PostgreSQL 0.2-0.4 ms).
_VIEWER_WITH_BELL = _VIEWER.add_columns(bell_of(cast(ColumnElement[int], col(User.id))))
_VIEWER_READ, _VIEWER_WITH_BELL_READ = DriverRead(_VIEWER), DriverRead(_VIEWER_WITH_BELL)


def load_viewer(request: HTTPConnection, session: Session) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        bell = _shows_navigation(request)
        read = _VIEWER_WITH_BELL_READ if bell else _VIEWER_READ
        row = read.first(session.connection(), {"token_hash": token_hash(token)})
        if row is not None:
            expires_at, csrf_token = row[:_FIRST_PERSON]
            # A snapshot, not an object of the session (app.storage.snapshots): a rule
            # that fails rolls the session back (expiring its objects) and the error
            # page must still know who you are.
            user = _PERSON.made(row, _FIRST_PERSON)
            teams, directory = row[_TEAMS], row[_TEAMS + 1]
            if expires_at > utcnow() and user.is_active:
                # What the page reads of the directory may come from memory, as read at
                # this version (app.storage.directory_cache).
                note_directory_version(session, directory)
                unread = int(row[_TEAMS + 2]) if bell else None
                # An htmx GET (a fragment, or a page it keeps a part of) shows no bell.
                answers_a_form = request.scope.get("method") not in ("GET", "HEAD")
                later = partial(_read_bell, session, user.id) \
                    if answers_a_form and not bell else None
                return Viewer(user=user, csrf_token=csrf_token, team_ids=team_ids_of(teams),
                              directory_version=directory, unread=unread, unread_later=later)
    anon = request.cookies.get(ANON_CSRF_COOKIE) or ""
    return Viewer(user=None, csrf_token=anon)


_BELL_READ = DriverRead(core_select(bell_of(bindparam("user", type_=Integer))))


def _read_bell(session: Session, user_id: int) -> int:
    return int(_BELL_READ.first(session.connection(), {"user": user_id})[0])


def _shows_navigation(request: HTTPConnection) -> bool:
    """A whole page (a GET that is not htmx asking for a fragment) shows the bell."""
    return (request.scope.get("method") in ("GET", "HEAD")
            and (request.headers.get("HX-Request") != "true"
                 or request.headers.get("HX-History-Restore-Request") == "true"))
