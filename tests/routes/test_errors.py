"""Bad input and refusals anywhere: a clear message or a 4xx, never a 500, never JSON
where a person expects a page."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.rules.tasks import claim_task
from app.storage.models import ServiceRequest, Task, TimelineEvent, User
from tests.web import WebClient, text_of


@pytest.fixture
def approval(make):  # type: ignore[no-untyped-def]
    service = make.service(steps=[("approvers", "approval"), ("it", "task")])
    dana = make.user("Dana", teams=("approvers",))
    rita = make.user("Rita")
    request = make.request(service, rita)
    return dana, rita, request, make.tasks(request)[0]


def test_a_refused_action_posted_without_javascript_shows_its_message(
    web: WebClient, session: Session, approval
):
    dana, _rita, request, task = approval
    response = web.login(dana).post(f"/tasks/{task.id}/reject",
                                     {"note": "", "back": f"/requests/{request.id}"})
    assert response.status_code == 422
    assert "Say why you reject it" in text_of(response)
    assert "Dana" in text_of(response)  # the page still knows who is signed in
    session.refresh(task)
    assert task.state == "open"


def test_an_unknown_address_and_a_wrong_method_get_a_page_not_json(web: WebClient, make):
    web.login(make.user())
    missing = web.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "There is nothing here" in text_of(missing)
    wrong_method = web.client.put("/tasks/1/claim")
    assert wrong_method.status_code == 405
    assert "belongs to a button" in text_of(wrong_method)
    # A button's address with no page above it: the same page.
    assert "belongs to a button" in text_of(web.get("/logout"))


def test_an_unknown_address_shows_the_signed_in_person_their_navigation(
        web: WebClient, make):
    """No route took the address, so no dependency read who is asking: the error page
    reads them itself, and shows their header, not a signed-out one."""
    web.login(make.user("Mira", manager=True))
    for missing in (web.get("/no-such-page"), web.client.put("/catalog")):
        assert missing.status_code in (404, 405)
        page = missing.text
        assert 'aria-label="Main"' in page and ">Mira</a>" in page
        assert 'href="/overview"' in page  # her own navigation: she is a manager


def test_an_unknown_address_signed_out_shows_no_navigation(web: WebClient):
    missing = web.get("/no-such-page")
    assert missing.status_code == 404
    assert 'aria-label="Main"' not in missing.text


def test_an_unknown_address_with_an_expired_session_shows_no_navigation(
        web: WebClient, make, session: Session):
    web.login(make.user("Mira"))
    session.execute(text("UPDATE login_session SET expires_at = :past"),
                    {"past": datetime(2000, 1, 1, tzinfo=UTC)})
    session.commit()
    missing = web.get("/no-such-page")
    assert missing.status_code == 404
    assert 'aria-label="Main"' not in missing.text and "Mira" not in missing.text


@pytest.mark.parametrize(("address", "page"), [
    # Reloaded in the address bar after the form came back with an error.
    ("/services/laptop/requests", "/services/laptop"),
    ("/requests/5/comments", "/requests/5"),
    ("/tasks/1/claim", "/tasks/1"),
    # Two levels up: /inbox/items/3 is not a page.
    ("/inbox/items/3/read", "/inbox"),
])
def test_a_button_s_address_asked_for_as_a_page_goes_to_the_page_it_is_on(
        web: WebClient, make, address: str, page: str):
    web.login(make.user())
    response = web.get(address, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == page
    assert web.client.head(address, follow_redirects=False).headers["location"] == page


def test_a_button_s_address_asked_by_htmx_or_another_method_is_still_refused(
        web: WebClient, make):
    web.login(make.user())
    assert web.get("/tasks/1/claim", htmx=True).status_code == 405
    assert web.client.delete("/tasks/1/claim").status_code == 405


def test_an_htmx_error_names_its_message_for_the_toast_and_swaps_nothing(web: WebClient, make):
    web.login(make.user())
    response = web.get("/requests/999999", htmx=True)
    assert response.status_code == 404
    assert response.headers["HX-Reswap"] == "none"
    assert '"baton-error"' in response.headers["HX-Trigger"]
    assert "There is no such request" in response.headers["HX-Trigger"]


def test_the_back_button_gets_the_whole_page_not_a_fragment(web: WebClient, make):
    web.login(make.user())
    fragment = web.get("/catalog?q=x", htmx=True)
    restored = web.get("/catalog?q=x", headers={
        "HX-Request": "true", "HX-History-Restore-Request": "true",
    })
    assert "<html" not in fragment.text
    assert "<html" in restored.text


@pytest.mark.parametrize("url", ["/catalog?q=a%00b", "/people/search?who=a%00b",
                                 "/requests?state=%00"])
def test_a_nul_byte_in_a_query_is_never_a_500(web: WebClient, make, url: str):
    web.login(make.user())
    assert web.get(url).status_code in (200, 400)


def test_invisible_control_characters_are_dropped_from_comments(
    web: WebClient, session: Session, approval
):
    _dana, rita, request, _task = approval
    response = web.login(rita).post(f"/requests/{request.id}/comments", {"body": "a\x00b\x07c"})
    assert response.status_code == 303
    notes = session.exec(select(TimelineEvent.note).where(
        TimelineEvent.request_id == request.id, TimelineEvent.kind == "comment")).all()
    assert notes == ["abc"]


def test_invisible_control_characters_are_dropped_from_answers(web: WebClient, session, make):
    service = make.service(slug="nul-form")
    web.login(make.user())
    page = web.get("/services/nul-form").text
    version_id = page.split('name="version_id" value="')[1].split('"')[0]
    response = web.post("/services/nul-form/requests",
                        {"summary": "x\x00y", "version_id": version_id})
    assert response.status_code == 303
    filed = session.exec(select(ServiceRequest).where(
        ServiceRequest.service_id == service.id)).one()
    assert filed.answers == {"summary": "xy"}


def test_a_post_without_any_cookie_is_refused_before_its_body_is_read(web: WebClient):
    response = web.client.post("/login", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 403


def test_a_chunked_body_over_the_limit_is_refused(web: WebClient, make):
    from app.config import get_settings

    web.login(make.user())
    limit = get_settings().max_upload_mb * 10 * 1024 * 1024
    chunk = b"x" * (1024 * 1024)

    def body():  # type: ignore[no-untyped-def]
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    response = web.client.post(
        "/requests/1/comments", content=body(),
        headers={"content-type": "application/x-www-form-urlencoded",
                 "X-CSRF-Token": web.csrf_token},
    )
    assert response.status_code == 413


def test_pages_are_never_cached(web: WebClient, make):
    web.login(make.user())
    assert web.get("/catalog").headers["Cache-Control"] == "no-store"


def test_reading_a_page_does_not_hold_the_sqlite_write_lock(committed: Engine):
    """A request that only reads must not stop others from writing (SQLite: reads begin
    deferred, writes IMMEDIATE)."""
    if committed.dialect.name != "sqlite":
        pytest.skip("about SQLite's locking")
    from tests.factories import Factory

    with Session(committed) as setup:
        make = Factory(setup)
        service = make.service(steps=[("it", "task")])
        ivan_id = make.user("Ivan", teams=("it",)).id
        task_id = make.tasks(make.request(service, make.user()))[0].id
        setup.commit()
    with Session(committed) as reader:
        reader.exec(select(Task)).all()  # a read transaction is now open
        assert reader.in_transaction()
        with committed.connect() as writer:
            writer.exec_driver_sql("PRAGMA busy_timeout = 100")
            writer.commit()  # the PRAGMA began a transaction; the claim must begin its own
            with Session(bind=writer) as writing:
                claim_task(writing, task=writing.get(Task, task_id), by=writing.get(User, ivan_id))
        reader.rollback()
        claimed = reader.exec(select(Task.state).where(col(Task.id) == task_id)).one()
    assert claimed == "claimed"


def test_a_missing_static_file_names_nobody_and_no_page_is_kept(web: WebClient, make):
    """A static file's 404 may be kept by a shared cache in front of /static/: it shows
    no one's header nor their CSRF token, and says not to keep it."""
    web.login(make.user("Mira"))
    missing = web.get("/static/no-such-file.css")
    assert missing.status_code == 404
    assert "Mira" not in missing.text and web.csrf_token not in missing.text
    assert missing.headers["cache-control"] == "no-store"
