"""The profile page's API tokens and an admin's view of anyone's, over HTTP, per role."""

import re
from html import unescape

import pytest
from sqlmodel import Session, select

from app.rules.api_tokens import create_token, secret_hash, token_state
from app.storage.api_tables import ApiToken
from tests.factories import Factory
from tests.web import WebClient


@pytest.fixture
def people(make: Factory):  # type: ignore[no-untyped-def]
    return {"rita": make.user("Rita"), "other": make.user("Otto"),
            "admin": make.user("Adam", admin=True), "manager": make.user("Mona", manager=True)}


def test_a_person_makes_a_token_and_sees_its_secret_once(web: WebClient, session: Session,
                                                        people):
    web.login(people["rita"])
    made = web.post("/profile/tokens", {"name": "HR system", "days": "90", "scope": "write"})
    assert made.status_code == 201
    secret = unescape(re.search(r'id="new-token" readonly size="60" value="([^"]+)"',
                                made.text).group(1))  # type: ignore[union-attr]
    token = session.exec(select(ApiToken).where(ApiToken.user_id == people["rita"].id)).one()
    assert token.secret_hash == secret_hash(secret) and token.read_only is False
    again = web.get("/profile")
    assert again.status_code == 200 and "HR system" in again.text and secret not in again.text


def test_a_bad_token_form_says_why_next_to_the_field(web: WebClient, people):
    web.login(people["rita"])
    answer = web.post("/profile/tokens", {"name": "", "days": "30"})
    assert answer.status_code == 422
    assert 'id="f-name-error"' in answer.text
    answer = web.post("/profile/tokens", {"name": "ok", "days": "12"})
    assert answer.status_code == 422 and 'id="f-days-error"' in answer.text


def test_making_a_token_needs_the_csrf_token(web: WebClient, session: Session, people):
    web.login(people["rita"])
    assert web.post("/profile/tokens", {"name": "x", "days": "7"}, csrf=False).status_code == 403
    assert session.exec(select(ApiToken)).all() == []


def test_a_person_revokes_their_own_token_and_nobody_elses(web: WebClient, session: Session,
                                                          people):
    own = create_token(session, owner=people["rita"], name="mine", days=7, read_only=True)
    theirs = create_token(session, owner=people["other"], name="theirs", days=7,
                          read_only=True)
    web.login(people["rita"])
    assert web.post(f"/profile/tokens/{theirs.token.id}/revoke").status_code == 403
    assert token_state(session.get_one(ApiToken, theirs.token.id)) == "live"
    assert web.post(f"/profile/tokens/{own.token.id}/revoke").status_code == 303
    session.refresh(own.token)
    assert token_state(own.token) == "revoked"


@pytest.mark.parametrize("role", ["rita", "other", "manager"])
def test_only_admins_see_and_revoke_anyones_tokens(web: WebClient, session: Session, people,
                                                   role):
    made = create_token(session, owner=people["rita"], name="mine", days=7, read_only=True)
    web.login(people[role])
    rita = people["rita"].id
    assert web.get(f"/admin/people/{rita}/tokens").status_code == 403
    answer = web.post(f"/admin/people/{rita}/tokens/{made.token.id}/revoke")
    assert answer.status_code == 403
    assert token_state(session.get_one(ApiToken, made.token.id)) == "live"


def test_an_admin_sees_and_revokes_a_persons_token(web: WebClient, session: Session, people):
    made = create_token(session, owner=people["rita"], name="HR feed", days=7, read_only=True)
    other = create_token(session, owner=people["other"], name="x", days=7, read_only=True)
    web.login(people["admin"])
    rita = people["rita"].id
    page = web.get(f"/admin/people/{rita}/tokens")
    assert page.status_code == 200 and "HR feed" in page.text
    # Another person's token through Rita's address: not found, nothing revoked.
    assert web.post(f"/admin/people/{rita}/tokens/{other.token.id}/revoke").status_code == 404
    assert web.post(f"/admin/people/{rita}/tokens/{made.token.id}/revoke").status_code == 303
    session.refresh(made.token)
    assert token_state(made.token) == "revoked"
    assert token_state(session.get_one(ApiToken, other.token.id)) == "live"


def test_nobody_signed_in_is_sent_to_sign_in(web: WebClient):
    assert web.get("/profile").status_code == 303
