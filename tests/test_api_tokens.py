"""Personal access tokens' rules (issue 15): made with a secret shown once and stored
hashed, revoked by their owner or an admin, ended by deactivating their person, and
used in one statement that also counts the rate window and the last-used time."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.rules.api_tokens import (
    EXPIRY_DAYS,
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
