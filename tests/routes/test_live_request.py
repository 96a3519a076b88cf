"""The live request page (issue 14, item 4): the poll a request page makes, per role;
its "nothing changed" answer, what it swaps in when something did, and that a
requester's page never learns of an internal note (rule 6). Its trigger has no filter
expression (htmx's allowEval is off: a filter threw and let every event through); it is
paused while the tab is hidden by static/visible-poll.js. A closed request (completed,
rejected, cancelled) is not polled, and the update that closes one takes the poll and
the Cancel form away."""

import html
import re
from pathlib import Path

import pytest

from app.rules.requests import add_comment, cancel_request
from app.rules.tasks import approve_task, claim_task, complete_task, reject_task
from app.storage.models import ServiceRequest
from tests.web import text_of


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    class Desk:
        purchase = make.service(slug="purchase", steps=[("approvers", "approval"),
                                                        ("it", "task")])
        dana = make.user("Dana", teams=("approvers",))
        ivan = make.user("Ivan", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
        mona = make.user("Mona", manager=True)
    return Desk


@pytest.fixture
def filed(make, desk) -> ServiceRequest:  # type: ignore[no-untyped-def]
    return make.request(desk.purchase, desk.rita, {"summary": "A standing desk"})


def poll_url(response) -> str:  # type: ignore[no-untyped-def]
    """The poll address the request page was rendered with."""
    found = re.search(r'id="request-live" hx-get="([^"]+)"', response.text)
    assert found, "the request page has no live poll"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("who", ["rita", "dana", "ivan", "mona"])
def test_everyone_who_sees_the_page_gets_a_poll_that_answers_204_while_nothing_changed(
    web, desk, filed, who
):
    page = web.login(getattr(desk, who)).get(f"/requests/{filed.id}")
    url = poll_url(page)
    assert url.startswith(f"/requests/{filed.id}/changes?since=")
    assert 'hx-trigger="every 15s' in page.text
    response = web.get(url, htmx=True)
    assert response.status_code == 204
    assert response.text == ""


def test_the_requesters_page_gets_the_approval_new_state_and_events_when_it_lands(
    web, session, make, desk, filed
):
    url = poll_url(web.login(desk.rita).get(f"/requests/{filed.id}"))
    approval, work = make.tasks(filed)
    approve_task(session, task=approval, by=desk.dana, note="Within budget")
    response = web.get(url, htmx=True)
    assert response.status_code == 200
    text = text_of(response)
    assert "Dana approved Step 1" in text and "Within budget" in text
    assert "Step 2 opened for its team" in text
    # The steps and the head are swapped in place, the new events appended after the
    # page's own, and a new poll asks from the new version on.
    assert '<div id="step-lists" hx-swap-oob="true">' in response.text
    assert '<div id="request-head" hx-swap-oob="true">' in response.text
    assert 'hx-swap-oob="beforeend:#timeline-events"' in response.text
    assert re.search(rf'id="step-{work.id}"[^>]*>.*?Open', response.text, re.S)
    assert web.get(poll_url(response), htmx=True).status_code == 204


def test_only_the_events_after_the_pages_version_are_sent(web, session, make, desk, filed):
    approval, _ = make.tasks(filed)
    claim_task(session, task=approval, by=desk.dana)
    url = poll_url(web.login(desk.rita).get(f"/requests/{filed.id}"))
    add_comment(session, service_request=filed, by=desk.dana, body="Looking at it now",
                internal=False, is_team_member=True)
    appended = re.search(r'beforeend:#timeline-events">(.*?)</ol>',
                         web.get(url, htmx=True).text, re.S)
    assert appended is not None
    assert "Looking at it now" in appended.group(1)
    assert "claimed" not in appended.group(1)


def test_a_requester_is_never_woken_by_an_internal_note_but_a_team_member_is(
    web, session, make, desk, filed
):
    rita_url = poll_url(web.login(desk.rita).get(f"/requests/{filed.id}"))
    dana_url = poll_url(web.login(desk.dana).get(f"/requests/{filed.id}"))
    add_comment(session, service_request=filed, by=desk.dana, body="Secret: over budget",
                internal=True, is_team_member=True)
    response = web.get(dana_url, htmx=True)
    assert response.status_code == 200 and "Secret: over budget" in response.text
    web.login(desk.rita)
    assert web.get(rita_url, htmx=True).status_code == 204
    # A public comment after it wakes her page, and brings only the comment.
    add_comment(session, service_request=filed, by=desk.dana, body="Approved soon",
                internal=False, is_team_member=True)
    response = web.get(rita_url, htmx=True)
    assert response.status_code == 200
    assert "Approved soon" in response.text
    assert "Secret" not in response.text and "internal" not in text_of(response)


def test_someone_who_may_not_see_the_request_gets_the_same_404_as_for_none(
    web, desk, filed
):
    web.login(desk.hana)
    assert web.get(f"/requests/{filed.id}/changes?since=0", htmx=True).status_code == 404
    assert web.get("/requests/999999/changes?since=0", htmx=True).status_code == 404


def test_the_poll_wants_a_signed_in_person_and_a_sane_version(web, desk, filed):
    assert web.get(f"/requests/{filed.id}/changes?since=0").status_code in (303, 401)
    web.login(desk.rita)
    for since in ("-1", "abc", str(2**40)):
        assert web.get(f"/requests/{filed.id}/changes?since={since}").status_code == 400


def test_a_page_showing_earlier_events_does_not_poll(web, desk, filed):
    page = web.login(desk.rita).get(f"/requests/{filed.id}?before=999999")
    assert 'id="request-live"' not in page.text


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_has_a_trigger_filter_with_an_expression():
    # htmx evaluates [...] with eval, which base.html's htmx config forbids.
    for template in TEMPLATES.rglob("*.html"):
        for trigger in re.findall(r'hx-trigger="([^"]*)"', template.read_text()):
            assert "[" not in trigger, (template.name, trigger)


def test_an_open_requests_page_polls_only_in_view(web, desk, filed):
    page = web.login(desk.rita).get(f"/requests/{filed.id}")
    live = re.search(r'<div id="request-live"[^>]*>', page.text)
    assert live is not None
    assert 'hx-trigger="every 15s, visible-again"' in live.group(0)
    assert "data-poll-when-visible" in live.group(0)
    assert '<script src="/static/visible-poll.js" defer></script>' in page.text
    assert '<div id="request-cancel">' in page.text and "Cancel this request" in page.text


def _close(session, make, desk, filed, how: str) -> None:  # type: ignore[no-untyped-def]
    approval, work = make.tasks(filed)
    if how == "rejected":
        reject_task(session, task=approval, by=desk.dana, reason="Over budget")
    elif how == "cancelled":
        cancel_request(session, service_request=filed, by=desk.rita, reason="Not needed")
    else:
        approve_task(session, task=approval, by=desk.dana, note="Fine")
        complete_task(session, task=work, by=desk.ivan, note="Delivered")


@pytest.mark.parametrize("how", ["completed", "rejected", "cancelled"])
def test_a_closed_requests_page_does_not_poll(web, session, make, desk, filed, how):
    _close(session, make, desk, filed, how)
    session.refresh(filed)
    assert filed.state == how
    page = web.login(desk.rita).get(f"/requests/{filed.id}")
    assert page.status_code == 200
    assert 'id="request-live"' not in page.text
    assert "Cancel this request" not in page.text


@pytest.mark.parametrize("how", ["completed", "rejected", "cancelled"])
def test_the_update_that_closes_the_request_ends_the_poll_and_the_cancel_form(
    web, session, make, desk, filed, how
):
    url = poll_url(web.login(desk.rita).get(f"/requests/{filed.id}"))
    _close(session, make, desk, filed, how)
    response = web.get(url, htmx=True)
    assert response.status_code == 200
    # The answer replaces #request-live (outerHTML) with no new poll: polling ends.
    assert 'id="request-live"' not in response.text
    assert '<div id="request-cancel" hx-swap-oob="true"></div>' in response.text
    assert '<div id="request-head" hx-swap-oob="true">' in response.text
    assert how.capitalize() in text_of(response)


def test_an_update_that_leaves_the_request_open_keeps_the_poll_and_the_cancel_form(
    web, session, make, desk, filed
):
    url = poll_url(web.login(desk.rita).get(f"/requests/{filed.id}"))
    approve_task(session, task=make.tasks(filed)[0], by=desk.dana, note="Fine")
    response = web.get(url, htmx=True)
    assert 'id="request-live"' in response.text
    assert 'id="request-cancel"' not in response.text  # what she types in it is kept




def test_the_poll_finds_the_viewer_s_team_through_the_request_s_tasks(session, filed, desk):
    """Without the database's statistics (never gathered on SQLite), the poll's "is the
    viewer on one of its teams" asked as `team_id IN (<teams>)` read the team's whole
    queue index when ix_task_queue was the newest index of the table (as bench.seed's
    rebuild of the indexes leaves it): 250-290 ms a poll of an older request at 1M
    requests. It goes through the request's own tasks (ix_task_request), as the request
    page's access does. (The index is made again inside the test's transaction.)"""
    from app.reads.request_changes import _POLL
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans from its statistics")
    connection = session.connection()
    connection.exec_driver_sql("DROP INDEX ix_task_queue")
    connection.exec_driver_sql(
        "CREATE INDEX ix_task_queue ON task (team_id, state, opened_at, id)")

    def plan(sql: str, values: tuple[object, ...]) -> str:
        return " ".join(str(row[-1]) for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, values))

    assert "ix_task_queue" in plan(  # the way it was asked: the setting reproduces it
        "SELECT EXISTS (SELECT * FROM task WHERE request_id = ? AND team_id IN (?))",
        (filed.id, 1))
    compiled = _POLL.compile(dialect=session.get_bind().dialect)
    values = compiled.construct_params(
        {"request_id": filed.id, "since": 0, "user_id": desk.ivan.id})
    found = plan(compiled.string, tuple(values[name] for name in compiled.positiontup or ()))
    assert "ix_task_request" in found and "ix_task_queue" not in found, found
