"""Login throttling: the rules, counted in the database per account and per address."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.clock import frozen_at
from app.login_throttle import (
    ACCOUNT,
    ADDRESS,
    TooManyAttempts,
    address_key,
    check_allowed,
    record_failure,
    record_success,
)
from app.models import AdminEvent, LoginThrottle

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = "ana@example.com"


def fail(session: Session, at: datetime, *, email: str = EMAIL,
         address: str = "203.0.113.5") -> TooManyAttempts | None:
    with frozen_at(at):
        return record_failure(session, email=email, address=address)


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
    with frozen_at(START):
        record_success(session, email=EMAIL.upper())
    for _ in range(4):
        assert fail(session, START) is None
    rows = {row.kind: row.failures for row in session.exec(select(LoginThrottle))}
    assert rows == {ACCOUNT: 4, ADDRESS: 8}


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
            record_success(second, email=EMAIL)
        assert refusal(first, START + minutes(0.5)) is None


def test_failures_recorded_at_the_same_moment_are_all_counted(committed: Engine):
    threads = 4
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def one_failure() -> None:
        try:
            with Session(committed) as session:
                barrier.wait()
                fail(session, START)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    workers = [threading.Thread(target=one_failure) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with Session(committed) as session:
        failures = session.exec(select(LoginThrottle.failures).where(
            col(LoginThrottle.kind) == ACCOUNT)).one()
    assert failures == threads
