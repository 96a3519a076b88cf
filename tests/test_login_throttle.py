"""Login throttling: the rules, counted in the database per account and per address."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.rules.login_throttle import (
    ACCOUNT,
    ADDRESS,
    Attempt,
    TooManyAttempts,
    address_key,
    check_allowed,
    count_attempt,
    record_success,
)
from app.storage.clock import frozen_at
from app.storage.models import AdminEvent, LoginThrottle

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = "ana@example.com"


def attempt(session: Session, at: datetime, *, email: str = EMAIL,
            address: str = "203.0.113.5") -> Attempt:
    with frozen_at(at):
        return count_attempt(session, email=email, address=address)


def fail(session: Session, at: datetime, *, email: str = EMAIL,
         address: str = "203.0.113.5") -> TooManyAttempts | None:
    """An attempt whose password turns out wrong: the block it started or, while
    blocked, the refusal."""
    try:
        return attempt(session, at, email=email, address=address).block
    except TooManyAttempts as refused:
        return refused


def succeed(session: Session, at: datetime, *, email: str = EMAIL,
            address: str = "203.0.113.5") -> None:
    counted = attempt(session, at, email=email, address=address)
    with frozen_at(at):
        record_success(session, counted)


def refusal(session: Session, at: datetime, *, email: str = EMAIL,
            address: str = "203.0.113.5") -> TooManyAttempts | None:
    with frozen_at(at):
        try:
            check_allowed(session, email=email, address=address)
        except TooManyAttempts as refused:
            return refused
    return None


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_an_account_is_blocked_for_a_minute_at_its_fifth_failure(session: Session):
    for n in range(4):
        assert fail(session, START + minutes(n)) is None
        assert refusal(session, START + minutes(n)) is None
    block = fail(session, START + minutes(4))
    assert block is not None and block.seconds == 60
    assert block.message == "Too many attempts: try again in 1 minute."
    refused = refusal(session, START + minutes(4.5))
    assert refused is not None and refused.seconds == 30
    assert refusal(session, START + minutes(5)) is None


def test_each_block_of_a_streak_lasts_twice_as_long_up_to_fifteen_minutes(session: Session):
    at = START
    for _ in range(4):
        fail(session, at)
    lengths = []
    for _ in range(7):
        block = fail(session, at)
        assert block is not None
        lengths.append(block.seconds // 60)
        at = block.until  # the first attempt the block lets through fails again
    assert lengths == [1, 2, 4, 8, 15, 15, 15]
    assert refusal(session, at - minutes(1)).message == (  # type: ignore[union-attr]
        "Too many attempts: try again in 1 minute.")


def test_failures_outside_the_window_do_not_add_up(session: Session):
    for n in range(4):
        fail(session, START + minutes(n))
    # Sixteen minutes after the first failure the count starts afresh.
    for n in range(4):
        assert fail(session, START + minutes(16 + n)) is None
    assert fail(session, START + minutes(20)) is not None


def test_a_streak_ends_a_window_after_its_last_block(session: Session):
    for _ in range(5):
        block = fail(session, START)
    assert block is not None
    # 15 minutes after the block ended, a failure is the first of a new count.
    assert fail(session, block.until + minutes(15)) is None


def test_the_address_is_blocked_at_thirty_failures_whichever_accounts_they_were_for(
    session: Session,
):
    for n in range(29):
        assert fail(session, START, email=f"person{n}@example.com") is None
    block = fail(session, START, email="person29@example.com")
    assert block is not None
    # Any account, even one never tried, is refused from that address, not from another.
    assert refusal(session, START, email="someone.else@example.com") is not None
    assert refusal(session, START, email="someone.else@example.com",
                   address="198.51.100.7") is None


def test_the_account_is_blocked_from_every_address(session: Session):
    for n in range(5):
        fail(session, START, address=f"198.51.100.{n}")
    assert refusal(session, START, address="192.0.2.99") is not None


def test_the_e_mail_is_counted_whatever_its_case_and_spaces(session: Session):
    for email in ["Ana@Example.com", " ana@example.com", "ANA@EXAMPLE.COM ", EMAIL, EMAIL]:
        fail(session, START, email=email)
    assert refusal(session, START, email="aNa@example.COM") is not None


def test_a_sign_in_clears_the_accounts_count_but_not_the_addresss(session: Session):
    for _ in range(4):
        fail(session, START)
    succeed(session, START, email=EMAIL.upper())
    for _ in range(4):
        assert fail(session, START) is None
    # The sign-in's own attempt was taken back off the address's count.
    rows = {row.kind: row.failures for row in session.exec(select(LoginThrottle))}
    assert rows == {ACCOUNT: 4, ADDRESS: 8}


def test_an_attempt_is_counted_before_its_password_is_checked(session: Session):
    for _ in range(4):
        attempt(session, START)  # in flight: no answer yet
    fifth = attempt(session, START)
    # The fifth starts the block and is still checked; a sixth is refused unchecked.
    assert fifth.block is not None and fifth.block.seconds == 60
    refused = fail(session, START)
    assert refused is not None and refused.seconds == 60
    failures = session.exec(select(LoginThrottle.failures).where(
        col(LoginThrottle.kind) == ACCOUNT)).one()
    assert failures == 5  # attempts refused during a block are not counted


def test_the_right_password_at_the_threshold_signs_in_and_lifts_the_blocks_it_started(
    session: Session,
):
    for n in range(4):
        fail(session, START, email=f"person{n}@example.com")
    for n in range(25):
        fail(session, START, email=f"other{n}@example.com")
    # The 30th attempt from the address is Ana's own, with the right password.
    succeed(session, START)
    assert refusal(session, START, email="someone.else@example.com") is None
    row = session.get(LoginThrottle, (ADDRESS, "203.0.113.5"), populate_existing=True)
    assert row is not None and (row.failures, row.blocks) == (29, 0)
    assert fail(session, START, email="someone.else@example.com") is not None


def test_each_block_is_written_to_the_audit_log(session: Session):
    for _ in range(6):
        fail(session, START)
    events = session.exec(
        select(AdminEvent).where(AdminEvent.action == "sign-in blocked")).all()
    assert [event.subject for event in events] == [f"account {EMAIL}"]
    assert events[0].actor_id is None
    assert "refused until 09:01:00 UTC" in events[0].detail


def test_each_key_has_one_row_and_ended_streaks_are_swept(session: Session):
    for n in range(20):
        fail(session, START + timedelta(seconds=n))
    assert session.exec(select(func.count()).select_from(LoginThrottle)).one() == 2
    fail(session, START + timedelta(hours=2), email="bo@example.com", address="192.0.2.1")
    keys = set(session.exec(select(LoginThrottle.kind, LoginThrottle.key)).all())
    assert keys == {(ACCOUNT, "bo@example.com"), (ADDRESS, "192.0.2.1")}


@pytest.mark.parametrize(("host", "key"), [
    ("203.0.113.5", "203.0.113.5"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.5", "203.0.113.5"),
    ("testclient", "testclient"),
    (None, "unknown"),
])
def test_an_address_is_counted_by_its_ipv6_64_or_as_given(host: str | None, key: str):
    assert address_key(host) == key


def test_the_count_is_in_the_database_shared_by_every_connection(committed: Engine):
    # Two sessions on two connections stand for two worker processes.
    with Session(committed) as first, Session(committed) as second:
        for _ in range(5):
            fail(first, START)
        assert refusal(second, START + minutes(0.5)) is not None
        with frozen_at(START):
            record_success(second, Attempt(email=EMAIL, address="203.0.113.5",
                                           block=None, address_block_until=None))
        assert refusal(first, START + minutes(0.5)) is None


def test_attempts_sent_at_the_same_moment_are_counted_one_by_one(committed: Engine):
    threads = 20
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    let_through: list[Attempt] = []
    refused: list[TooManyAttempts] = []

    def one_attempt() -> None:
        try:
            with Session(committed) as session:
                barrier.wait()
                try:
                    let_through.append(attempt(session, START))
                except TooManyAttempts as refusal:
                    refused.append(refusal)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    workers = [threading.Thread(target=one_attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [str(error) for error in errors] == []  # with the statement that failed
    assert (len(let_through), len(refused)) == (5, 15)
    assert sum(counted.block is not None for counted in let_through) == 1
    with Session(committed) as session:
        failures = session.exec(select(LoginThrottle.failures).where(
            col(LoginThrottle.kind) == ACCOUNT)).one()
    assert failures == 5


def test_the_sweep_skips_rows_another_transaction_holds_instead_of_waiting(
    committed: Engine,
):
    # A sweep that waited for a row lock while holding its own rows could deadlock
    # with an attempt holding that row and waiting for one of the sweep's.
    if committed.dialect.name != "postgresql":
        pytest.skip("SQLite's write transactions hold the whole database: no row locks")
    with Session(committed) as setup:
        fail(setup, START, email="old@example.com", address="192.0.2.1")
    with Session(committed) as holder:
        holder.exec(select(LoginThrottle).where(
            LoginThrottle.key == "old@example.com").with_for_update()).one()
        finished = threading.Event()

        def later_attempt() -> None:
            with Session(committed) as session:
                fail(session, START + timedelta(hours=2))
            finished.set()

        worker = threading.Thread(target=later_attempt)
        worker.start()
        assert finished.wait(timeout=10), "the sweep waited for a locked row"
        worker.join()
        holder.rollback()
    with Session(committed) as session:
        keys = set(session.exec(select(LoginThrottle.kind, LoginThrottle.key)).all())
    # The held row is left for a later sweep; the other expired one is gone.
    assert keys == {(ACCOUNT, "old@example.com"), (ACCOUNT, EMAIL), (ADDRESS, "203.0.113.5")}
