"""Team queues, "my work" and the actions on a task, over HTTP, per role: a member of
the team, a member of another team, an employee, a manager."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

import app.web.routes.queues
from app.reads.queues import TaskFilter
from app.reads.task_rows import list_tasks
from app.rules.tasks import claim_task
from app.storage.clock import frozen_at
from app.storage.models import ServiceRequest, Task, TimelineEvent
from tests.web import text_of


def task_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    """The tasks listed in a page or fragment, in order."""
    return [int(number) for number in re.findall(r'<tr id="task-(\d+)"', response.text)]


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    """IT then HR for "New laptop"; Ivan and Iris work in IT, Hana in HR, Rita asks."""
    class Desk:
        laptop = make.service(slug="laptop", name="New laptop",
                              steps=[("it", "task"), ("hr", "task")])
        ivan = make.user("Ivan", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        rita = make.user("Rita")
    return Desk


def first_task(make, service, requester, summary="Help"):  # type: ignore[no-untyped-def]
    return make.tasks(make.request(service, requester, {"summary": summary}))[0]


# --- the queue page -----------------------------------------------------------------


def test_a_member_sees_the_queue_with_who_asked_how_long_ago_and_who_has_it(
    web, session, make, desk
):
    with frozen_at(datetime.now(UTC) - timedelta(days=3, hours=5)):
        old = make.request(desk.laptop, desk.rita, {"summary": "Berlin office"})
    claimed = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=claimed, by=desk.iris)
    response = web.login(desk.ivan).get("/queues/it")
    assert response.status_code == 200
    page = text_of(response)
    assert f"{old.number} New laptop: Berlin office Step 1 Rita 3 d 5 h" in page
    # Drawn short on a wide screen (baton.css), the exact age in the title too.
    assert 'title="3 d 5 h, open since' in response.text and 'data-short="3d"' in response.text
    assert "Iris" in page and "Claimed" in page
    assert task_ids(response) == [make.tasks(old)[0].id, claimed.id]
    assert f'hx-post="/tasks/{make.tasks(old)[0].id}/claim"' in response.text


def test_an_employee_off_the_team_may_not_see_the_queue(web, make, desk):
    first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.hana).get("/queues/it")
    assert response.status_code == 403
    assert "queue of a team you are not on" in text_of(response)
    assert task_ids(response) == []


def test_a_manager_off_the_team_sees_the_queue_but_no_actions(web, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    response = web.login(make.user("Mona", manager=True)).get("/queues/it")
    assert response.status_code == 200
    assert task_ids(response) == [task.id]
    assert "You see this queue as a manager" in text_of(response)
    # (The one form that posts is the manager's own: saving the filters as a view.)
    actions = re.sub(r'<details class="save-view".*?</details>', "", response.text, flags=re.S)
    assert "hx-post" not in actions and "/claim" not in actions


def test_an_unknown_team_is_not_found(web, desk):
    response = web.login(desk.ivan).get("/queues/no-such-team")
    assert response.status_code == 404
    assert "no such team" in text_of(response)


def test_the_queue_list_shows_the_viewers_teams_with_counts(web, session, make, desk):
    for _ in range(3):
        first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=first_task(make, desk.laptop, desk.rita), by=desk.iris)
    make.service(steps=[("legal", "task")])
    make.user("Lena", teams=("legal",))
    response = web.login(desk.ivan).get("/queues")
    assert response.status_code == 200
    page = text_of(response)
    assert "It 3 open · 1 claimed" in page
    assert "Legal" not in page and "Hr" not in page
    alone = text_of(web.login(make.user("Eve")).get("/queues"))
    assert "You are not on any team" in alone and "open ·" not in alone


# --- filters and pages ----------------------------------------------------------------


def test_filters_come_from_the_query_string(web, session, make, desk):
    phones = make.service(slug="phone", steps=[("it", "task")])
    berlin = first_task(make, desk.laptop, desk.rita, "Berlin office")
    paris = first_task(make, desk.laptop, desk.rita, "Paris office")
    phone = first_task(make, phones, desk.rita, "Berlin office")
    claim_task(session, task=paris, by=desk.ivan)
    claim_task(session, task=phone, by=desk.iris)
    web.login(desk.ivan)
    assert task_ids(web.get(f"/queues/it?service={phones.id}")) == [phone.id]
    assert task_ids(web.get("/queues/it?state=open")) == [berlin.id]
    assert task_ids(web.get("/queues/it?state=claimed")) == [paris.id, phone.id]
    assert task_ids(web.get("/queues/it?state=mine")) == [paris.id]
    assert task_ids(web.get(f"/queues/it?q=REQ-{paris.request_id}")) == [paris.id]
    assert task_ids(web.get("/queues/it?q=office+berlin")) == [berlin.id, phone.id]
    filtered = web.get(f"/queues/it?service={desk.laptop.id}&q=berlin")
    assert task_ids(filtered) == [berlin.id]
    assert "1 task matches these filters" in text_of(filtered)


def test_the_service_filter_offers_the_queue_s_services_and_keeps_the_chosen_one(
        web, make, desk):
    chairs = make.service(slug="chairs", name='Chairs <b>& "desks"</b>', steps=[("it", "task")])
    first_task(make, chairs, desk.rita)
    first_task(make, desk.laptop, desk.rita)
    page = web.login(desk.ivan).get(f"/queues/it?service={chairs.id}").text
    assert (f'<option value="{chairs.id}" selected>Chairs &lt;b&gt;&amp; &#34;desks&#34;'
            "&lt;/b&gt;</option>") in page
    assert f'<option value="{desk.laptop.id}" >' in page


def test_a_title_search_counts_its_matches_up_to_a_limit_then_says_more_than(
    web, make, desk, monkeypatch
):
    # Counting every match of a common word read the whole queue: it stops at a limit.
    monkeypatch.setattr(app.web.routes.queues, "SEARCH_COUNTED_AT_MOST", 3)
    berlin = [first_task(make, desk.laptop, desk.rita, "Berlin office") for _ in range(4)]
    first_task(make, desk.laptop, desk.rita, "Paris office")
    web.login(desk.ivan)
    many = web.get("/queues/it?q=berlin")
    assert "More than 3 tasks match these filters" in text_of(many)
    assert task_ids(many) == [task.id for task in berlin]  # the rows are all there
    few = web.get("/queues/it?q=paris")
    assert "1 task matches these filters" in text_of(few)
    monkeypatch.setattr(app.web.routes.queues, "SEARCH_COUNTED_AT_MOST", 4)
    assert "4 tasks match these filters" in text_of(web.get("/queues/it?q=berlin"))


def test_the_forms_blank_choices_mean_no_filter(web, make, desk):
    tasks = [first_task(make, desk.laptop, desk.rita) for _ in range(2)]
    response = web.login(desk.ivan).get("/queues/it?service=&state=&q=", htmx=True)
    assert response.status_code == 200
    assert task_ids(response) == [task.id for task in tasks]


def test_an_htmx_filter_request_gets_only_the_results(web, make, desk):
    wanted = first_task(make, desk.laptop, desk.rita, "Berlin")
    first_task(make, desk.laptop, desk.rita, "Paris")
    response = web.login(desk.ivan).get("/queues/it?q=berlin", htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="results"')
    assert "<html" not in response.text and "<form" not in response.text.split("<table")[0]
    assert task_ids(response) == [wanted.id]
    assert response.headers["Vary"] == "HX-Request"


def test_an_htmx_request_for_older_tasks_gets_only_the_rows_after_the_cursor(
    web, session, make, desk
):
    tasks = [first_task(make, desk.laptop, desk.rita) for _ in range(5)]
    cursor = list_tasks(session, filters=TaskFilter(team_ids=[tasks[0].team_id]),
                        limit=2).next_cursor
    response = web.login(desk.ivan).get("/queues/it", params={"after": cursor}, htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<tr")
    assert "<table" not in response.text and 'id="results"' not in response.text
    assert task_ids(response) == [task.id for task in tasks[2:]]


def test_the_show_older_link_continues_the_queue_with_its_filters(web, session, make, desk):
    triple = make.service(ordering="flexible",
                          steps=[("it", "task"), ("it", "task"), ("it", "task")])
    for _ in range(18):
        make.request(triple, desk.rita)
    it = make.team("it")
    everything = [row.task.id for row in
                  list_tasks(session, filters=TaskFilter(team_ids=[it.id]), limit=100).rows]
    claimed = everything[3:5]
    for task_id in claimed:
        claim_task(session, task=session.get(Task, task_id), by=desk.ivan)
    open_ids = [task_id for task_id in everything if task_id not in claimed]
    web.login(desk.iris)
    first = web.get("/queues/it?state=open")
    assert "52 tasks match these filters" in text_of(first)
    assert task_ids(first) == open_ids[:50]
    more = re.search(r'hx-get="([^"]+after=[^"]+)"', first.text)
    assert more is not None
    rest = web.get(more.group(1).replace("&amp;", "&"), htmx=True)
    assert task_ids(rest) == open_ids[50:]
    assert "Show older tasks" not in rest.text


def test_the_show_older_row_spans_the_table_and_links_without_a_stray_separator(
        web, make, desk):
    for _ in range(51):
        first_task(make, desk.laptop, desk.rita)
    page = web.login(desk.ivan).get("/queues/it").text
    columns = page.split("<thead>", 1)[1].split("</thead>", 1)[0].count("<th ")
    assert f'<tr class="more-row" id="more-row"><td colspan="{columns}">' in page
    assert 'href="/queues/it?after=' in page


@pytest.mark.parametrize("after", ["nonsense", "2024-03-01T09:00:00%2B00:00_99999999999999999999"])
@pytest.mark.parametrize("htmx", [False, True])
def test_a_broken_page_link_is_a_400(web, make, desk, after, htmx):
    first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.ivan).get(f"/queues/it?after={after}", htmx=htmx)
    assert response.status_code == 400
    assert "page link is broken" in text_of(response)


@pytest.mark.parametrize("service", ["abc", "0", "-3", "99999999999999999999"])
def test_a_bad_service_filter_is_a_400(web, make, desk, service):
    first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.ivan).get(f"/queues/it?service={service}")
    assert response.status_code == 400
    assert "not understood" in text_of(response)


# --- actions ----------------------------------------------------------------------------


def refreshed(session, task: Task) -> Task:
    session.refresh(task)
    return task


def test_claiming_returns_the_updated_row_and_a_trigger(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/claim", htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="task-{task.id}"')
    row = text_of(response)
    assert "Claimed" in row and "Ivan" in row and "You claimed this task." in row
    assert response.headers["HX-Trigger"] == "task-changed"
    assert (refreshed(session, task).state, task.assignee_id) == ("claimed", desk.ivan.id)


def test_a_second_claim_is_refused_and_says_who_has_it(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.iris).post(f"/tasks/{task.id}/claim", htmx=True)
    assert response.status_code == 409
    assert response.text.lstrip().startswith(f'<tr id="task-{task.id}"')
    assert "Ivan has already claimed this task." in text_of(response)
    assert refreshed(session, task).assignee_id == desk.ivan.id


def test_a_teammate_may_release_a_claim(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.iris).post(f"/tasks/{task.id}/release", htmx=True)
    assert response.status_code == 200
    row = text_of(response)
    assert "Released to the team queue." in row and "Open" in row and "Ivan" not in row
    assert f'hx-post="/tasks/{task.id}/claim"' in response.text
    assert (refreshed(session, task).state, task.assignee_id) == ("open", None)


def test_a_claimed_task_may_be_handed_to_a_teammate(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.ivan).post(
        f"/tasks/{task.id}/hand", {"to": str(desk.iris.id)}, htmx=True)
    assert response.status_code == 200
    assert "Handed to Iris." in text_of(response)
    assert (refreshed(session, task).state, task.assignee_id) == ("claimed", desk.iris.id)
    refused = web.post(f"/tasks/{task.id}/hand", {"to": str(desk.hana.id)}, htmx=True)
    assert refused.status_code == 403
    assert "Hana is not an active member of this team." in text_of(refused)
    assert refreshed(session, task).assignee_id == desk.iris.id


def test_completing_with_a_note_finishes_the_task_and_opens_the_next_step(
    web, session, make, desk
):
    task = first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.ivan).post(
        f"/tasks/{task.id}/complete", {"note": "Imaged and delivered"}, htmx=True)
    assert response.status_code == 200
    row = text_of(response)
    assert "Done" in row and "Ivan" in row and "hx-post" not in response.text
    assert refreshed(session, task).state == "done"
    note = session.exec(select(TimelineEvent.note).where(
        TimelineEvent.task_id == task.id, TimelineEvent.kind == "completed")).one()
    assert note == "Imaged and delivered"
    hr_queue = web.login(desk.hana).get("/queues/hr")
    assert task_ids(hr_queue) == [make.tasks(session.get(ServiceRequest, task.request_id))[1].id]


def approval_task(make, desk):  # type: ignore[no-untyped-def]
    purchase = make.service(steps=[("it", "approval"), ("hr", "task")])
    return first_task(make, purchase, desk.rita)


def test_approving_moves_the_request_on(web, session, make, desk):
    task = approval_task(make, desk)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/approve", {"note": "Fine"},
                                         htmx=True)
    assert response.status_code == 200
    assert "Approved" in text_of(response)
    request = session.get(ServiceRequest, task.request_id)
    assert [t.state for t in make.tasks(request)] == ["approved", "open"]


def test_rejecting_without_a_reason_is_refused_in_the_row_and_changes_nothing(
    web, session, make, desk
):
    task = approval_task(make, desk)
    web.login(desk.ivan)
    response = web.post(f"/tasks/{task.id}/reject", {"note": "  "}, htmx=True)
    assert response.status_code == 422
    assert response.text.lstrip().startswith(f'<tr id="task-{task.id}"')
    assert "Say why you reject it" in text_of(response)
    assert refreshed(session, task).state == "open"
    rejected = web.post(f"/tasks/{task.id}/reject", {"note": "Over budget"}, htmx=True)
    assert rejected.status_code == 200 and "Rejected" in text_of(rejected)
    request = session.get(ServiceRequest, task.request_id)
    session.refresh(request)
    assert request.state == "rejected"
    assert [t.state for t in make.tasks(request)] == ["rejected", "cancelled"]


def test_who_may_not_act_is_refused_and_nothing_changes(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    cases = [
        (desk.hana, 403, "team you are not a member of"),  # HR has a task on the request
        (make.user("Lena", teams=("legal",)), 404, "no such task"),  # cannot see it
        (desk.rita, 403, "team you are not a member of"),  # sees it, may not work it
        (make.user("Mona", manager=True), 403, "team you are not a member of"),
    ]
    for person, status, message in cases:
        web.login(person)
        for action in ("claim", "complete"):
            response = web.post(f"/tasks/{task.id}/{action}", htmx=True)
            assert response.status_code == status, person.name
            assert message in text_of(response)
    assert (refreshed(session, task).state, task.assignee_id) == ("open", None)
    assert session.exec(select(TimelineEvent.kind).where(
        TimelineEvent.request_id == task.request_id)).all() == ["submitted"]


def test_an_unknown_task_is_not_found(web, desk):
    response = web.login(desk.ivan).post("/tasks/999999/claim", htmx=True)
    assert response.status_code == 404
    assert "no such task" in text_of(response)


@pytest.mark.parametrize(("back", "location"), [
    ("/queues/it?state=open", "/queues/it?state=open"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
])
def test_without_htmx_an_action_redirects_back_to_a_local_page(
    web, session, make, desk, back, location
):
    task = first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/claim", {"back": back})
    assert response.status_code == 303
    assert response.headers["location"] == location
    assert refreshed(session, task).assignee_id == desk.ivan.id


def test_without_htmx_or_back_an_action_goes_to_the_request(web, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/claim")
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{task.request_id}"


# --- my work ----------------------------------------------------------------------------


def test_my_work_lists_exactly_my_claimed_tasks(web, session, make, desk):
    other = make.service(steps=[("hr", "task")])
    ines = make.user("Ines", teams=("it", "hr"))
    mine = [first_task(make, desk.laptop, desk.rita), first_task(make, other, desk.rita)]
    for task in mine:
        claim_task(session, task=task, by=ines)
    claim_task(session, task=first_task(make, desk.laptop, desk.rita), by=desk.iris)
    first_task(make, desk.laptop, desk.rita)  # open, nobody's
    response = web.login(ines).get("/my-work")
    assert response.status_code == 200
    assert task_ids(response) == [task.id for task in mine]
    assert "2 tasks claimed by you" in text_of(response)
    ids = session.exec(select(Task.id).where(Task.assignee_id == ines.id)
                       .order_by(col(Task.id))).all()
    assert sorted(task_ids(response)) == list(ids)
    empty = web.login(desk.hana).get("/my-work")
    assert task_ids(empty) == [] and "You have nothing claimed" in text_of(empty)


def test_a_refused_action_gives_back_what_was_typed_in_the_note(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    typed = "Asset tag 4711. " * 400  # over the 5,000 characters a note may have
    # The note is written in the task's panel, which the refusal sends back.
    response = web.login(desk.ivan).post(
        f"/tasks/{task.id}/complete", {"note": typed, "view": "queue-panel"}, htmx=True)
    assert response.status_code == 422
    assert "Use at most 5000 characters (this has 6399)" in text_of(response)
    assert f'>{typed}</textarea>' in response.text
    assert refreshed(session, task).state == "open"


def test_handing_without_choosing_a_teammate_is_refused_with_a_message(
    web, session, make, desk
):
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.ivan)
    response = web.login(desk.ivan).post(f"/tasks/{task.id}/hand", {"to": ""}, htmx=True)
    assert response.status_code == 422
    assert "Pick a teammate" in response.headers["HX-Trigger"]
    assert refreshed(session, task).assignee_id == desk.ivan.id


def test_the_queue_count_refreshes_itself_after_an_action(web, make, desk):
    first_task(make, desk.laptop, desk.rita)
    page = web.login(desk.ivan).get("/queues/it").text
    assert 'hx-trigger="task-changed from:body"' in page
    assert 'id="queue-count"' in page


def test_team_members_start_at_their_queues_and_others_at_the_catalog(web, desk):
    assert web.login(desk.ivan).get("/").headers["location"] == "/queues"
    web.logout()
    assert web.login(desk.rita).get("/").headers["location"] == "/catalog"


def test_a_row_sent_back_after_an_action_keeps_the_page_to_come_back_to(web, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    response = web.login(desk.ivan).post(
        f"/tasks/{task.id}/claim", {"back": "/queues/it?state=open"}, htmx=True)
    assert 'name="back" value="/queues/it?state=open"' in response.text
    assert f'name="back" value="/tasks/{task.id}/claim"' not in response.text


# --- "Hand to": one list of teammates per page, names resolved within the team ----------


def test_the_hand_to_box_takes_a_teammates_email_or_name(web, session, make, desk):
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.ivan)
    page = web.login(desk.ivan).get("/queues/it")
    assert page.text.count(f'<datalist id="teammates-{task.team_id}">') == 1
    assert f'<option value="{desk.iris.email}">Iris</option>' in page.text
    assert f'list="teammates-{task.team_id}"' in page.text
    handed = web.post(f"/tasks/{task.id}/hand", {"to": desk.iris.email.upper()}, htmx=True)
    assert handed.status_code == 200 and "Handed to Iris." in text_of(handed)
    back = web.login(desk.iris).post(f"/tasks/{task.id}/hand", {"to": "ivan"}, htmx=True)
    assert back.status_code == 200 and "Handed to Ivan." in text_of(back)
    assert refreshed(session, task).assignee_id == desk.ivan.id


def test_the_hand_to_box_reads_name_and_email_as_the_person_field_does(
    web, session, make, desk
):
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.ivan)
    web.login(desk.ivan)
    handed = web.post(f"/tasks/{task.id}/hand", {"to": f" Iris  <{desk.iris.email}> "},
                      htmx=True)
    assert handed.status_code == 200 and "Handed to Iris." in text_of(handed)
    assert refreshed(session, task).assignee_id == desk.iris.id
    nobody = web.login(desk.iris).post(
        f"/tasks/{task.id}/hand", {"to": "x" * 360 + f" <{desk.ivan.email}>"}, htmx=True)
    assert nobody.status_code == 422


@pytest.mark.parametrize("flag", ["maybe", "TRUE", "2"])
def test_an_overdue_flag_no_page_sends_is_refused(web, desk, flag):
    response = web.login(desk.ivan).get(f"/queues/it?overdue={flag}")
    assert response.status_code == 422


@pytest.mark.parametrize("holder", ["ivan", "iris"])
def test_the_panel_after_a_claim_offers_hand_when_someone_else_could_take_it(
    web, make, desk, holder
):
    claimer = getattr(desk, holder)
    task = first_task(make, desk.laptop, desk.rita)
    panel = web.login(claimer).post(f"/tasks/{task.id}/claim", {"view": "queue-panel"},
                                    htmx=True)
    assert panel.status_code == 200
    assert f'formaction="/tasks/{task.id}/hand"' in panel.text  # Ivan or Iris, either way
    # The queue's row, updated out of band, offers Complete to its holder.
    assert f'<tr id="task-{task.id}" hx-swap-oob="true"' in panel.text
    assert f'formaction="/tasks/{task.id}/complete"' in panel.text

    lone = make.service(slug="lone", steps=[("lone-team", "task")])
    only = make.user("Oona", teams=("lone-team",))
    alone = first_task(make, lone, desk.rita)
    panel = web.login(only).post(f"/tasks/{alone.id}/claim", {"view": "queue-panel"},
                                 htmx=True)
    assert panel.status_code == 200 and f"/tasks/{alone.id}/release" in panel.text
    assert f'formaction="/tasks/{alone.id}/hand"' not in panel.text  # no one to hand it to


def test_a_name_two_teammates_share_or_a_stranger_is_refused_with_a_message(
    web, session, make, desk
):
    make.user("Iris", teams=("it",))  # a second Iris in IT
    make.user("Olga")  # not in IT
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=desk.ivan)
    web.login(desk.ivan)
    for typed, message in (("Iris", "Several teammates have that name"),
                           ("Olga", "No active person matches that"),
                           ("²", "No active person matches that")):
        response = web.post(f"/tasks/{task.id}/hand", {"to": typed}, htmx=True)
        assert response.status_code == 422, typed
        assert message in response.headers["HX-Trigger"], typed
    assert refreshed(session, task).assignee_id == desk.ivan.id


def test_a_manager_on_the_team_gets_the_hand_to_list_from_the_overview_list(
    web, session, make, desk
):
    boss = make.user("Maria", teams=("it",), manager=True)
    task = first_task(make, desk.laptop, desk.rita)
    claim_task(session, task=task, by=boss)
    page = web.login(boss).get("/overview/tasks?team=it")
    assert f'href="/tasks/{task.id}"' in page.text  # the row opens the task's panel
    panel = web.get(f"/tasks/{task.id}")
    assert f'<datalist id="panel-teammates-{task.id}">' in panel.text
    assert f'list="panel-teammates-{task.id}"' in panel.text
