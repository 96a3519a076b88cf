"""Personal access tokens (issue 15): a person makes one on their profile page, sees its
secret once, and revokes it; admins see and revoke anyone's; deactivating a person ends
theirs (app.rules.people.deactivate_person calls end_tokens_of).

Using a token (use_token, or the API's caller lookup with live_token and count_use)
finds a live token by its secret's hash, in the request's own read, and counts the
request in the token's rate window. The window's count lives in the database with
everything else (PRODUCT.md: "no in-process state that breaks with two processes"): each
process adds its calls to the token's row and reads back the total. It does so at the
first call of a window, then after every SYNC_EVERY calls or SYNC_PERIOD, not at every
call: a write and its commit cost more than the rest of a small API answer (1.1-1.4 ms
on PostgreSQL at 1M requests), and most calls now write nothing. A process's count is
the total it last read plus its own calls since, exact with one process; with several,
a token may pass its limit by what the others counted since their last writes (at most
SYNC_EVERY calls each, or a second of their traffic) before every process refuses it.
"""

import hashlib
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, case, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from app.rules.audit import record_admin_action
from app.rules.errors import FormInvalid, InvalidTransition, NotAllowed
from app.rules.inputs import InputInvalid, one_line
from app.storage.api_tables import MAX_TOKEN_NAME, ApiToken
from app.storage.db import one_transaction
from app.storage.models import User, utcnow

TOKEN_PREFIX = "baton_"
EXPIRY_DAYS = (7, 30, 90, 365)
# Live tokens one person may hold at once: enough for every system they run.
MAX_LIVE_TOKENS = 50
RATE_WINDOW = timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def is_live(token: ApiToken, now: datetime | None = None) -> bool:
    return token.revoked_at is None and token.expires_at > (now or utcnow())


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "live" if token.expires_at > (now or utcnow()) else "expired"


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def _clean_name(name: str) -> str:
    try:
        clean = one_line(name, limit=MAX_TOKEN_NAME)
    except InputInvalid as invalid:
        raise FormInvalid({"name": invalid.message}) from None
    if not clean:
        raise FormInvalid({"name": "Give the token a name, such as the system that uses it."})
    return clean


@one_transaction
def create_token(session: Session, *, owner: User, name: str, days: int,
                 read_only: bool) -> NewToken:
    """A new token of `owner`'s, valid `days` days (one of EXPIRY_DAYS)."""
    clean = _clean_name(name)
    if days not in EXPIRY_DAYS:
        raise FormInvalid({"days": "Choose one of the offered expiries."})
    now = utcnow()
    live = session.exec(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == owner.id, col(ApiToken.revoked_at).is_(None),
        ApiToken.expires_at > now)).one()
    if live >= MAX_LIVE_TOKENS:
        raise FormInvalid({"name": f"You have {live} live tokens: revoke one you no longer "
                                   "use first."})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=owner.id, name=clean, secret_hash=secret_hash(secret),
                     read_only=read_only, created_at=now, expires_at=now + timedelta(days=days))
    session.add(token)
    session.commit()
    return NewToken(token, secret)


def tokens_of(session: Session, *, owner_id: int) -> list[ApiToken]:
    """A person's tokens, newest first (revoked and expired ones too, for the record)."""
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == owner_id)
                             .order_by(col(ApiToken.id).desc()).limit(200)))


@one_transaction
def revoke_token(session: Session, *, token_id: int, by: User) -> ApiToken:
    """Its owner, or an admin (logged in the admin audit log), ends a token for good."""
    token = session.exec(select(ApiToken).where(ApiToken.id == token_id)
                         .with_for_update()).first()
    if token is None or (token.user_id != by.id and not by.is_admin):
        raise NotAllowed("There is no such token of yours.")
    if token.revoked_at is not None:
        raise InvalidTransition("This token is revoked already.")
    token.revoked_at = utcnow()
    if token.user_id != by.id:
        owner = session.get_one(User, token.user_id)
        record_admin_action(session, by=by, action="token.revoked",
                            subject=f"{owner.name} <{owner.email}>",
                            detail=f"API token {token.name}")
    session.commit()
    return token


def end_tokens_of(session: Session, *, person: User, at: datetime) -> int:
    """Revokes every token of `person` not revoked yet; the caller's transaction commits
    (deactivating a person). Reactivating them does not bring the tokens back."""
    result = session.exec(update(ApiToken).where(  # type: ignore[call-overload]
        col(ApiToken.user_id) == person.id, col(ApiToken.revoked_at).is_(None),
    ).values(revoked_at=at))
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class TokenUse:
    """A live token that was just used, and its count in the current rate window."""

    token_id: int
    user_id: int
    name: str
    read_only: bool
    window_start: datetime
    count: int

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, math.ceil((self.window_start + RATE_WINDOW - now).total_seconds()))


_TOKENS = ApiToken.__table__  # type: ignore[attr-defined]


# A process writes its calls to the token's window after this many, or this long since
# its last write (and at a window's first call): see the module's docstring.
SYNC_EVERY = 20
SYNC_PERIOD = timedelta(seconds=1)


def live_token(secret: str, now: datetime) -> Select:  # type: ignore[type-arg]
    """The live token whose secret this is: its id, person, name and whether it is
    read-only (a statement, so the API can read its caller in the same one)."""
    t = _TOKENS.c
    return sa_select(t.id, t.user_id, t.name, t.read_only).where(
        t.secret_hash == secret_hash(secret), t.revoked_at.is_(None), t.expires_at > now)


@dataclass
class _Window:
    """One token's rate window as this process counts it."""

    start: datetime
    total: int = 0  # the token's count in the database when this process last wrote
    unwritten: int = 0  # this process's calls since
    writing: int = 0  # calls being written by another thread at this moment
    written_at: datetime | None = None

    @property
    def seen(self) -> int:
        return self.total + self.writing + self.unwritten


_windows: dict[str, _Window] = {}  # by secret hash: a token id is reused by a new database
_windows_lock = threading.Lock()
MAX_WINDOWS = 10_000


def count_use(session: Session, *, token_id: int, secret: str, now: datetime) -> int:
    """Counts one call of the token in the window `now` falls in, and says how many it
    made in that window, as far as this process knows (see the module's docstring)."""
    window = now.replace(second=0, microsecond=0)
    key = secret_hash(secret)
    with _windows_lock:
        counted = _windows.get(key)
        if counted is not None and counted.start > window:
            # A call stamped just before the minute, counted after the next one's began:
            # it counts in the new window, which never goes back.
            window = counted.start
        elif counted is None or counted.start != window:
            if len(_windows) >= MAX_WINDOWS:
                for old in [k for k, w in _windows.items() if w.start != window]:
                    del _windows[old]
            counted = _windows[key] = _Window(start=window)
        counted.unwritten += 1
        due = (counted.written_at is None or counted.unwritten >= SYNC_EVERY
               or now - counted.written_at >= SYNC_PERIOD)
        if not due:
            return counted.seen
        calls, counted.unwritten, counted.written_at = counted.unwritten, 0, now
        counted.writing += calls  # still seen by the other threads while it is written
    try:
        total = _add_calls(session, token_id=token_id, window=window, calls=calls, now=now)
    except BaseException:
        with _windows_lock:  # not written: counted again at the next write
            counted.writing -= calls
            counted.unwritten += calls
        raise
    with _windows_lock:
        counted.writing -= calls
        counted.total = max(counted.total, total)
        return counted.seen


@one_transaction
def _add_calls(session: Session, *, token_id: int, window: datetime, calls: int,
               now: datetime) -> int:
    """Adds `calls` to the token's count in `window` (a later window starts at them; an
    earlier one, from a late call, never replaces the row's) and returns the count;
    `last_used_at` moves when a new window begins, so at most once a minute, in the same
    statement."""
    t = _TOKENS.c
    fresh = or_(t.window_start.is_(None), t.window_start < window)
    total = session.execute(
        update(_TOKENS).where(t.id == token_id)
        .values(window_count=case((fresh, calls), else_=t.window_count + calls),
                window_start=case((fresh, window), else_=t.window_start),
                last_used_at=case((fresh, now), else_=t.last_used_at))
        .returning(t.window_count)
    ).scalar()
    session.commit()
    return int(total or calls)


def use_token(session: Session, *, secret: str, now: datetime | None = None) -> TokenUse | None:
    """The live token whose secret this is, counted once in its rate window (the window
    is the minute `now` falls in); None for an unknown, revoked or expired token, which
    nothing is counted for."""
    now = now or utcnow()
    row = session.execute(live_token(secret, now)).first()
    if row is None:
        return None
    count = count_use(session, token_id=row.id, secret=secret, now=now)
    return TokenUse(token_id=row.id, user_id=row.user_id, name=row.name,
                    read_only=row.read_only, window_start=now.replace(second=0, microsecond=0),
                    count=count)
