"""Login throttling: failed sign-ins slow down whoever keeps guessing.

Failures are counted per account (the e-mail typed, lower-cased, whether or not anyone
has it, so that a refusal never tells who has an account) and per client address, in
the database, so the count holds across worker processes and containers.

Every attempt is counted as a failure before its password is checked, in one
transaction that locks the key's row (count_attempt), so attempts sent in parallel are
counted one after another and cannot all slip past the count while their passwords are
being checked; a correct sign-in then takes its attempt back (record_success).

The attempt that brings a key to `threshold` within `window` blocks it for
`first_block` (that attempt's own password is still checked: at most `threshold`
guesses are checked per streak before the first block); every further attempt after a
block ends, while the key's streak lasts, blocks it again for twice as long, up to
`max_block`. A streak ends `window` after its first failure or, once blocked, `window`
after its last block ends. An attempt while blocked is refused, and not counted,
before the password is looked at, so the right password does not help during a block.
Signing in clears the account's count and takes the attempt back off the address's
count (with the address's block, if that attempt started it), but leaves the
address's other failures (one's own account must not wipe out a count of guesses at
others').

Each key has one row, updated in place; rows whose streak has ended are swept by every
attempt, so the table holds only keys that failed recently.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select

from app.rules.audit import record_admin_action
from app.storage.db import one_transaction
from app.storage.models import LoginThrottle, utcnow

ACCOUNT = "account"
ADDRESS = "address"
_KEY_LENGTH = 254


@dataclass(frozen=True)
class Policy:
    threshold: int
    window: timedelta
    first_block: timedelta
    max_block: timedelta

    def block_for(self, blocks: int) -> timedelta:
        """How long the `blocks`-th block of a streak lasts (1, 2, 4 … minutes)."""
        return min(self.first_block * 2 ** min(blocks - 1, 20), self.max_block)


# An address may be shared by many people (an office behind one NAT), hence its
# higher threshold.
POLICIES = {
    ACCOUNT: Policy(threshold=5, window=timedelta(minutes=15),
                    first_block=timedelta(minutes=1), max_block=timedelta(minutes=15)),
    ADDRESS: Policy(threshold=30, window=timedelta(minutes=15),
                    first_block=timedelta(minutes=1), max_block=timedelta(minutes=15)),
}


class TooManyAttempts(Exception):
    """Sign-ins for this account or from this address are refused until `until`."""

    def __init__(self, *, until: datetime, now: datetime):
        self.until = until
        self.seconds = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(self.message)

    @property
    def message(self) -> str:
        minutes = math.ceil(self.seconds / 60)
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many attempts: try again in {minutes} {unit}."


def account_key(email: str) -> str:
    return email.strip().lower()[:_KEY_LENGTH]


def address_key(host: str | None) -> str:
    """An IPv6 client is counted by its /64: one host usually has a whole /64 to
    choose addresses from."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:_KEY_LENGTH]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(*, email: str, address: str | None) -> list[tuple[str, str]]:
    return [(ACCOUNT, account_key(email)), (ADDRESS, address_key(address))]


def check_allowed(session: Session, *, email: str, address: str | None) -> None:
    """Raises TooManyAttempts while the account or the address is blocked. Reads only
    and counts nothing (a look, e.g. for tests or tools; signing in uses count_attempt)."""
    now = utcnow()
    blocked_until = [
        row.blocked_until
        for kind, key in _keys(email=email, address=address)
        if (row := session.get(LoginThrottle, (kind, key), populate_existing=True)) is not None
        and row.blocked_until is not None and row.blocked_until > now
    ]
    if blocked_until:
        raise TooManyAttempts(until=max(blocked_until), now=now)


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt counted as a failure before its password is checked.

    `block` is the block it started (the answer if the password is wrong);
    `address_block_until` is the end of the address's block it started, which a
    correct sign-in takes back along with the attempt."""

    email: str
    address: str | None
    block: TooManyAttempts | None
    address_block_until: datetime | None


@one_transaction
def count_attempt(session: Session, *, email: str, address: str | None) -> Attempt:
    """Counts a sign-in attempt against the account and the address, before its password
    is checked; raises TooManyAttempts (counting nothing) while either is blocked. An
    attempt that brings a key to its threshold starts the key's block (written to the
    audit log) and is itself still let through. Commits."""
    now = utcnow()
    # Always the account's row first, then the address's: two attempts lock their rows
    # in the same order and never wait for each other in a cycle.
    rows = [(kind, _locked_row(session, kind=kind, key=key, now=now))
            for kind, key in _keys(email=email, address=address)]
    blocked_until = [row.blocked_until for _, row in rows
                     if row.blocked_until is not None and row.blocked_until > now]
    if blocked_until:
        raise TooManyAttempts(until=max(blocked_until), now=now)  # rolled back
    blocks = {kind: block for kind, row in rows
              if (block := _count_failure(session, row, now=now)) is not None}
    _sweep(session, now=now)
    session.commit()
    return Attempt(
        email=email, address=address,
        block=max(blocks.values(), key=lambda block: block.until) if blocks else None,
        address_block_until=blocks[ADDRESS].until if ADDRESS in blocks else None,
    )


def _count_failure(
    session: Session, row: LoginThrottle, *, now: datetime
) -> TooManyAttempts | None:
    policy = POLICIES[row.kind]
    if row.expires_at <= now:  # the streak has ended: start afresh
        row.failures, row.blocks, row.window_start, row.blocked_until = 0, 0, now, None
    row.failures += 1
    block = None
    if row.failures >= policy.threshold:
        row.blocks += 1
        row.blocked_until = now + policy.block_for(row.blocks)
        block = TooManyAttempts(until=row.blocked_until, now=now)
        record_admin_action(
            session, by=None, action="sign-in blocked", subject=f"{row.kind} {row.key}",
            detail=f"{row.failures} failed sign-ins since {row.window_start:%Y-%m-%d %H:%M} "
                   f"UTC; refused until {row.blocked_until:%H:%M:%S} UTC.",
        )
    # Counted within a fixed window from the first failure; once blocked, the streak
    # lasts until a window has passed since the block ended.
    row.expires_at = (row.blocked_until or row.window_start) + policy.window
    session.add(row)
    return block


def _locked_row(session: Session, *, kind: str, key: str, now: datetime) -> LoginThrottle:
    """The key's row, created if missing and locked until the transaction ends (on
    SQLite the write transaction already holds the database's write lock)."""
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    insert_into = sqlite_insert if session.get_bind().dialect.name == "sqlite" \
        else postgresql_insert
    session.exec(insert_into(table).values(  # type: ignore[call-overload]
        kind=kind, key=key, failures=0, blocks=0, window_start=now, expires_at=now,
    ).on_conflict_do_nothing(index_elements=["kind", "key"]))
    return session.exec(
        select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def _sweep(session: Session, *, now: datetime) -> None:
    """Deletes the rows whose streak has ended. Runs after the attempt's own rows are
    locked and never waits for a row lock: on PostgreSQL it skips the rows another
    transaction holds (they are swept by a later attempt), so it cannot deadlock with
    an attempt that holds one of them and waits for a row this one holds."""
    expired = col(LoginThrottle.expires_at) < now
    if session.get_bind().dialect.name == "postgresql":
        keys = select(LoginThrottle.kind, LoginThrottle.key).where(expired) \
            .with_for_update(skip_locked=True)
        expired = tuple_(col(LoginThrottle.kind), col(LoginThrottle.key)).in_(keys)
    session.exec(delete(LoginThrottle).where(expired))  # type: ignore[call-overload]


@one_transaction
def record_success(session: Session, attempt: Attempt) -> None:
    """After a correct sign-in: clears the account's count and takes the attempt back
    off the address's (with the address's block, if the attempt started it), so that
    a sign-in never counts against an address. Commits."""
    session.exec(delete(LoginThrottle).where(  # type: ignore[call-overload]
        col(LoginThrottle.kind) == ACCOUNT,
        col(LoginThrottle.key) == account_key(attempt.email)))
    row = session.exec(
        select(LoginThrottle).where(LoginThrottle.kind == ADDRESS,
                                    LoginThrottle.key == address_key(attempt.address))
        .with_for_update().execution_options(populate_existing=True)
    ).first()
    if row is not None and row.failures > 0:
        row.failures -= 1
        if attempt.address_block_until is not None \
                and row.blocked_until == attempt.address_block_until:
            row.blocks, row.blocked_until = row.blocks - 1, None
        session.add(row)
    session.commit()
