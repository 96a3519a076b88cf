"""The catalog, a service's page, and submitting its intake form."""

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from app.config import ROOT
from app.format.definitions import parse_service
from app.rules.catalog import current_version, definition_of, save_service
from app.storage.models import Attachment, Service, ServiceRequest, Task, TimelineEvent, User
from tests.factories import Factory
from tests.web import WebClient, text_of

FIELDS: list[dict[str, Any]] = [
    {"key": "summary", "label": "Summary", "type": "text", "required": True,
     "help": "One line the teams will see first."},
    {"key": "details", "label": "Details", "type": "long_text", "help": "Anything else."},
    {"key": "amount", "label": "Amount", "type": "number", "min": 1, "max": 100,
     "integer": True},
    {"key": "needed_by", "label": "Needed by", "type": "date"},
    {"key": "colour", "label": "Colour", "type": "select", "options": ["Red", "Blue"]},
    {"key": "extras", "label": "Extras", "type": "multi_select",
     "options": ["Mouse", "Dock", "Bag"]},
    {"key": "agree", "label": "I agree to the policy", "type": "checkbox", "required": True},
    {"key": "contact", "label": "Contact", "type": "email"},
    {"key": "quote", "label": "Quote", "type": "file", "max_files": 3, "max_size_mb": 1},
]

GOOD_ANSWERS: dict[str, Any] = {
    "summary": "A new laptop", "details": "Mine broke\non Monday.", "amount": "42",
    "needed_by": "2030-01-31", "colour": "Blue", "extras": ["Mouse", "Bag"], "agree": "on",
    "contact": "jo@example.org",
}


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def field_html(html: str, key: str) -> str:
    """The markup of one field, from its wrapper to the next field (or the form's end)."""
    start = html.index(f'id="f-{key}-wrap"')
    end = html.find('<div class="field field-', start)
    return html[start:end if end != -1 else html.index("</form>", start)]


def text_of_html(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def service(make: Factory) -> Service:
    make.team("people-ops", "People Operations")
    make.team("workplace-it", "Workplace IT")
    return make.service(
        slug="new-laptop", name="New laptop", category="Hardware",
        description="A laptop for work, set up and ready on day one.",
        steps=[("people-ops", "approval"), ("workplace-it", "task")], fields=FIELDS,
    )


@pytest.fixture
def employee(make: Factory, web: WebClient) -> User:
    user = make.user("Erin Employee")
    web.login(user)
    return user


def form_of(service: Service, session: Session, answers: dict[str, Any]) -> dict[str, Any]:
    return {"version_id": str(current_version(session, service).id), **answers}


def submit(web: WebClient, service: Service, session: Session, answers: dict[str, Any],
           files: list[tuple[str, tuple[str, bytes, str]]] | None = None):  # type: ignore[no-untyped-def]
    # Always multipart, as the page's form is.
    return web.post(f"/services/{service.slug}/requests", form_of(service, session, answers),
                    files=files or [("quote", ("", b"", "application/octet-stream"))])


# --- the catalog ------------------------------------------------------------------------


def test_the_catalog_groups_active_services_by_category(web: WebClient, make: Factory,
                                                        employee: User, session):
    make.service(name="New laptop", category="Hardware")
    make.service(name="Monitor", category="Hardware")
    make.service(name="Onboard a new hire", category="People")
    retired = make.service(name="Fax machine", category="Hardware")
    retired.is_active = False
    session.add(retired)
    session.commit()
    response = web.get("/catalog")
    assert response.status_code == 200
    sections = {
        re.search(r"<h2>(.*?)</h2>", part).group(1): part  # type: ignore[union-attr]
        for part in response.text.split('<section class="category">')[1:]
    }
    assert list(sections) == ["Hardware", "People"]
    assert "New laptop" in sections["Hardware"] and "Monitor" in sections["Hardware"]
    assert "Onboard a new hire" in sections["People"]
    assert "Onboard a new hire" not in sections["Hardware"]
    assert "Fax machine" not in response.text


def test_searching_the_catalog_filters_services(web: WebClient, make: Factory, employee: User):
    make.service(name="New laptop", category="Hardware")
    make.service(name="Desk move", category="Facilities", description="Another floor")
    page = text_of(web.get("/catalog?q=LAPTOP"))
    assert "New laptop" in page and "Desk move" not in page
    by_description = text_of(web.get("/catalog?q=floor"))
    assert "Desk move" in by_description and "New laptop" not in by_description
    nothing = text_of(web.get("/catalog?q=submarine"))
    assert "No service matches “submarine”" in nothing


def test_a_card_shows_its_service_s_whole_description_in_paragraphs(
    web: WebClient, make: Factory, employee: User
):
    long = ("Ask for a laptop. " * 15).strip()
    make.service(name="New laptop", category="Hardware",
                 description=f"{long}\nwrapped in the file.\n\nA second paragraph.")
    html = web.get("/catalog").text
    assert f"<p>{long} wrapped in the file.</p>" in html  # reflowed, not cut at 160
    assert "<p>A second paragraph.</p>" in html


def test_a_search_that_finds_nothing_offers_every_service_by_name(
    web: WebClient, make: Factory, employee: User
):
    laptop = make.service(name="New laptop", category="Hardware")
    make.service(name="Desk move", category="Facilities")
    for htmx in (False, True):
        html = web.get("/catalog?q=submarine", htmx=htmx).text
        offer = html[html.index('<ul class="every-service">'):]
        assert f'<a href="/services/{laptop.slug}">New laptop</a>' in offer
        assert "Desk move" in offer
    assert 'class="every-service"' not in web.get("/catalog?q=laptop").text


def test_an_htmx_search_returns_only_the_services_block(web: WebClient, make: Factory,
                                                         employee: User):
    make.service(name="New laptop", category="Hardware")
    make.service(name="Desk move", category="Facilities")
    response = web.get("/catalog?q=laptop", htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.text and "Search the catalog" not in response.text
    assert response.text.lstrip().startswith('<div id="services"')
    assert "New laptop" in response.text and "Desk move" not in response.text
    assert "HX-Request" in response.headers["Vary"]


# --- a service's page ------------------------------------------------------------------


def test_a_service_page_shows_its_description_steps_and_fields(
    web: WebClient, service: Service, employee: User
):
    response = web.get("/services/new-laptop")
    assert response.status_code == 200
    page = text_of(response)
    assert "A laptop for work, set up and ready on day one." in page
    steps = response.text.split('class="steps-preview">')[1].split("</ol>")[0]
    assert text_of_html(steps) == "Step 1 approval People Operations Step 2 Workplace IT"
    for definition in FIELDS:
        block = field_html(response.text, definition["key"])
        assert definition["label"] in block
        assert f'name="{definition["key"]}"' in block
        if definition.get("help"):
            assert definition["help"] in block
    assert "Up to 3 files, 1 MB each." in page


def test_a_form_is_sent_as_multipart_only_when_it_has_a_file_field(
    web: WebClient, make: Factory, service: Service, employee: User
):
    """A form without files is sent URL-encoded: parsing it costs a quarter of the
    multipart parse. Both are filed alike (the tests here send both)."""
    plain_service = make.service(slug="plain", name="Plain", fields=FIELDS[:-1])
    with_files, plain = (web.get(f"/services/{slug}").text for slug in ("new-laptop", "plain"))
    assert re.search(r'<form method="post" action="/services/new-laptop/requests"'
                     r' enctype="multipart/form-data"', with_files)
    form = re.search(r'<form method="post" action="/services/plain/requests"[^>]*>', plain)
    assert form is not None and "enctype" not in form.group(0)
    sent = web.post("/services/plain/requests",
                    form_of(plain_service, make.session, GOOD_ANSWERS))
    assert sent.status_code == 303 and sent.headers["location"].startswith("/requests/")


def test_an_unknown_service_is_a_404_page(web: WebClient, employee: User):
    response = web.get("/services/no-such-thing")
    assert response.status_code == 404
    assert "<html" in response.text
    assert "There is no such service in the catalog." in text_of(response)


def test_a_retired_service_cannot_be_seen_or_asked_for(
    web: WebClient, service: Service, employee: User, session
):
    form = form_of(service, session, GOOD_ANSWERS)
    service.is_active = False
    session.add(service)
    session.commit()
    assert web.get("/services/new-laptop").status_code == 404
    response = web.post("/services/new-laptop/requests", form)
    assert response.status_code == 404
    assert "There is no such service in the catalog." in text_of(response)
    assert count(session, ServiceRequest) == 0


# --- submitting ----------------------------------------------------------------------


def test_a_valid_form_files_the_request_with_its_tasks_and_first_event(
    web: WebClient, service: Service, employee: User, session
):
    response = submit(web, service, session, GOOD_ANSWERS)
    assert response.status_code == 303
    created = session.exec(select(ServiceRequest)).one()
    assert response.headers["location"].startswith(f"/requests/{created.id}")
    assert created.requester_id == employee.id
    assert created.title == "New laptop: A new laptop"
    assert created.answers == {
        "summary": "A new laptop", "details": "Mine broke\non Monday.", "amount": 42,
        "needed_by": "2030-01-31", "colour": "Blue", "extras": ["Mouse", "Bag"],
        "agree": True, "contact": "jo@example.org",
    }
    tasks = session.exec(select(Task).where(Task.request_id == created.id)
                         .order_by(col(Task.position))).all()
    assert [(t.step_name, t.state) for t in tasks] == [("Step 1", "open"), ("Step 2", "waiting")]
    events = session.exec(select(TimelineEvent.kind)
                          .where(TimelineEvent.request_id == created.id)).all()
    assert events == ["submitted"]


def test_one_wrong_answer_is_explained_next_to_it_and_every_answer_is_kept(
    web: WebClient, service: Service, employee: User, session
):
    response = submit(web, service, session, {**GOOD_ANSWERS, "amount": "500"})
    assert response.status_code == 422
    html = response.text
    assert "Enter 100 or less." in field_html(html, "amount")
    assert 'value="500"' in field_html(html, "amount")
    for other in ("summary", "details", "colour", "extras", "contact"):
        assert "field-error" not in field_html(html, other)
    assert 'value="A new laptop"' in field_html(html, "summary")
    assert ">Mine broke\non Monday.</textarea>" in field_html(html, "details")
    assert 'value="2030-01-31"' in field_html(html, "needed_by")
    assert '<option value="Blue" selected>' in field_html(html, "colour")
    assert not re.search(r'value="Red"\s*selected', field_html(html, "colour"))
    extras = field_html(html, "extras")
    assert re.search(r'value="Mouse" checked', extras)
    assert re.search(r'value="Bag" checked', extras)
    assert not re.search(r'value="Dock" checked', extras)
    assert re.search(r'name="agree" value="on" checked', field_html(html, "agree"))
    assert 'value="jo@example.org"' in field_html(html, "contact")
    assert count(session, ServiceRequest) == 0
    assert count(session, Task) == 0


def test_missing_required_answers_are_each_marked(
    web: WebClient, service: Service, employee: User, session
):
    response = submit(web, service, session, {"details": "Only this"})
    assert response.status_code == 422
    assert "This answer is required." in field_html(response.text, "summary")
    assert "Tick this box to go on." in field_html(response.text, "agree")
    assert "field-error" not in field_html(response.text, "details")
    assert "2 answers need attention" in text_of(response)
    assert count(session, ServiceRequest) == 0


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_stored(
    web: WebClient, service: Service, employee: User, session, attachments_dir
):
    before = sorted(attachments_dir.rglob("*")) if attachments_dir.exists() else []
    too_big = b"x" * (3 * 1024 * 1024 // 2)  # the field allows 1 MB
    response = submit(web, service, session, GOOD_ANSWERS,
                      files=[("quote", ("quote.pdf", too_big, "application/pdf"))])
    assert response.status_code == 422
    block = text_of_html(field_html(response.text, "quote"))
    assert "“quote.pdf” is 1.5 MB; the limit is 1 MB per file." in block
    assert "please attach them again (Quote)" in text_of(response)
    assert count(session, ServiceRequest) == 0
    assert count(session, Attachment) == 0
    after = sorted(attachments_dir.rglob("*")) if attachments_dir.exists() else []
    assert after == before


def test_uploads_are_stored_in_the_data_directory_and_only_visible_people_download_them(
    web: WebClient, service: Service, employee: User, make: Factory, session, attachments_dir
):
    content = b"%PDF-1.4 a small quote"
    response = submit(web, service, session, GOOD_ANSWERS,
                      files=[("quote", ("quote.pdf", content, "application/pdf"))])
    assert response.status_code == 303
    attachment = session.exec(select(Attachment)).one()
    stored = (attachments_dir / attachment.storage_path).resolve()
    assert stored.read_bytes() == content
    assert stored.is_relative_to(attachments_dir.resolve())
    assert not stored.is_relative_to((ROOT / "static").resolve())

    download = web.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-disposition"].startswith("attachment")
    assert "quote.pdf" in download.headers["content-disposition"]
    assert download.headers["content-type"] == "application/octet-stream"

    web.login(make.user("Otto Outsider"))
    refused = web.get(f"/attachments/{attachment.id}")
    assert refused.status_code == 404
    assert content not in refused.content


def test_a_file_field_with_several_files_stores_them_all(
    web: WebClient, service: Service, employee: User, session
):
    files = [("quote", (f"quote-{n}.txt", f"quote {n}".encode(), "text/plain"))
             for n in (1, 2)]
    response = submit(web, service, session, GOOD_ANSWERS, files=files)
    assert response.status_code == 303
    stored = session.exec(select(Attachment).order_by(col(Attachment.id))).all()
    assert [(a.field_key, a.filename) for a in stored] == [
        ("quote", "quote-1.txt"), ("quote", "quote-2.txt")]
    created = session.exec(select(ServiceRequest)).one()
    assert created.answers["quote"] == ["quote-1.txt", "quote-2.txt"]
    page = web.get(f"/requests/{created.id}").text
    for attachment in stored:
        assert f'href="/attachments/{attachment.id}">{attachment.filename}</a>' in page


def test_a_form_that_changed_while_it_was_filled_in_is_refused_with_answers_kept(
    web: WebClient, service: Service, employee: User, session
):
    form = form_of(service, session, GOOD_ANSWERS)
    changed = definition_of(current_version(session, service)).to_data()
    changed["fields"][0]["label"] = "What do you need?"
    save_service(session, definition=parse_service(changed))
    session.commit()
    response = web.post(f"/services/{service.slug}/requests", form)
    assert response.status_code == 409
    assert ("This service changed while you were filling it in: check the form and submit "
            "again." in text_of(response))
    assert "What do you need?" in field_html(response.text, "summary")
    assert 'value="A new laptop"' in field_html(response.text, "summary")
    assert '<option value="Blue" selected>' in field_html(response.text, "colour")
    new_version = current_version(session, service).id
    assert f'name="version_id" value="{new_version}"' in response.text
    assert count(session, ServiceRequest) == 0


def test_a_version_published_between_the_check_and_the_filing_is_a_409_and_nothing_is_filed(
    web: WebClient, service: Service, employee: User, session, monkeypatch, attachments_dir
):
    import app.web.routes.catalog

    checked = app.web.routes.catalog.validate_intake

    def check_then_publish(*args: Any, **kwargs: Any) -> Any:
        intake = checked(*args, **kwargs)
        # Someone publishes a version with a new required field right after the check.
        changed = definition_of(current_version(session, service)).to_data()
        changed["fields"].append({"key": "cost_centre", "label": "Cost centre",
                                  "type": "text", "required": True})
        save_service(session, definition=parse_service(changed))
        session.commit()
        return intake

    monkeypatch.setattr(app.web.routes.catalog, "validate_intake", check_then_publish)
    tmp = attachments_dir / "tmp"
    before = sorted(tmp.iterdir()) if tmp.exists() else []
    response = submit(web, service, session, GOOD_ANSWERS,
                      files=[("quote", ("quote.pdf", b"%PDF a quote", "application/pdf"))])
    assert response.status_code == 409
    assert ("This service changed while you were filling it in: check the form and submit "
            "again." in text_of(response))
    assert 'value="A new laptop"' in field_html(response.text, "summary")
    assert "Cost centre" in field_html(response.text, "cost_centre")
    assert "please attach them again (Quote)" in text_of(response)
    assert count(session, ServiceRequest) == 0
    assert count(session, Task) == 0
    assert count(session, Attachment) == 0
    assert (sorted(tmp.iterdir()) if tmp.exists() else []) == before


def test_an_empty_file_is_refused_next_to_its_field(
    web: WebClient, service: Service, employee: User, session
):
    response = submit(web, service, session, GOOD_ANSWERS,
                      files=[("quote", ("quote.pdf", b"", "application/pdf"))])
    assert response.status_code == 422
    assert ("“quote.pdf” is empty (0 bytes): attach the file with its content, or leave "
            "it out." in text_of_html(field_html(response.text, "quote")))
    assert count(session, ServiceRequest) == 0


def test_a_file_name_is_stored_shown_and_offered_as_its_clean_base_name(
    web: WebClient, service: Service, employee: User, session
):
    # A whole Windows path, with a right-to-left override that would show "fdp.exe"
    # backwards (control characters are tested in tests/test_attachments.py: the test
    # client, like browsers, percent-encodes them in the form).
    sent = "C:\\Users\\erin\\..\\Devis\u202e fdp.exe été.pdf"
    response = submit(web, service, session, GOOD_ANSWERS,
                      files=[("quote", (sent, b"%PDF a quote", "application/pdf"))])
    assert response.status_code == 303
    attachment = session.exec(select(Attachment)).one()
    assert attachment.filename == "Devis fdp.exe été.pdf"
    created = session.exec(select(ServiceRequest)).one()
    assert created.answers["quote"] == ["Devis fdp.exe été.pdf"]
    page = web.get(f"/requests/{created.id}").text
    assert f'href="/attachments/{attachment.id}">Devis fdp.exe été.pdf</a>' in page

    download = web.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Devis fdp.exe ete.pdf\"; "
        "filename*=UTF-8''Devis%20fdp.exe%20%C3%A9t%C3%A9.pdf"
    )


# --- one request per form ---------------------------------------------------------------


def key_of(html: str) -> str:
    found = re.search(r'name="submission_key" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_each_form_shown_carries_a_one_time_key(web: WebClient, service: Service,
                                               employee: User):
    first, second = (key_of(web.get("/services/new-laptop").text) for _ in range(2))
    assert len(first) >= 32 and first != second


def test_a_form_sent_twice_files_one_request_and_both_answers_lead_to_it(
    web: WebClient, service: Service, employee: User, session
):
    key = key_of(web.get("/services/new-laptop").text)
    answers = {**GOOD_ANSWERS, "submission_key": key}
    first = submit(web, service, session, answers)
    second = submit(web, service, session, answers)
    assert first.status_code == second.status_code == 303
    created = session.exec(select(ServiceRequest)).one()
    assert first.headers["location"] == second.headers["location"] == (
        f"/requests/{created.id}")
    assert created.submission_key == key
    assert count(session, Task) == 2
    assert count(session, TimelineEvent) == 1


def test_sending_a_filed_form_again_later_leads_to_its_request_even_if_the_service_changed(
    web: WebClient, service: Service, employee: User, session
):
    key = key_of(web.get("/services/new-laptop").text)
    form = form_of(service, session, {**GOOD_ANSWERS, "submission_key": key})
    filed = web.post(f"/services/{service.slug}/requests", form)
    changed = definition_of(current_version(session, service)).to_data()
    changed["fields"][0]["label"] = "What do you need?"
    save_service(session, definition=parse_service(changed))
    session.commit()
    again = web.post(f"/services/{service.slug}/requests", form)
    assert again.status_code == 303
    assert again.headers["location"] == filed.headers["location"]
    assert count(session, ServiceRequest) == 1


def test_a_form_that_comes_back_keeps_its_key_and_then_files_once(
    web: WebClient, service: Service, employee: User, session
):
    key = key_of(web.get("/services/new-laptop").text)
    refused = submit(web, service, session,
                     {**GOOD_ANSWERS, "amount": "500", "submission_key": key})
    assert refused.status_code == 422
    assert key_of(refused.text) == key
    for _ in range(2):
        assert submit(web, service, session,
                      {**GOOD_ANSWERS, "submission_key": key}).status_code == 303
    assert count(session, ServiceRequest) == 1


def test_a_key_that_is_not_one_of_ours_is_ignored(
    web: WebClient, service: Service, employee: User, session
):
    for _ in range(2):
        response = submit(web, service, session,
                          {**GOOD_ANSWERS, "submission_key": "x" * 500})
        assert response.status_code == 303
    assert session.exec(select(ServiceRequest.submission_key)).all() == [None, None]


def test_the_form_just_sent_says_so_above_its_button_before_it_is_sent_again(
    web: WebClient, service: Service, employee: User, session
):
    """After Back, the browser restores the answers on a fresh form (a new one-time key):
    sending it would file a second request, so the page says what was sent."""
    assert 'id="just-sent"' not in web.get("/services/new-laptop").text
    filed = submit(web, service, session, GOOD_ANSWERS)
    request = session.exec(select(ServiceRequest)).one()
    assert filed.headers["location"] == f"/requests/{request.id}"
    page = web.get("/services/new-laptop").text
    notice = page[page.index('id="just-sent"'):]
    notice = notice[:notice.index("</p>")]
    assert f'href="/requests/{request.id}"' in notice and request.title in notice
    assert "files a second request" in notice
    assert "You sent this form a moment ago" in notice  # not "0 s ago"
    # Above the button the person sends it again with.
    assert page.index('id="just-sent"') < page.index("Send request</button>")


def test_a_request_sent_long_ago_or_with_another_form_is_not_mentioned(
    web: WebClient, service: Service, employee: User, session, make: Factory
):
    submit(web, service, session, GOOD_ANSWERS)
    request = session.exec(select(ServiceRequest)).one()
    request.created_at = request.created_at - timedelta(minutes=31)
    session.add(request)
    session.commit()
    assert 'id="just-sent"' not in web.get("/services/new-laptop").text
    other = make.service(slug="badge", steps=[("it", "task")])
    other_request = make.request(other, employee)
    assert other_request.service_id != service.id
    assert 'id="just-sent"' not in web.get("/services/new-laptop").text


def test_part_of_a_name_sent_unpicked_is_answered_with_whom_it_could_mean(
        web: WebClient, make: Factory, employee: User, session):
    service = make.service(slug="desk", steps=[("it", "task")], fields=[
        {"key": "who", "label": "Who sits there", "type": "person", "required": True}])
    iris = make.user("Iris Ito")
    refused = submit(web, service, session, {"who": "Iris"})
    assert refused.status_code == 422
    assert (f"Pick the person from the suggestions: Iris Ito &lt;{iris.email}&gt;."
            in field_html(refused.text, "who"))
