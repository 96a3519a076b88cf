"""Signing in and out, the sign-in wall, CSRF, the demo login and security headers."""

import re
import threading
import time
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.config import Settings, get_settings
from app.demo import DEMO_PASSWORD
from app.main import create_app
from app.rules import sign_in as app_auth
from app.rules.people import create_person
from app.rules.sign_in import verify_password
from app.storage.models import LoginSession, TimelineEvent, User
from app.web.auth import ANON_CSRF_COOKIE, SESSION_COOKIE
from app.web.session import get_session
from tests.factories import Factory
from tests.web import WebClient, text_of

PASSWORD = "correct horse battery"
NO_MATCH = "That e-mail and password do not match an active account."


def login_form_token(web: WebClient, url: str = "/login") -> str:
    """Opens the login page like a browser: it sets the double-submit cookie and embeds
    the same token in the form."""
    page = web.get(url)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def sign_in(web: WebClient, email: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    token = login_form_token(web)
    data = {"email": email, "password": password, "csrf_token": token, **extra}
    return web.post("/login", data, csrf=False)


def session_cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    headers = [h for h in response.headers.get_list("set-cookie")
               if h.startswith(f"{SESSION_COOKIE}=")]
    assert len(headers) == 1, headers
    return headers[0]


def sessions_of(session: Session, user: User) -> int:
    return session.exec(
        select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
    ).one()


# --- the login page and signing in ----------------------------------------------------


def test_the_login_page_renders_a_form_with_its_csrf_token(web: WebClient):
    response = web.get("/login")
    assert response.status_code == 200
    assert "Sign in to Baton" in text_of(response)
    assert 'name="email"' in response.text and 'name="password"' in response.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert token is not None
    assert web.client.cookies.get(ANON_CSRF_COOKIE) == token.group(1)


def test_the_right_password_signs_in_with_a_safe_cookie(web: WebClient, make: Factory, session):
    user = make.user()
    response = sign_in(web, user.email, PASSWORD, next="/requests")
    assert response.status_code == 303
    assert response.headers["location"] == "/requests"
    cookie = session_cookie_header(response)
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    assert sessions_of(session, user) == 1
    page = web.get("/catalog")
    assert page.status_code == 200
    assert user.name in text_of(page)


def test_the_session_cookie_is_secure_when_the_settings_say_so(
    web: WebClient, make: Factory, monkeypatch
):
    monkeypatch.setattr(get_settings(), "cookie_secure", True)
    user = make.user()
    # A secure cookie only travels over HTTPS, so this browser talks HTTPS.
    page = web.get("https://testserver/login")
    assert "; secure" in page.headers["set-cookie"].lower()
    token = login_form_token(web, "https://testserver/login")
    response = web.post("https://testserver/login", {
        "email": user.email, "password": PASSWORD, "csrf_token": token,
    }, csrf=False)
    assert response.status_code == 303
    assert "; secure" in session_cookie_header(response).lower()
    logout = web.client.post("https://testserver/logout", data={
        "csrf_token": web.session.exec(select(LoginSession.csrf_token)).first()})
    assert logout.status_code == 303
    assert "; secure" in session_cookie_header(logout).lower()


@pytest.mark.parametrize(("environment", "secure"), [
    ({}, True),
    ({"BATON_DEMO_MODE": "true"}, False),
    ({"BATON_COOKIE_SECURE": "false"}, False),
    ({"BATON_DEMO_MODE": "true", "BATON_COOKIE_SECURE": "true"}, True),
])
def test_cookies_are_secure_by_default_outside_the_demo(
    monkeypatch, environment: dict[str, str], secure: bool
):
    # tests/conftest.py turns Secure off for the suite's plain-HTTP clients.
    monkeypatch.delenv("BATON_COOKIE_SECURE")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).cookie_secure is secure  # type: ignore[call-arg]


def test_hsts_is_sent_only_when_the_cookies_are_secure(session, monkeypatch):
    monkeypatch.setattr(get_settings(), "cookie_secure", True)
    secure_app = create_app()
    secure_app.dependency_overrides[get_session] = lambda: session
    with TestClient(secure_app, base_url="https://testserver") as client:
        page = client.get("/login")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "; secure" in page.headers["set-cookie"].lower()  # the login form's cookie too
    monkeypatch.setattr(get_settings(), "cookie_secure", False)
    plain_app = create_app()
    plain_app.dependency_overrides[get_session] = lambda: session
    with TestClient(plain_app) as client:
        page = client.get("/login")
    assert "Strict-Transport-Security" not in page.headers
    assert "secure" not in page.headers["set-cookie"].lower()


def test_the_e_mail_is_matched_whatever_its_case(web: WebClient, make: Factory):
    user = make.user()
    response = sign_in(web, f"  {user.email.upper()} ", PASSWORD)
    assert response.status_code == 303
    session_cookie_header(response)


@pytest.mark.parametrize("which", ["wrong password", "unknown e-mail"])
def test_a_wrong_password_or_unknown_e_mail_is_refused_and_keeps_the_e_mail(
    web: WebClient, make: Factory, session, which: str
):
    user = make.user()
    email = user.email if which == "wrong password" else "nobody.here@example.com"
    password = "not the password" if which == "wrong password" else PASSWORD
    response = sign_in(web, email, password)
    assert response.status_code == 422
    assert NO_MATCH in text_of(response)
    assert f'value="{email}"' in response.text
    assert not [h for h in response.headers.get_list("set-cookie")
                if h.startswith(f"{SESSION_COOKIE}=")]
    assert sessions_of(session, user) == 0


def test_a_deactivated_person_cannot_sign_in(web: WebClient, make: Factory, session):
    user = make.user(active=False)
    response = sign_in(web, user.email, PASSWORD)
    assert response.status_code == 422
    assert NO_MATCH in text_of(response)
    assert sessions_of(session, user) == 0


def test_deactivating_a_person_ends_the_sessions_they_already_have(
    web: WebClient, make: Factory, session
):
    user = make.user()
    web.login(user)
    assert web.get("/catalog").status_code == 200
    user.is_active = False
    session.add(user)
    session.commit()
    response = web.get("/catalog")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_passwords_are_stored_as_argon2_hashes(make: Factory):
    user = make.user(password="a secret phrase")
    assert user.password_hash.startswith("$argon2id$")
    assert "a secret phrase" not in user.password_hash
    assert verify_password(user.password_hash, "a secret phrase")
    assert not verify_password(user.password_hash, "another phrase")


@pytest.mark.parametrize("stored", [
    "", "not a hash", "$argon2id$v=19$m=abc", "$argon2id$v=19$m=8,t=1,p=1$é$é",
    "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
])
def test_an_empty_or_unreadable_stored_hash_is_a_failed_sign_in(
    web: WebClient, make: Factory, session, stored: str
):
    user = make.user()
    user.password_hash = stored
    session.add(user)
    session.commit()
    # The empty hash must not fall back to the dummy hash and accept its password.
    for password in [PASSWORD, "baton-dummy-password", "", "\ud800"]:
        assert not verify_password(stored, password)
    response = sign_in(web, user.email, "baton-dummy-password")
    assert response.status_code == 422
    assert NO_MATCH in text_of(response)
    assert sessions_of(session, user) == 0


# --- the sign-in wall and where people land ----------------------------------------


@pytest.mark.parametrize("url", ["/", "/catalog?q=laptop", "/requests", "/requests/1",
                                 "/services/new-laptop", "/queues", "/my-work"])
def test_every_page_needs_a_sign_in(web: WebClient, url: str):
    response = web.get(url)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + url.replace("?", "%3F").replace(
        "=", "%3D")


def test_an_htmx_request_without_a_session_is_told_to_redirect(web: WebClient):
    response = web.get("/catalog?q=desk", htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=/catalog%3Fq%3Ddesk"
    assert response.text == ""


def test_an_htmx_request_from_a_page_sends_the_sign_in_back_to_that_page(web: WebClient):
    """A live page's poll, once the session has ended, leads to a sign-in that comes
    back to the page the person was on, not to the poll's fragment; an address of
    another site in the header is never taken."""
    poll = "/requests/1/changes?since=5"
    page = web.get(poll, htmx=True,
                   headers={"HX-Current-URL": "http://testserver/requests/1?x=1"})
    assert page.headers["HX-Redirect"] == "/login?next=/requests/1%3Fx%3D1"
    elsewhere = web.get(poll, htmx=True,
                        headers={"HX-Current-URL": "https://evil.example/requests/1"})
    assert elsewhere.headers["HX-Redirect"] == "/login?next=" + quote(poll)


def test_signing_in_from_the_wall_returns_to_the_page_asked_for(web: WebClient, make: Factory):
    user = make.user()
    page = web.get("/login?next=/requests%3Fstate%3Dopen")
    assert 'name="next" value="/requests?state=open"' in page.text
    token = login_form_token(web)
    response = web.post("/login", {"email": user.email, "password": PASSWORD,
                                   "csrf_token": token, "next": "/requests?state=open"},
                        csrf=False)
    assert response.headers["location"] == "/requests?state=open"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_next_only_ever_redirects_to_a_local_path(web: WebClient, make: Factory, target: str):
    user = make.user()
    page = web.get("/login", params={"next": target})
    assert 'name="next" value="/"' in page.text
    response = sign_in(web, user.email, PASSWORD, next=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    signed_in = web.get("/login", params={"next": target})
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/"


def test_logging_out_ends_the_session_on_the_server(web: WebClient, make: Factory, session):
    user = make.user()
    web.login(user)
    old_token = web.client.cookies.get(SESSION_COOKIE)
    response = web.post("/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert sessions_of(session, user) == 0
    # Someone who kept a copy of the cookie gets nothing from it.
    web.client.cookies.clear()
    web.client.cookies.set(SESSION_COOKIE, old_token)
    replay = web.get("/catalog")
    assert replay.status_code == 303
    assert replay.headers["location"].startswith("/login")


# --- CSRF -----------------------------------------------------------------------------


def comments_on(session: Session, request_id: int) -> list[str]:
    return list(session.exec(
        select(TimelineEvent.note).where(TimelineEvent.request_id == request_id,
                                         TimelineEvent.kind == "comment")
        .order_by(col(TimelineEvent.id))
    ))


@pytest.fixture
def own_request(make: Factory, web: WebClient):  # type: ignore[no-untyped-def]
    requester = make.user()
    service_request = make.request(make.service(), requester)
    web.login(requester)
    return service_request


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    web: WebClient, session, own_request
):
    response = web.post(f"/requests/{own_request.id}/comments", {"body": "Hello"}, csrf=False)
    assert response.status_code == 403
    assert "did not come from Baton" in text_of(response)
    assert comments_on(session, own_request.id) == []


def test_a_post_with_a_wrong_csrf_token_is_refused(web: WebClient, session, own_request):
    response = web.post(f"/requests/{own_request.id}/comments",
                        {"body": "Hello", "csrf_token": "forged"}, csrf=False)
    assert response.status_code == 403
    forged_header = web.post(f"/requests/{own_request.id}/comments", {"body": "Hello"},
                             csrf=False, headers={"X-CSRF-Token": "forged"})
    assert forged_header.status_code == 403
    assert comments_on(session, own_request.id) == []


def test_htmx_sends_the_token_as_a_header_and_is_accepted(web: WebClient, session, own_request):
    response = web.post(f"/requests/{own_request.id}/comments", {"body": "Via htmx"},
                        htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/requests/{own_request.id}#timeline"
    assert comments_on(session, own_request.id) == ["Via htmx"]


def test_the_login_form_needs_the_double_submit_token(web: WebClient, make: Factory, session):
    user = make.user()
    data = {"email": user.email, "password": PASSWORD}
    no_cookie = web.post("/login", {**data, "csrf_token": "made-up"}, csrf=False)
    assert no_cookie.status_code == 403
    token = login_form_token(web)
    no_field = web.post("/login", data, csrf=False)
    assert no_field.status_code == 403
    mismatch = web.post("/login", {**data, "csrf_token": token + "x"}, csrf=False)
    assert mismatch.status_code == 403
    assert sessions_of(session, user) == 0
    matching = web.post("/login", {**data, "csrf_token": token}, csrf=False)
    assert matching.status_code == 303
    assert sessions_of(session, user) == 1


# --- login throttling (app.rules.login_throttle has the rules) ---------------------------------

TOO_MANY = "Too many attempts: try again in 1 minute."


def test_the_fifth_wrong_password_blocks_the_account_even_for_the_right_one(
    web: WebClient, make: Factory, session
):
    user = make.user()
    for _ in range(4):
        assert sign_in(web, user.email, "a guess").status_code == 422
    blocked = sign_in(web, user.email, "a guess")
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "60"
    assert TOO_MANY in text_of(blocked)
    right = sign_in(web, user.email, PASSWORD)
    assert right.status_code == 429
    assert 0 < int(right.headers["Retry-After"]) <= 60
    assert "Too many attempts: try again in 1 minute." in text_of(right)
    assert f'value="{user.email}"' in right.text
    assert sessions_of(session, user) == 0


def test_an_unknown_account_is_throttled_exactly_like_a_known_one(
    web: WebClient, make: Factory
):
    user = make.user()
    unknown = "nobody.here@example.com"

    def answers(email: str) -> list[tuple[int, str | None, str]]:
        return [(response.status_code, response.headers.get("Retry-After"),
                 text_of(response).replace(email, "EMAIL"))
                for response in (sign_in(web, email, "a guess") for _ in range(6))]

    known_answers = answers(user.email)
    assert [status for status, _, _ in known_answers] == [422] * 4 + [429] * 2
    assert answers(unknown) == known_answers


def test_a_sign_in_clears_the_accounts_failures(web: WebClient, make: Factory):
    user = make.user()
    for _ in range(4):
        sign_in(web, user.email, "a guess")
    assert sign_in(web, user.email, PASSWORD).status_code == 303
    web.logout()
    for _ in range(4):
        assert sign_in(web, user.email, "a guess").status_code == 422
    assert sign_in(web, user.email, PASSWORD).status_code == 303


def test_thirty_failures_from_one_address_block_every_account_from_it(
    web: WebClient, make: Factory, session
):
    user = make.user()
    for n in range(29):
        assert sign_in(web, f"guess{n}@example.com", "a guess").status_code == 422
    assert sign_in(web, "guess29@example.com", "a guess").status_code == 429
    right = sign_in(web, user.email, PASSWORD)
    assert right.status_code == 429
    assert TOO_MANY in text_of(right)
    assert sessions_of(session, user) == 0


def test_a_block_shows_in_the_admin_audit_log(web: WebClient, make: Factory):
    for _ in range(5):
        sign_in(web, "target@example.com", "a guess")
    web.login(make.user(admin=True))
    page = text_of(web.get("/admin/audit"))
    assert "Baton sign-in blocked account target@example.com" in page
    assert "5 failed sign-ins" in page


def test_guesses_sent_in_parallel_get_at_most_five_passwords_checked(
    committed: Engine, monkeypatch
):
    with Session(committed) as setup:
        create_person(setup, email="target@example.com", name="Target", password=PASSWORD)
        setup.commit()
    checked: list[str] = []
    verify = app_auth._verify

    def slow_verify(password_hash: str, password: str) -> bool:
        checked.append(password)
        time.sleep(0.05)  # every guess is in flight before any is answered
        return verify(password_hash, password)

    monkeypatch.setattr(app_auth, "_verify", slow_verify)
    application = create_app()  # on the app's own engine: a connection per request
    guesses = 20
    barrier = threading.Barrier(guesses)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def guess(n: int) -> None:
        try:
            with TestClient(application, base_url="http://testserver",
                            follow_redirects=False) as client:
                web = WebClient(client, None)  # type: ignore[arg-type]
                token = login_form_token(web)
                barrier.wait()
                statuses.append(web.post("/login", {
                    "email": "target@example.com", "password": f"guess {n}", "csrf_token": token,
                }, csrf=False).status_code)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    workers = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(checked) <= 5
    assert sorted(statuses) == [422] * 4 + [429] * 16


# --- the demo login -------------------------------------------------------------------


@pytest.fixture
def demo_person(session: Session) -> User:
    return create_person(session, email="ana@example.com", name="Ana Alvarez",
                         password=DEMO_PASSWORD)


def test_the_demo_login_page_lists_demo_people_and_the_password(
    web: WebClient, demo_person: User, monkeypatch
):
    monkeypatch.setattr(get_settings(), "demo_mode", True)
    page = text_of(web.get("/login"))
    assert "Demo accounts" in page
    assert "ana@example.com" in page
    assert DEMO_PASSWORD in page
    # Only people who exist are listed.
    assert "ben@example.com" not in page


def test_outside_the_demo_the_login_page_shows_no_accounts_or_password(
    web: WebClient, demo_person: User, monkeypatch
):
    monkeypatch.setattr(get_settings(), "demo_mode", False)
    page = web.get("/login").text
    assert "Demo accounts" not in page
    assert "ana@example.com" not in page
    assert DEMO_PASSWORD not in page


# --- security headers ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/login", "/catalog", "/no-such-page"])
def test_every_response_carries_the_security_headers(web: WebClient, url: str):
    response = web.get(url)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
