"""Signing in: passwords (argon2) and login sessions.

A browser holds a random token in an HttpOnly cookie (app.web.auth); the database holds
only an HMAC of it with the secret key, next to the session's CSRF token.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlmodel import Session, col, delete, select

from app.config import get_settings
from app.rules.inputs import InputInvalid, parse_time_zone
from app.storage.db import one_transaction
from app.storage.models import LoginSession, User, utcnow

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) rather than the
# library's 64 MiB default: every sign-in allocates this much, and 64 MiB was most of a
# worker's peak memory. Hashes made with other parameters still verify.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a
# wrong password and login timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("baton-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash. An empty or unreadable hash (or a password
    that cannot be encoded) matches nothing: a failed sign-in, never an error."""
    if not password_hash:
        # Checked against the dummy hash for the time it takes, never for its answer:
        # an empty hash must not accept the dummy's password.
        _verify(_DUMMY_HASH, password)
        return False
    return _verify(password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    # InvalidHashError and UnicodeEncodeError (a character that is not UTF-8, in the
    # hash or the password) are both ValueErrors.
    except (VerificationError, ValueError):
        return False


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


@one_transaction
def start_session(session: Session, *, user: User, browser_zone: str = "") -> str:
    """Signs the user in; returns the token for the cookie. Commits.

    `browser_zone`: the time zone the sign-in form read from the browser. Kept as the
    person's when they have none yet (a zone chosen on the profile stays); a name this
    system does not know is ignored: it never stops anyone signing in."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    if user.time_zone is None:
        try:
            zone = parse_time_zone(browser_zone)
        except InputInvalid:
            zone = None
        if zone is not None:
            user.time_zone = zone
            session.add(user)
    session.exec(delete(LoginSession).where(  # type: ignore[call-overload]
        col(LoginSession.user_id) == user.id, col(LoginSession.expires_at) < now
    ))
    session.add(LoginSession(
        token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, expires_at=now + timedelta(days=get_settings().session_days),
    ))
    session.commit()
    return token


@one_transaction
def end_session(session: Session, *, token: str) -> None:
    session.exec(delete(LoginSession).where(  # type: ignore[call-overload]
        col(LoginSession.token_hash) == token_hash(token)
    ))
    session.commit()


def token_hash(token: str) -> str:
    """What the database keeps of a login token: an HMAC with the secret key."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()
