"""Admin services over HTTP: the list, the builder as plain form posts (what a browser
without JavaScript sends), the live preview, versions and what changed, export and
import. Only admins get in."""

import re
import tomllib
import zipfile
from html import unescape
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from httpx import Response
from sqlmodel import Session, col, func, select

from app.rules.catalog import current_version, definition_of, get_service_by_slug, import_catalog
from app.storage.models import AdminEvent, Service, ServiceRequest, ServiceVersion, Task, User
from tests.factories import Factory
from tests.web import WebClient, text_of

SERVICES = Path(__file__).resolve().parents[2] / "services"


# --- a browser, as far as forms go -------------------------------------------------------


class _FormReader(HTMLParser):
    """The (name, value) pairs a browser would post for one form of a page."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.action = form_id, False, ""
        self.items: list[tuple[str, str]] = []
        self.textarea: str | None = None
        self.select: tuple[str, list[tuple[str, bool]]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside, self.action = True, a.get("action", "")
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input" and a.get("type", "text") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.items.append((a["name"], a.get("value", "on" if a.get("type") ==
                                                "checkbox" else "")))
        elif tag == "textarea":
            self.textarea = a["name"]
            self.items.append((a["name"], ""))
        elif tag == "select":
            self.select = (a["name"], [])
        elif tag == "option" and self.select is not None:
            self.select[1].append((a.get("value", ""), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            name, value = self.items[-1]
            self.items[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select" and self.select is not None:
            name, options = self.select
            chosen = [value for value, selected in options if selected] or [options[0][0]]
            self.items.append((name, chosen[0]))
            self.select = None


def form_of_page(html: str, form_id: str = "builder") -> tuple[str, list[tuple[str, str]]]:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.action, reader.items


class Builder:
    """The builder page in a browser: type into inputs, press its buttons."""

    def __init__(self, web: WebClient, url: str):
        self.web = web
        self.page = web.get(url)
        assert self.page.status_code == 200, self.page.text

    @property
    def values(self) -> dict[str, str]:
        return dict(form_of_page(self.page.text)[1])

    def press(self, do: str, **typed: str | bool) -> Response:
        """Types into inputs (name with `__` for `.`; True/False ticks or unticks a box),
        then presses the button with this `do` value."""
        action, items = form_of_page(self.page.text)
        values = dict(items)
        for name, value in typed.items():
            name = name.replace("__", ".")
            if value is False:
                values.pop(name, None)
            else:
                values[name] = "on" if value is True else str(value)
        self.page = self.web.post(action, {**values, "do": do})
        return self.page


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def input_block(html: str, name: str) -> str:
    """The markup of one builder input, from its wrapper to the wrapper's end."""
    at = html.index(f'name="{name}"')
    start = max(html.rfind('<div class="field b-input', 0, at),
                html.rfind('<fieldset class="field b-input', 0, at))
    end = html.find('<div class="field b-input', at)
    return html[start:end if end != -1 else len(html)]


@pytest.fixture
def admin(make: Factory) -> User:
    return make.user("Ada Admin", admin=True)


@pytest.fixture
def teams(make: Factory) -> None:
    make.team("approvers", "Department heads")
    make.team("finance", "Finance")


@pytest.fixture
def laptop(make: Factory) -> Service:
    return make.service(slug="laptop", name="New laptop", category="Hardware",
                        steps=[("it", "task")])


# --- who gets in -------------------------------------------------------------------------

ROUTES = [
    ("GET", "/admin/services"), ("GET", "/admin/services/new"),
    ("POST", "/admin/services/new"), ("POST", "/admin/services/preview"),
    ("GET", "/admin/services/laptop"), ("GET", "/admin/services/laptop/edit"),
    ("POST", "/admin/services/laptop/edit"), ("GET", "/admin/services/laptop/export"),
    ("GET", "/admin/services/export.zip"), ("POST", "/admin/services/import"),
    ("GET", "/admin/services/nothing-here"), ("POST", "/admin/services/nothing-here/edit"),
]


@pytest.mark.parametrize("role", ["employee", "team member", "manager"])
@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_only_admins_get_in(web: WebClient, make: Factory, laptop: Service, session,
                            role: str, method: str, url: str):
    user = make.user(teams=("it",) if role == "team member" else (),
                     manager=role == "manager")
    web.login(user)
    response = (web.get(url) if method == "GET"
                else web.post(url, {"do": "save", "name": "Hacked", "slug": "hacked"}))
    assert response.status_code == 403
    assert "Only admins can do this." in response.text
    assert count(session, ServiceVersion) == 1 and count(session, AdminEvent) == 0


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_someone_not_signed_in_is_sent_to_sign_in(web: WebClient, laptop: Service,
                                                  method: str, url: str):
    if method == "GET":
        response = web.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    else:  # no session, no cookie: refused before anything is read
        assert web.post(url, {"do": "save"}, csrf=False).status_code == 403


def test_a_post_without_the_csrf_token_is_refused_and_saves_nothing(
    web: WebClient, admin: User, teams, session
):
    builder = Builder(web.login(admin), "/admin/services/new")
    action, items = form_of_page(builder.page.text)
    values = {k: v for k, v in items if k != "csrf_token"} | {
        "name": "Buy", "category": "X", "steps.0.name": "Order", "steps.0.team": "finance",
        "do": "save"}
    assert web.post(action, values, csrf=False).status_code == 403
    assert web.post(action, values | {"csrf_token": "forged"}, csrf=False).status_code == 403
    assert count(session, Service) == 0 and count(session, AdminEvent) == 0


@pytest.mark.parametrize("url", ["/admin/services/nothing", "/admin/services/nothing/edit",
                                 "/admin/services/nothing/export",
                                 "/admin/services/laptop?from=1&to=7",
                                 "/admin/services/laptop/edit?version=9",
                                 "/admin/services/laptop/export?version=2"])
def test_an_unknown_service_or_version_is_not_found(web: WebClient, admin: User,
                                                    laptop: Service, url: str):
    assert web.login(admin).get(url).status_code == 404


def test_posting_to_an_unknown_service_is_not_found(web: WebClient, admin: User, session):
    response = web.login(admin).post("/admin/services/nothing/edit", {"do": "save"})
    assert response.status_code == 404 and count(session, Service) == 0


# --- the list ----------------------------------------------------------------------------


def test_the_list_shows_every_service_with_its_version_and_who_saved_it(
    web: WebClient, admin: User, make: Factory, laptop: Service, session, teams
):
    retired = make.service(slug="fax", name="Fax machine", category="Office")
    retired.is_active = False
    session.add(retired)
    session.commit()
    web.login(admin)
    builder = Builder(web, "/admin/services/laptop/edit")
    builder.press("save", name="New laptop, set up")
    page = web.get("/admin/services")
    assert page.status_code == 200
    rows = [text_of(Response(200, text=row)) for row in
            re.findall(r"<tr>(.*?)</tr>", page.text.split("<tbody>")[1], re.DOTALL)]
    # By category, then name; retired services too.
    assert rows[0].startswith("New laptop, set up laptop Hardware enforced active 2 ")
    assert rows[0].endswith("by Ada Admin")
    assert rows[1].startswith("Fax machine fax Office enforced retired 1 ")
    assert rows[1].endswith("by Baton (command line)")
    assert 'href="/admin/services/new"' in page.text


# --- building a service from scratch -----------------------------------------------------


def test_an_admin_builds_the_two_threshold_purchase_service_and_requests_take_their_steps(
    web: WebClient, admin: User, make: Factory, teams, session
):
    employee = make.user("Erin Employee")
    web.login(admin)
    builder = Builder(web, "/admin/services/new")
    builder.press("add_field", name="Purchase with thresholds", category="Purchasing",
                  description="Buy something.\r\n\r\nApprovals depend on the amount.")
    builder.press("add_field", fields__0__label="What are you buying?",
                  fields__0__required=True, fields__0__max_length="120")
    page = builder.press("add_step", fields__1__label="Amount (EUR)", fields__1__key="amount",
                         fields__1__type="number", fields__1__required=True,
                         fields__1__min="1")
    assert page.status_code == 200
    builder.press("add_step", steps__0__name="Department head approval",
                  steps__0__team="approvers", steps__0__kind="approval",
                  steps__0__condition="amount > 1000")
    builder.press("refresh", steps__1__name="CFO approval", steps__1__team="finance",
                  steps__1__kind="approval", steps__1__condition="amount > 25000",
                  steps__1__target="2", steps__1__target_unit="business_days",
                  steps__2__name="Place order", steps__2__team="finance",
                  steps__2__instructions="Raise the PO.\r\nSend it.")
    # Everything typed so far came back with each page: the key made from the label too.
    values = builder.values
    assert values["name"] == "Purchase with thresholds"
    assert values["fields.0.key"] == "what_are_you_buying"
    assert values["steps.2.instructions"] == "Raise the PO.\nSend it."
    saved = builder.press("save")
    assert saved.status_code == 303, text_of(saved)
    assert saved.headers["location"] == "/admin/services/purchase-with-thresholds?saved=1"

    service = get_service_by_slug(session, "purchase-with-thresholds")
    assert service is not None and service.category == "Purchasing"
    definition = definition_of(current_version(session, service))
    assert [(f.key, f.type, f.required) for f in definition.fields] == [
        ("what_are_you_buying", "text", True), ("amount", "number", True)]
    assert [(s.name, s.team, s.kind, s.condition) for s in definition.steps] == [
        ("Department head approval", "approvers", "approval", "amount > 1000"),
        ("CFO approval", "finance", "approval", "amount > 25000"),
        ("Place order", "finance", "task", None),
    ]
    assert definition.steps[1].target_business_days == 2
    assert definition.description == "Buy something.\n\nApprovals depend on the amount."
    [entry] = session.exec(select(AdminEvent)).all()
    assert (entry.action, entry.detail, entry.actor_id) == ("service.created", "Version 1.",
                                                            admin.id)
    assert "Saved as version 1." in text_of(web.get(saved.headers["location"]))

    web.logout()
    web.login(employee)
    states = []
    for amount in ("500", "30000"):
        filed = web.post(f"/services/{service.slug}/requests", {
            "version_id": str(service.current_version_id),
            "what_are_you_buying": "Chairs", "amount": amount,
        })
        assert filed.status_code == 303, text_of(filed)
        request_id = int(filed.headers["location"].split("/")[2].split("?")[0])
        tasks = session.exec(select(Task).where(Task.request_id == request_id)
                             .order_by(col(Task.position))).all()
        states.append([(task.step_name, task.state) for task in tasks])
    assert states == [
        [("Department head approval", "skipped"), ("CFO approval", "skipped"),
         ("Place order", "open")],
        [("Department head approval", "open"), ("CFO approval", "waiting"),
         ("Place order", "waiting")],
    ]


def test_buttons_add_move_and_remove_rows_and_keep_everything_else(
    web: WebClient, admin: User, teams
):
    builder = Builder(web.login(admin), "/admin/services/new")
    builder.press("add_field", name="Kept name")
    builder.press("add_field", fields__0__label="First", fields__0__key="first")
    builder.press("add_field", fields__1__label="Second", fields__1__key="second",
                  fields__1__type="select", fields__1__options="A\nB")
    page = builder.press("field_up:1", fields__2__label="Third", fields__2__key="third")
    assert page.status_code == 200
    values = builder.values
    assert [values[f"fields.{i}.key"] for i in range(3)] == ["second", "first", "third"]
    assert values["fields.0.type"] == "select" and values["fields.0.options"] == "A\nB"
    assert values["name"] == "Kept name"
    # The keyboard stays on the moved row's button.
    assert re.search(r'id="b-fields-0-down"[^>]*autofocus', page.text)
    builder.press("remove_field:1")
    values = builder.values
    assert [values[f"fields.{i}.key"] for i in range(2)] == ["second", "third"]
    assert "fields.2.key" not in values
    builder.press("step_down:0", steps__0__name="One")
    builder.press("add_step")
    builder.press("step_down:0", steps__1__name="Two")
    values = builder.values
    assert (values["steps.0.name"], values["steps.1.name"]) == ("Two", "One")


def opened_rows(page: Response, section: str) -> list[bool]:
    """Which rows of a list the builder shows open (issue 16: folded to a line each)."""
    return [" open" in tag for tag in re.findall(
        rf'<li class="b-row[^"]*" id="b-{section}-\d+"[^>]*>\s*(<details[^>]*>)', page.text)]


def test_rows_are_folded_but_the_one_being_worked_on_or_with_a_problem(
    web: WebClient, admin: User, teams
):
    builder = Builder(web.login(admin), "/admin/services/new")
    assert opened_rows(builder.page, "steps") == [True]  # a new service's blank step
    builder.press("add_field", name="Desk", steps__0__name="Fit", steps__0__team="approvers")
    builder.press("add_field", fields__0__label="First", fields__0__key="first")
    assert opened_rows(builder.page, "fields") == [False, True]  # the keyboard is there
    assert opened_rows(builder.page, "steps") == [False]
    # Each row's summary line says what it is, with its type and rules.
    page = builder.press("refresh", fields__1__label="Second", fields__1__key="second",
                         fields__1__required=True)
    assert re.search(r'<summary draggable="true" id="b-fields-1-row">.*Field 2: Second.*'
                     r'Text · required</span></summary>', page.text)
    assert opened_rows(page, "fields") == [False, False]
    # Dragging the second onto the first: it moves there, its summary keeps the keyboard.
    page = builder.press("field_to:1:0")
    assert [builder.values[f"fields.{i}.key"] for i in range(2)] == ["second", "first"]
    assert re.search(r'<summary draggable="true" id="b-fields-0-row" autofocus>', page.text)
    # Rows with problems stay open beside each other: they have no accordion name.
    page = builder.press("save", fields__0__key="Bad key!", fields__1__key="Bad too!")
    assert page.status_code == 422 and opened_rows(page, "fields") == [True, True]
    assert page.text.count('<details class="b-details" open>') == 2


def test_every_button_is_a_real_labelled_button_and_every_input_has_a_label(
    web: WebClient, admin: User, laptop: Service
):
    page = web.login(admin).get("/admin/services/laptop/edit").text
    form = page.split('id="builder"')[1].split("</form>")[0]
    for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', form):
        assert f'for="{input_id}"' in form, input_id
    assert 'name="do" value="field_up:0"' in form and 'aria-label="Move field 1' in form
    assert '<button type="submit" name="do" value="remove_step:0"' in form


# --- saving with problems ----------------------------------------------------------------


def test_a_save_with_problems_shows_every_one_next_to_its_input_and_saves_nothing(
    web: WebClient, admin: User, teams, session
):
    builder = Builder(web.login(admin), "/admin/services/new")
    builder.press("add_field", name="Broken", category="Tests")
    builder.press("add_field", fields__0__label="Size", fields__0__key="size",
                  fields__0__min_length="9", fields__0__max_length="3")
    response = builder.press(
        "save", fields__1__label="Colour", fields__1__key="colour", fields__1__type="select",
        steps__0__name="", steps__0__team="finance", steps__0__target="soon",
    )
    assert response.status_code == 422
    html = response.text
    expected = {
        "fields.0.min_length": "'min_length' is greater than 'max_length'",
        "steps.0.name": "Fill this in.",
        "steps.0.target": "Enter a number, for example 10 or 2.5.",
    }
    for name, message in expected.items():
        block = input_block(html, name)
        input_id = "b-" + name.replace(".", "-")
        assert f'id="{input_id}-error"' in block and message in unescape(block), name
        assert 'aria-invalid="true"' in block
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    assert len(re.findall("<li>", summary)) == 4
    assert 'href="#b-fields-0-min_length"' in summary
    # The select without options: reported at its options input (shown for a select).
    assert "a select field needs a non-empty &#39;options&#39; list" in input_block(
        html, "fields.1.options")
    assert count(session, Service) == 0 and count(session, AdminEvent) == 0
    # What was typed is all still there.
    assert builder.values["fields.0.min_length"] == "9"
    assert builder.values["steps.0.target"] == "soon"


def test_conditions_that_do_not_fit_the_form_and_unknown_teams_are_shown_at_their_step(
    web: WebClient, admin: User, teams, session
):
    builder = Builder(web.login(admin), "/admin/services/new")
    builder.press("add_step", name="Cond", category="Tests")
    response = builder.press(
        "save", steps__0__name="A", steps__0__team="ghosts", steps__0__condition="amount > 5",
        steps__1__name="A", steps__1__team="finance", steps__1__target="soon",
    )
    assert response.status_code == 422
    html = unescape(response.text)
    assert "Enter a number, for example 10 or 2.5." in input_block(html, "steps.1.target")
    assert "there is no field 'amount' to test here (fields: none)" in input_block(
        html, "steps.0.condition")
    assert "unknown team 'ghosts'" in input_block(html, "steps.0.team")
    assert "two steps are named 'A'" in input_block(html, "steps.1.name")
    assert count(session, Service) == 0


def test_a_service_with_no_steps_or_a_taken_slug_is_refused(
    web: WebClient, admin: User, laptop: Service, session
):
    builder = Builder(web.login(admin), "/admin/services/new")
    builder.press("remove_step:0", name="New laptop", slug="laptop", category="Hardware")
    response = builder.press("save")
    assert response.status_code == 422
    text = unescape(response.text)
    assert "Add at least one step: a service needs something to do." in text.split(
        'id="b-steps"')[1]
    assert "there is already a service 'laptop'" in input_block(text, "slug")
    assert count(session, ServiceVersion) == 1


# --- editing: versions -------------------------------------------------------------------


def test_saving_an_unchanged_service_makes_no_version_and_says_so(
    web: WebClient, admin: User, session
):
    import_catalog(session, SERVICES)
    before = count(session, ServiceVersion)
    web.login(admin)
    for slug in ("onboard-new-hire", "purchase-request", "office-move"):
        response = Builder(web, f"/admin/services/{slug}/edit").press("save")
        assert response.headers["location"] == f"/admin/services/{slug}?unchanged=1"
        assert "No changes" in text_of(web.get(response.headers["location"]))
    assert count(session, ServiceVersion) == before
    assert session.exec(select(AdminEvent.action)).all() == ["catalog.imported"]


def test_an_edit_makes_a_new_version_and_requests_keep_theirs(
    web: WebClient, admin: User, make: Factory, laptop: Service, session
):
    old_request = make.request(laptop, make.user())
    first = laptop.current_version_id
    builder = Builder(web.login(admin), "/admin/services/laptop/edit")
    response = builder.press("save", slug="hijacked", name="Laptop", fields__0__required=False)
    assert response.headers["location"] == "/admin/services/laptop?saved=2"
    session.refresh(laptop)
    assert laptop.name == "Laptop" and laptop.current_version_id != first
    assert get_service_by_slug(session, "hijacked") is None
    session.refresh(old_request)
    assert old_request.version_id == first
    entry = session.exec(select(AdminEvent)).one()
    assert (entry.action, entry.detail) == ("service.versioned", "Version 2.")


def test_a_save_over_a_version_saved_meanwhile_is_refused_and_keeps_what_was_typed(
    web: WebClient, admin: User, laptop: Service, session
):
    web.login(admin)
    mine = Builder(web, "/admin/services/laptop/edit")
    Builder(web, "/admin/services/laptop/edit").press("save", name="Theirs")
    response = mine.press("save", name="Mine")
    assert response.status_code == 409
    assert "saved version 2 of this service while you were editing" in response.text
    assert mine.values["name"] == "Mine" and mine.values["base_version"] == "2"
    assert count(session, ServiceVersion) == 2
    assert mine.press("save").headers["location"] == "/admin/services/laptop?saved=3"


def test_a_form_without_the_version_it_started_from_still_works(
    web: WebClient, admin: User, laptop: Service
):
    web.login(admin)
    page = web.post("/admin/services/laptop/edit", {"do": "add_field", "name": "Laptop"})
    assert page.status_code == 200 and "Save as version 2" in page.text
    assert web.post("/admin/services/laptop/edit", {
        "do": "save", "name": "Laptop", "category": "Hardware", "steps.0.name": "Set up",
        "steps.0.team": "it",
    }).headers["location"] == "/admin/services/laptop?saved=2"


def test_the_service_page_lists_versions_and_compares_any_two(
    web: WebClient, admin: User, laptop: Service, teams, session
):
    web.login(admin)
    Builder(web, "/admin/services/laptop/edit").press(
        "save", name="Laptop", fields__0__help="What for?")
    builder = Builder(web, "/admin/services/laptop/edit")
    builder.press("add_field")
    builder.press("add_step", fields__1__label="Screen size", fields__1__key="screen",
                  fields__1__type="select", fields__1__options="13\n15")
    builder.press("save", steps__1__name="Approve", steps__1__team="approvers",
                  steps__1__kind="approval", fields__0__help="What is it for?")
    text = text_of(web.get("/admin/services/laptop"))
    saved = r"(just now|\d+ s ago) \(\w+ \d+ \w+ \d+, \d\d:\d\d UTC\)"  # tests/test_times.py
    assert re.search(rf"3 current {saved} Ada Admin .*"
                     rf"2 {saved} Ada Admin .*1 {saved} Baton \(command line\)", text)
    compared = text_of(web.get("/admin/services/laptop?from=2&to=3"))
    assert "From version 2 to version 3" in compared
    assert "Fields added Screen size screen (Select)" in compared
    assert "Steps added Approve (Department heads, approval)" in compared
    assert "Fields changed Summary summary help : What for? → What is it for?" in compared
    assert "The service" not in compared
    renamed = text_of(web.get("/admin/services/laptop?from=1&to=2"))
    assert "The service name : New laptop → Laptop" in renamed
    assert "Fields changed Summary summary help : empty → What for?" in renamed
    backwards = text_of(web.get("/admin/services/laptop?from=3&to=1"))
    assert "Fields removed Screen size" in backwards and "Steps removed Approve" in backwards
    assert "No differences." in text_of(web.get("/admin/services/laptop?from=2&to=2"))


def test_an_old_version_opens_in_the_builder_to_be_saved_again(
    web: WebClient, admin: User, laptop: Service, session
):
    web.login(admin)
    Builder(web, "/admin/services/laptop/edit").press("save", name="Renamed")
    builder = Builder(web, "/admin/services/laptop/edit?version=1")
    assert builder.values["name"] == "New laptop"
    assert "This is version 1." in text_of(builder.page)
    assert builder.press("save").headers["location"] == "/admin/services/laptop?saved=3"
    session.refresh(laptop)
    assert laptop.name == "New laptop"


# --- the live preview --------------------------------------------------------------------


def test_the_preview_draws_the_form_being_built_with_the_intake_field_macro(
    web: WebClient, admin: User
):
    web.login(admin)
    response = web.post("/admin/services/preview", {
        "name": "Buy", "fields.0.label": "Amount", "fields.0.type": "number",
        "fields.0.min": "1", "fields.0.max": "10", "fields.0.required": "on",
        "fields.1.label": "Colour", "fields.1.key": "colour", "fields.1.type": "select",
        "fields.1.options": "Red\r\nBlue", "fields.1.show_if": "amount > 3",
        "fields.2.label": "Broken", "fields.2.type": "number", "fields.2.min": "x",
        "steps.0.name": "Order", "steps.0.condition": "amount > 3",
    }, htmx=True)
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html and 'id="builder"' not in html
    # Its own form, which sends nothing: the only submit button is disabled.
    assert 'class="service-form b-preview-form"' in html
    assert re.findall(r'<button type="submit"[^>]*>', html) == [
        '<button type="submit" class="primary" disabled>']
    assert 'id="f-amount-wrap"' in html and "From 1 to 10." in html
    assert '<option value="Blue"' in html and "Shown only when" in html
    assert 'id="f-broken-wrap"' in html
    assert "Order" in html and "amount &gt; 3" in html


def test_the_builder_refreshes_its_preview_with_htmx_as_the_admin_types(
    web: WebClient, admin: User
):
    page = web.login(admin).get("/admin/services/new").text
    form_tag = page.split('<form id="builder"')[1].split(">")[0]
    assert 'hx-post="/admin/services/preview"' in form_tag
    assert 'hx-trigger="change, input delay:400ms"' in form_tag
    assert 'hx-target="#preview"' in form_tag and 'id="preview"' in page
    assert '/static/builder.css' in page


# --- files -------------------------------------------------------------------------------


def test_a_service_exports_as_its_file_and_imports_back_unchanged(
    web: WebClient, admin: User, session
):
    import_catalog(session, SERVICES)
    web.login(admin)
    response = web.get("/admin/services/purchase-request/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="purchase-request.toml"')
    service = get_service_by_slug(session, "purchase-request")
    assert service is not None
    assert tomllib.loads(response.text) == current_version(session, service).definition
    before = count(session, ServiceVersion)
    imported = web.post("/admin/services/import", files={
        "catalog_file": ("purchase-request.toml", response.content, "application/toml")})
    assert imported.status_code == 303
    assert "0 new services, 0 new versions, 1 unchanged" in text_of(
        web.get(imported.headers["location"]))
    assert count(session, ServiceVersion) == before


def test_the_whole_catalog_exports_as_a_zip_and_imports_back_unchanged(
    web: WebClient, admin: User, session
):
    import_catalog(session, SERVICES)
    web.login(admin)
    response = web.get("/admin/services/export.zip")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="catalog.zip"'
    names = sorted(zipfile.ZipFile(BytesIO(response.content)).namelist())
    assert names == sorted(p.name for p in SERVICES.glob("*.toml"))
    before = count(session, ServiceVersion)
    imported = web.post("/admin/services/import", files={
        "catalog_file": ("catalog.zip", response.content, "application/zip")})
    assert imported.status_code == 303
    assert count(session, ServiceVersion) == before
    assert session.exec(select(func.count()).select_from(AdminEvent)).one() == 1


def test_an_imported_change_makes_a_new_version_and_is_audited(
    web: WebClient, admin: User, session
):
    import_catalog(session, SERVICES)
    text = (SERVICES / "laptop-request.toml").read_text().replace(
        'name = "Request a laptop"', 'name = "Laptop, please"')
    response = web.login(admin).post("/admin/services/import", files={
        "catalog_file": ("laptop-request.toml", text.encode(), "application/toml")})
    assert response.headers["location"].endswith("created=0&versioned=1&unchanged=0")
    service = get_service_by_slug(session, "laptop-request")
    assert service is not None and service.name == "Laptop, please"
    assert current_version(session, service).number == 2
    entry = session.exec(select(AdminEvent).order_by(col(AdminEvent.id).desc())).first()
    assert entry is not None
    assert (entry.action, entry.subject, entry.actor_id) == (
        "catalog.imported", "laptop-request.toml", admin.id)


def test_an_import_with_problems_names_file_and_key_and_imports_nothing(
    web: WebClient, admin: User, session
):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("services/teams.toml", (SERVICES / "teams.toml").read_text())
        archive.writestr("services/laptop-request.toml",
                         (SERVICES / "laptop-request.toml").read_text())
        archive.writestr("services/broken.toml", (SERVICES / "laptop-request.toml").read_text()
                         .replace('slug = "laptop-request"', 'slug = "broken"')
                         .replace('team = "it"', 'team = "ghosts"', 1))
    response = web.login(admin).post("/admin/services/import", files={
        "catalog_file": ("services.zip", buffer.getvalue(), "application/zip")})
    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert re.search(r"broken\.toml: steps\.\d+\.team: unknown team &#39;ghosts&#39;",
                     response.text)
    assert "/tmp" not in response.text
    assert count(session, Service) == 0 and count(session, ServiceRequest) == 0


def test_an_import_without_a_file_asks_for_one(web: WebClient, admin: User):
    response = web.login(admin).post("/admin/services/import", files={
        "catalog_file": ("", b"", "application/octet-stream")})
    assert response.status_code == 422
    assert "Choose a service file (.toml) or a .zip" in response.text
