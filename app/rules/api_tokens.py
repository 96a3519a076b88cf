"""Personal access tokens (issue 15): a person makes one on their profile page, sees its
secret once, and revokes it; admins see and revoke anyone's; deactivating a person ends
theirs (app.rules.people.deactivate_person calls end_tokens_of).

Using a token is one statement (use_token): it finds a live token by its secret's hash
and counts the request in the token's rate window, so the rate limit's state lives in
the database with everything else. Two app processes (PRODUCT.md: "no in-process state
that breaks with two processes") share it, and a token's limit is the same whichever
process answers. It costs one short write per API request; reads of the pages never
pay it.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, update
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
        return max(1, int((self.window_start + RATE_WINDOW - now).total_seconds() + 0.999))


_TOKENS = ApiToken.__table__  # type: ignore[attr-defined]


@one_transaction
def use_token(session: Session, *, secret: str, now: datetime | None = None) -> TokenUse | None:
    """The live token whose secret this is, counted once in its rate window (the window
    is the minute `now` falls in); None for an unknown, revoked or expired token, which
    nothing is written for. Its `last_used_at` moves when a new window begins, so at
    most once a minute, in the same statement."""
    now = now or utcnow()
    window = now.replace(second=0, microsecond=0)
    t = _TOKENS.c
    fresh = or_(t.window_start.is_(None), t.window_start != window)
    row = session.execute(
        update(_TOKENS)
        .where(t.secret_hash == secret_hash(secret), t.revoked_at.is_(None), t.expires_at > now)
        .values(window_count=case((fresh, 1), else_=t.window_count + 1), window_start=window,
                last_used_at=case((fresh, now), else_=t.last_used_at))
        .returning(t.id, t.user_id, t.name, t.read_only, t.window_count)
    ).first()
    session.commit()
    if row is None:
        return None
    return TokenUse(token_id=row.id, user_id=row.user_id, name=row.name,
                    read_only=row.read_only, window_start=window, count=row.window_count)
