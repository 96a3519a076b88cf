"""Personal access tokens' rules (issue 15): made with a secret shown once and stored
hashed, revoked by their owner or an admin, ended by deactivating their person, and
used in one statement that also counts the rate window and the last-used time."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.rules import api_tokens
from app.rules.api_tokens import (
    EXPIRY_DAYS,
    RATE_WINDOW,
    NewToken,
    TokenUse,
    create_token,
    end_tokens_of,
    revoke_token,
    secret_hash,
    token_state,
    use_token,
)
from app.rules.errors import FormInvalid, InvalidTransition, NotAllowed
from app.rules.people import deactivate_person
from app.storage.api_tables import ApiToken
from app.storage.models import AdminEvent, utcnow
from tests.factories import Factory


def test_a_token_is_stored_as_the_hash_of_its_secret_only(session: Session, make: Factory):
    rita = make.user("Rita")
    made = create_token(session, owner=rita, name="HR system", days=30, read_only=False)
    stored = session.get_one(ApiToken, made.token.id)
    assert made.secret.startswith("baton_") and len(made.secret) > 40
    assert stored.secret_hash == secret_hash(made.secret)
    assert made.secret not in {str(value) for value in stored.model_dump().values()}
    assert stored.read_only is False
    assert stored.expires_at - stored.created_at == timedelta(days=30)


@pytest.mark.parametrize(("left", "said"), [
    (timedelta(seconds=44, microseconds=500), 45), (timedelta(seconds=45), 45),
    (timedelta(seconds=44, microseconds=999_999), 45), (timedelta(microseconds=1), 1),
    (timedelta(0), 1),
])
def test_retry_after_rounds_what_is_left_of_the_window_up(left: timedelta, said: int):
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    use = TokenUse(token_id=1, user_id=1, name="script", read_only=True, window_start=start,
                   count=61)
    assert use.retry_after(start + RATE_WINDOW - left) == said


@pytest.mark.parametrize(("name", "days", "field"), [
    ("", 30, "name"), ("   ", 30, "name"), ("x" * 61, 30, "name"), ("Fine", 31, "days"),
    ("Fine", 0, "days"),
])
def test_a_token_needs_a_name_and_an_offered_expiry(session: Session, make: Factory, name,
                                                    days, field):
    with pytest.raises(FormInvalid) as refused:
        create_token(session, owner=make.user(), name=name, days=days, read_only=True)
    assert list(refused.value.errors) == [field]


def test_using_a_token_finds_its_person_and_counts_the_minute(session: Session,
                                                              make: Factory):
    rita = make.user("Rita")
    made = create_token(session, owner=rita, name="script", days=EXPIRY_DAYS[0],
                        read_only=True)
    now = utcnow().replace(second=10)
    first = use_token(session, secret=made.secret, now=now)
    second = use_token(session, secret=made.secret, now=now + timedelta(seconds=5))
    assert first is not None and second is not None
    assert (first.user_id, first.name, first.read_only) == (rita.id, "script", True)
    assert (first.count, second.count) == (1, 2)
    assert second.retry_after(now + timedelta(seconds=5)) == 45
    session.refresh(made.token)
    # Last used moves once a minute: at the window's first request only.
    assert made.token.last_used_at == now
    later = use_token(session, secret=made.secret, now=now + timedelta(minutes=1))
    assert later is not None and later.count == 1
    session.refresh(made.token)
    assert made.token.last_used_at == now + timedelta(minutes=1)


def test_an_unknown_expired_or_revoked_token_is_not_used(session: Session, make: Factory):
    rita = make.user("Rita")
    made = create_token(session, owner=rita, name="script", days=7, read_only=True)
    assert use_token(session, secret=made.secret + "x") is None
    assert use_token(session, secret=made.secret, now=utcnow() + timedelta(days=8)) is None
    revoke_token(session, token_id=made.token.id, by=rita)
    assert use_token(session, secret=made.secret) is None
    assert token_state(made.token) == "revoked"


def test_only_its_owner_or_an_admin_revokes_a_token(session: Session, make: Factory):
    rita, other = make.user("Rita"), make.user("Other")
    admin = make.user("Adam", admin=True)
    made = create_token(session, owner=rita, name="script", days=7, read_only=True)
    with pytest.raises(NotAllowed):
        revoke_token(session, token_id=made.token.id, by=other)
    revoke_token(session, token_id=made.token.id, by=admin)
    with pytest.raises(InvalidTransition):
        revoke_token(session, token_id=made.token.id, by=rita)
    logged = session.exec(select(AdminEvent).where(AdminEvent.action == "token.revoked")).one()
    assert logged.actor_id == admin.id and "script" in logged.detail


def test_deactivating_a_person_ends_their_tokens_for_good(session: Session, make: Factory):
    rita, admin = make.user("Rita"), make.user("Adam", admin=True)
    live = create_token(session, owner=rita, name="one", days=30, read_only=False)
    create_token(session, owner=rita, name="two", days=30, read_only=True)
    deactivate_person(session, person=rita, by=admin)
    assert use_token(session, secret=live.secret) is None
    tokens = session.exec(select(ApiToken).where(ApiToken.user_id == rita.id)).all()
    assert [token_state(token) for token in tokens] == ["revoked", "revoked"]
    assert end_tokens_of(session, person=rita, at=utcnow()) == 0


def test_a_process_writes_its_calls_at_a_windows_start_and_then_in_batches(
        session: Session, make: Factory):
    made = create_token(session, owner=make.user("Rita"), name="script", days=7,
                        read_only=True)
    now = utcnow().replace(second=5, microsecond=0)
    counts = [use_token(session, secret=made.secret, now=now).count  # type: ignore[union-attr]
              for _ in range(api_tokens.SYNC_EVERY)]
    assert counts == list(range(1, api_tokens.SYNC_EVERY + 1))  # exact within one process
    session.refresh(made.token)
    assert made.token.window_count == 1  # only the window's first call was written
    use_token(session, secret=made.secret, now=now)  # a batch of SYNC_EVERY: written
    session.refresh(made.token)
    assert made.token.window_count == api_tokens.SYNC_EVERY + 1


def test_two_processes_count_a_token_together(session: Session, make: Factory,
                                              monkeypatch: pytest.MonkeyPatch):
    made = create_token(session, owner=make.user("Rita"), name="script", days=7,
                        read_only=True)
    now = utcnow().replace(second=5, microsecond=0)
    first: dict[str, object] = {}
    second: dict[str, object] = {}

    def in_process(windows: dict[str, object], at: datetime) -> int:
        monkeypatch.setattr(api_tokens, "_windows", windows)
        use = use_token(session, secret=made.secret, now=at)
        assert use is not None
        return use.count

    assert [in_process(first, now) for _ in range(5)] == [1, 2, 3, 4, 5]
    # The second process sees what the first wrote (its first call), not its calls since.
    assert in_process(second, now) == 2
    # A second on, the first process writes its four and reads both processes' calls.
    assert in_process(first, now + api_tokens.SYNC_PERIOD) == 7
    assert in_process(second, now + api_tokens.SYNC_PERIOD) == 8


def test_a_call_stamped_just_before_the_minute_counts_in_the_new_one(
        session: Session, make: Factory, monkeypatch: pytest.MonkeyPatch):
    """Threads take `now` before their read: around a minute's turn, one that read the
    clock at hh:mm:59.999 can count after others at hh:(mm+1):00.x."""
    monkeypatch.setattr(api_tokens, "_windows", {})
    made = create_token(session, owner=make.user("Rita"), name="script", days=7,
                        read_only=True)
    new_minute = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=2)
    counts = [use_token(session, secret=made.secret, now=new_minute + timedelta(
        milliseconds=10 * n)).count for n in range(45)]  # type: ignore[union-attr]
    assert counts[-1] == 45
    # One straggler of the minute before...
    use_token(session, secret=made.secret, now=new_minute - timedelta(milliseconds=1))
    # ... does not start the new minute's count over, in the process or the database.
    after = use_token(session, secret=made.secret, now=new_minute + timedelta(seconds=1))
    assert after is not None
    assert after.count >= 46, f"count went back to {after.count}"


def _a_batch_unwritten(session: Session, make: Factory, monkeypatch: pytest.MonkeyPatch
                       ) -> tuple[NewToken, datetime]:
    """A token with SYNC_EVERY calls counted since its window's first write, in a
    process of its own: its next call writes them."""
    monkeypatch.setattr(api_tokens, "_windows", {})
    made = create_token(session, owner=make.user("Rita"), name="script", days=7,
                        read_only=True)
    now = utcnow().replace(second=5, microsecond=0)
    for _ in range(api_tokens.SYNC_EVERY):
        api_tokens.count_use(session, token_id=made.token.id, secret=made.secret, now=now)
    return made, now


def test_calls_being_written_are_seen_by_the_other_threads(
        session: Session, make: Factory, monkeypatch: pytest.MonkeyPatch):
    made, now = _a_batch_unwritten(session, make, monkeypatch)
    key = api_tokens.secret_hash(made.secret)
    # The next call is due to write; while its write is in flight (a slow or locked
    # row), another thread's call still sees those calls.
    entered, release = threading.Event(), threading.Event()
    real = api_tokens._add_calls

    def slow_add(session, **kwargs):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(5)
        return real(session, **kwargs)

    monkeypatch.setattr(api_tokens, "_add_calls", slow_add)
    writer = threading.Thread(target=api_tokens.count_use, kwargs=dict(
        session=session, token_id=made.token.id, secret=made.secret, now=now))
    writer.start()
    entered.wait(5)
    seen = api_tokens._windows[key].seen + 1
    release.set()
    writer.join()
    assert seen == api_tokens.SYNC_EVERY + 2, f"a 22nd call would be counted as {seen}"


def test_calls_whose_write_failed_are_written_with_the_next(
        session: Session, make: Factory, monkeypatch: pytest.MonkeyPatch):
    made, now = _a_batch_unwritten(session, make, monkeypatch)
    real = api_tokens._add_calls
    monkeypatch.setattr(api_tokens, "_add_calls",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db away")))
    with pytest.raises(RuntimeError):
        api_tokens.count_use(session, token_id=made.token.id, secret=made.secret, now=now)
    monkeypatch.setattr(api_tokens, "_add_calls", real)
    count = api_tokens.count_use(session, token_id=made.token.id, secret=made.secret,
                                 now=now)
    assert count == api_tokens.SYNC_EVERY + 2, f"counted {count}"
