"""Saved views (issue 14, item 6), per role: a member saves a queue's filters under a name
and finds them as a tab; deletes one; a manager saves overview drill-down filters; names
are bounded and unique per person and page; nobody sees, opens or deletes another's."""

import re

import pytest
from sqlmodel import select

from app.rules.saved_views import MAX_VIEWS_PER_PAGE
from app.storage.models import SavedView
from tests.web import text_of


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    class Desk:
        laptop = make.service(slug="laptop", steps=[("it", "task")])
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
        mona = make.user("Mona", manager=True)
        max_ = make.user("Max", manager=True)
    make.request(Desk.laptop, Desk.rita, {"summary": "Berlin laptop"})
    return Desk


def save(web, name, **filters):  # type: ignore[no-untyped-def]
    return web.post("/queues/it/views", {"name": name, **filters})


def tabs(response) -> list[str]:  # type: ignore[no-untyped-def]
    nav = re.search(r'<nav class="view-tabs".*?</nav>', response.text, re.S)
    return re.findall(r'<a href="[^"]*"[^>]*>([^<]+)</a>', nav.group(0)) if nav else []


def test_a_member_saves_the_queues_filters_and_finds_them_as_a_tab(web, desk):
    response = save(web.login(desk.ivan), "Overdue Berlin", state="open", overdue="1",
                    q="berlin", sort="due", service=str(desk.laptop.id), age="3")
    assert response.status_code == 303
    query = f"overdue=1&q=berlin&service={desk.laptop.id}&sort=due&state=open"
    assert response.headers["location"] == f"/queues/it?{query}"
    page = web.get(response.headers["location"])
    assert tabs(page) == ["All", "Overdue Berlin"]
    assert f'<a href="/queues/it?{query.replace("&", "&amp;")}" aria-current="page">' \
        "Overdue Berlin</a>" in page.text
    assert 'aria-current="page">All' in web.get("/queues/it").text


def test_a_view_is_its_owners_alone(web, session, desk):
    save(web.login(desk.ivan), "Mine", state="mine")
    assert tabs(web.login(desk.iris).get("/queues/it")) == []
    assert tabs(web.login(desk.mona).get("/queues/it")) == []
    view = session.exec(select(SavedView)).one()
    response = web.login(desk.iris).post(f"/views/{view.id}/delete", {"back": "/queues/it"})
    assert response.status_code == 404
    assert session.exec(select(SavedView)).one() is not None


def test_a_member_deletes_a_view(web, session, desk):
    save(web.login(desk.ivan), "Mine", state="mine")
    view = session.exec(select(SavedView)).one()
    response = web.post(f"/views/{view.id}/delete", {"back": "/queues/it"})
    assert response.status_code == 303 and response.headers["location"] == "/queues/it"
    assert session.exec(select(SavedView)).first() is None
    assert tabs(web.get("/queues/it")) == []


def test_names_are_unique_per_person_and_page_and_bounded(web, session, make, desk):
    web.login(desk.ivan)
    assert save(web, "Mine", state="mine").status_code == 303
    response = save(web, "  Mine ", state="open")
    assert response.status_code == 409
    assert "You have a view named “Mine” here already" in text_of(response)
    assert save(web, "").status_code == 422
    assert save(web, "x" * 61).status_code == 422
    # The same name on another queue, or by another person, is another view.
    make.user("Ivan 2", teams=("hr",))
    web.login(desk.iris)
    assert save(web, "Mine", state="mine").status_code == 303
    assert len(session.exec(select(SavedView)).all()) == 2


def test_a_person_keeps_a_bounded_number_of_views_on_a_page(web, desk):
    web.login(desk.ivan)
    for number in range(MAX_VIEWS_PER_PAGE):
        assert save(web, f"View {number}", q=f"word{number}").status_code == 303
    response = save(web, "One more", q="more")
    assert response.status_code == 422
    assert f"You have {MAX_VIEWS_PER_PAGE} views here" in text_of(response)


@pytest.mark.parametrize("who, status", [("hana", 403), ("rita", 403)])
def test_who_may_not_see_a_queue_saves_no_view_of_it(web, session, desk, who, status):
    assert save(web.login(getattr(desk, who)), "Peek").status_code == status
    assert session.exec(select(SavedView)).first() is None


def test_a_manager_saves_overview_drill_down_filters(web, desk):
    web.login(desk.mona)
    response = web.post("/overview/views", {"name": "IT overdue", "team": "it",
                                            "overdue": "1", "sort": "due"})
    assert response.status_code == 303
    assert response.headers["location"] == "/overview/tasks?overdue=1&sort=due&team=it"
    page = web.get(response.headers["location"])
    assert page.status_code == 200
    assert tabs(page) == ["All", "IT overdue"]
    assert tabs(web.login(desk.max_).get("/overview/tasks?team=it")) == []


@pytest.mark.parametrize("who", ["ivan", "rita"])
def test_only_managers_save_overview_views(web, session, desk, who):
    response = web.login(getattr(desk, who)).post("/overview/views", {"name": "Peek"})
    assert response.status_code == 403
    assert session.exec(select(SavedView)).first() is None


def test_saving_needs_the_csrf_token(web, session, desk):
    response = web.login(desk.ivan).post("/queues/it/views", {"name": "Mine"}, csrf=False)
    assert response.status_code == 403
    assert session.exec(select(SavedView)).first() is None


# --- A refused name is said by its box, with the name as typed ----------------------------


def name_box(response, prefix="queue"):  # type: ignore[no-untyped-def]
    box = re.search(rf'<input type="text" id="{prefix}-view-name"[^>]*>', response.text)
    assert box, response.text
    return box.group(0)


@pytest.mark.parametrize("typed, status, message", [
    ("   ", 422, "Name the view."),
    ("x" * 61, 422, "Use at most 60 characters for the name (this has 61)."),
    ("Mine", 409, "You have a view named “Mine” here already"),
])
def test_a_refused_name_comes_back_as_the_form_with_the_message_by_the_box(
    web, session, desk, typed, status, message
):
    web.login(desk.ivan)
    save(web, "Mine", state="mine")
    response = web.post("/queues/it/views", {"name": typed, "state": "open", "q": "berlin"},
                        htmx=True)
    assert response.status_code == status
    # Only the save form (the block htmx swaps in place), open, the message next to the
    # box and pointed at by it, the name as typed and the filters it was saving.
    assert response.text.lstrip().startswith('<details class="save-view" id="queue-save-view" open')
    assert "<html" not in response.text and 'id="results"' not in response.text
    assert f'id="queue-view-name-error" role="alert">{message}' in response.text
    box = name_box(response)
    assert f'value="{typed}"' in box
    assert 'aria-invalid="true"' in box and 'aria-describedby="queue-view-name-error"' in box
    assert '<input type="hidden" name="state" value="open">' in response.text
    assert '<input type="hidden" name="q" value="berlin">' in response.text
    assert len(session.exec(select(SavedView)).all()) == 1


def test_a_plain_post_of_a_refused_name_shows_the_queue_again_with_the_message(
    web, session, desk
):
    web.login(desk.ivan)
    save(web, "Mine", state="mine")
    response = web.post("/queues/it/views", {"name": " Mine", "q": "berlin"})
    assert response.status_code == 409
    # The whole queue, filtered as it was, the form open with the message and the name.
    assert "<html" in response.text
    assert 'id="results"' in response.text and "Berlin laptop" in response.text
    assert 'value="berlin"' in response.text  # the search box keeps the filter
    assert "You have a view named “Mine” here already" in text_of(response)
    assert 'id="queue-save-view" open' in response.text
    assert 'value=" Mine"' in name_box(response)
    # The page's forms come back to the list, not to the address of this post.
    assert 'name="back" value="/queues/it?q=berlin"' in response.text
    assert 'value="/queues/it/views"' not in response.text
    # Its count refreshes from the list too (a GET of this post's address is a 405).
    assert 'id="queue-count" hx-get="/queues/it?q=berlin"' in response.text
    assert tabs(response) == ["All", "Mine"]


def test_a_saved_name_sent_by_htmx_takes_the_browser_to_its_tab(web, session, desk):
    response = web.login(desk.ivan).post("/queues/it/views", {"name": "Open", "state": "open"},
                                         htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/queues/it?state=open"
    assert session.exec(select(SavedView)).one().name == "Open"


def test_a_refused_overview_view_name_is_said_by_its_box(web, session, desk):
    web.login(desk.mona)
    fragment = web.post("/overview/views", {"name": "", "team": "it"}, htmx=True)
    assert fragment.status_code == 422
    assert fragment.text.lstrip().startswith(
        '<details class="save-view" id="overview-save-view" open')
    assert 'id="overview-view-name-error" role="alert">Name the view.' in fragment.text
    assert '<input type="hidden" name="team" value="it">' in fragment.text
    page = web.post("/overview/views", {"name": "y" * 70, "team": "it", "overdue": "1"})
    assert page.status_code == 422
    assert "<html" in page.text and "<h1>" in page.text
    assert '<input type="hidden" name="overdue" value="1">' in page.text
    assert "Use at most 60 characters for the name (this has 70)." in text_of(page)
    assert f'value="{"y" * 70}"' in name_box(page, "overview")
    assert 'value="/overview/views"' not in page.text
    assert session.exec(select(SavedView)).first() is None


# --- The tabs follow the filters ------------------------------------------------------------


def current_tabs(response) -> list[str]:  # type: ignore[no-untyped-def]
    """The tabs marked current, in the tabs' box (the navigation marks its own)."""
    box = re.search(r'<div id="view-tabs".*?</div>', response.text, re.S)
    assert box, response.text
    return re.findall(r'aria-current="page">([^<]+)</a>', box.group(0))


def test_a_filter_change_by_htmx_carries_the_tabs_with_the_current_one_marked(web, desk):
    web.login(desk.ivan)
    save(web, "Open", state="open")
    save(web, "Berlin", q="berlin")
    response = web.get("/queues/it?state=open", htmx=True)
    assert response.status_code == 200
    assert '<div id="view-tabs" hx-swap-oob="true">' in response.text
    assert current_tabs(response) == ["Open"]
    assert current_tabs(web.get("/queues/it?q=berlin", htmx=True)) == ["Berlin"]
    assert current_tabs(web.get("/queues/it", htmx=True)) == ["All"]
    assert current_tabs(web.get("/queues/it?state=claimed", htmx=True)) == []
    # A "more" page appends rows: no tabs with it.
    assert "view-tabs" not in web.get("/queues/it?after=x", htmx=True).text


def test_only_one_tab_is_current_when_two_views_keep_the_same_filters(web, desk):
    web.login(desk.ivan)
    save(web, "Open", state="open")
    save(web, "Unclaimed", state="open")
    assert current_tabs(web.get("/queues/it?state=open")) == ["Open"]
    assert current_tabs(web.get("/queues/it?state=open", htmx=True)) == ["Open"]


def test_the_full_page_has_the_tabs_box_once_and_never_out_of_band(web, desk):
    web.login(desk.ivan)
    page = web.get("/queues/it")
    assert page.text.count('id="view-tabs"') == 1 and "hx-swap-oob" not in page.text.split(
        'id="view-tabs"')[1][:30]
    save(web, "Open", state="open")
    page = web.get("/queues/it?state=open")
    assert page.text.count('id="view-tabs"') == 1
    assert current_tabs(page) == ["Open"]
