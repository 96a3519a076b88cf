"""How the request page draws a service's process: stages of an enforced service (steps
that happen together), a flexible service's steps in any order, and the steps a request
did not need, with the reason; and the "my requests" progress bar for those."""

import html
import re

import pytest
from sqlmodel import Session, select

from app.config import ROOT
from app.rules.tasks import complete_task
from app.storage.models import Task, TimelineEvent
from tests.factories import Factory
from tests.test_due import define
from tests.web import WebClient, text_of

AMOUNT = [{"key": "summary", "label": "Summary", "type": "text"},
          {"key": "amount", "label": "Amount (EUR)", "type": "number"}]


def steps_html(response) -> str:  # type: ignore[no-untyped-def]
    return response.text.split('<section aria-labelledby="steps-title"', 1)[1].split(
        "</section>")[0]


def stages(response) -> list[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    """Each stage's title and its steps as "number. name: state", in order."""
    found = []
    for chunk in steps_html(response).split('<li class="stage')[1:]:
        title = re.search(r'<h3 class="stage-title">(.*?)</h3>', chunk)
        assert title is not None
        steps = re.findall(r"<strong>(\d+\. [^<]+)</strong>.*?"
                           r'<span class="badge state-\w+">([^<]+)</span>', chunk, re.DOTALL)
        found.append((html.unescape(title.group(1)), [f"{n}: {s}" for n, s in steps]))
    return found


def step_html(response, task: Task) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf'<li class="step[^"]*" id="step-{task.id}">.*?</li>', response.text,
                      re.DOTALL)
    assert match is not None
    return match.group(0)


def step_text(response, task: Task) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", step_html(response, task)).split()))


@pytest.fixture
def people(make: Factory):  # type: ignore[no-untyped-def]
    class People:
        rita = make.user("Rita")
        ivan = make.user("Ivan", teams=("it",))
        hana = make.user("Hana", teams=("hr",))
        fran = make.user("Fran", teams=("facilities",))
        outsider = make.user("Otto")
        manager = make.user("Mona", manager=True)
    return People


@pytest.fixture
def onboarding(make: Factory, people):  # type: ignore[no-untyped-def]
    """HR paperwork, then IT and facilities together (stage 2), then an HR welcome."""
    return define(make, slug="onboarding", steps=[
        {"name": "Paperwork", "team": "hr"},
        {"name": "Account", "team": "it", "stage": 2},
        {"name": "Desk", "team": "facilities", "stage": 2},
        {"name": "Welcome", "team": "hr"},
    ])


@pytest.mark.parametrize("who", ["rita", "ivan", "hana", "manager"])
def test_an_enforced_service_groups_its_steps_by_stage(web, make, people, onboarding, who):
    filed = make.request(onboarding, people.rita)
    response = web.login(getattr(people, who)).get(f"/requests/{filed.id}")
    assert response.status_code == 200
    assert stages(response) == [
        ("Stage 1", ["1. Paperwork: Open"]),
        ("Stage 2 — these happen together", ["2. Account: Waiting", "3. Desk: Waiting"]),
        ("Stage 3", ["4. Welcome: Waiting"]),
    ]
    assert "the steps of one stage happen together" in text_of(response)


def test_the_outsider_still_sees_nothing(web, make, people, onboarding):
    filed = make.request(onboarding, people.rita)
    assert web.login(people.outsider).get(f"/requests/{filed.id}").status_code == 404


def test_a_stage_of_steps_opens_together_and_the_page_shows_it(
    web, session, make, people, onboarding
):
    filed = make.request(onboarding, people.rita)
    paperwork, account, desk, _welcome = make.tasks(filed)
    complete_task(session, task=paperwork, by=people.hana)
    response = web.login(people.rita).get(f"/requests/{filed.id}")
    assert stages(response)[1] == ("Stage 2 — these happen together",
                                   ["2. Account: Open", "3. Desk: Open"])
    assert stages(response)[0] == ("Stage 1", ["1. Paperwork: Done"])


def test_stages_are_numbered_in_order_whatever_numbers_the_definition_uses(
    web, make, people
):
    service = define(make, slug="numbered", steps=[
        {"name": "First", "team": "hr", "stage": 10},
        {"name": "Second", "team": "it", "stage": 20},
        {"name": "Third", "team": "facilities", "stage": 20},
    ])
    filed = make.request(service, people.rita)
    titles = re.findall(r'<h3 class="stage-title">(.*?)</h3>',
                        web.login(people.rita).get(f"/requests/{filed.id}").text)
    assert titles == ["Stage 1", "Stage 2 — these happen together"]


def test_a_service_whose_steps_follow_one_another_is_a_plain_numbered_list(
    web, make, people
):
    service = make.service(steps=[("hr", "task"), ("it", "task")])
    filed = make.request(service, people.rita)
    response = web.login(people.rita).get(f"/requests/{filed.id}")
    assert "Stage" not in text_of(response)
    assert '<ol class="step-list">' in steps_html(response)
    assert "1. Step 1" in text_of(response) and "2. Step 2" in text_of(response)


def test_a_flexible_service_says_its_steps_happen_in_any_order(web, make, people):
    service = make.service(ordering="flexible", steps=[("hr", "task"), ("it", "task")])
    filed = make.request(service, people.rita)
    response = web.login(people.rita).get(f"/requests/{filed.id}")
    assert "These steps happen in any order" in text_of(response)
    assert '<ul class="step-list">' in steps_html(response)
    assert "Stage" not in text_of(response)


# --- steps a request did not need -------------------------------------------------------------


@pytest.fixture
def purchase(make: Factory, people):  # type: ignore[no-untyped-def]
    """IT places the order; over 5,000 EUR HR approves first."""
    return define(make, slug="purchase", fields=AMOUNT, steps=[
        {"name": "Budget approval", "team": "hr", "kind": "approval",
         "condition": "amount > 5000"},
        {"name": "Order", "team": "it"},
    ])


@pytest.mark.parametrize("who", ["rita", "ivan", "hana", "manager"])
def test_a_skipped_step_says_not_needed_and_why_instead_of_who_has_it(
    web, make, people, purchase, who
):
    small = make.request(purchase, people.rita, {"summary": "Chairs", "amount": "800"})
    approval, order = make.tasks(small)
    assert approval.state == "skipped"
    response = web.login(getattr(people, who)).get(f"/requests/{small.id}")
    assert response.status_code == 200
    skipped = step_text(response, approval)
    # In the form's words, not the condition's syntax (`amount > 5000`).
    assert skipped == ("1. Budget approval approval Not needed "
                       "Not needed: only for requests where Amount (EUR) is more than 5,000.")
    assert "Hr" not in skipped  # no team, no assignee
    assert "<form" not in step_html(response, approval)  # nothing to act on
    assert "Open It" in step_text(response, order)
    timeline = text_of(response).split("Timeline", 1)[1]
    assert ("Budget approval is not needed: only for requests where Amount (EUR) is more "
            "than 5,000.") in html.unescape(timeline)
    assert "amount &gt; 5000" not in response.text


def test_a_needed_step_is_shown_as_usual(web, make, people, purchase):
    large = make.request(purchase, people.rita, {"summary": "Servers", "amount": "9000"})
    approval, _order = make.tasks(large)
    response = web.login(people.rita).get(f"/requests/{large.id}")
    assert step_text(response, approval).startswith("1. Budget approval approval Open Hr")
    assert "Not needed" not in text_of(response)


def test_without_a_recorded_reason_the_page_gives_the_versions_condition(
    web, session: Session, make, people, purchase
):
    """A step skipped by hand (an import of old requests) has no task_skipped event:
    the reason comes from the condition of the version the request was filed under."""
    large = make.request(purchase, people.rita, {"summary": "Servers", "amount": "9000"})
    approval, _order = make.tasks(large)
    approval.state = "skipped"
    session.add(approval)
    session.flush()
    response = web.login(people.rita).get(f"/requests/{large.id}")
    assert "Not needed: only for requests where Amount (EUR) is more than 5,000." in step_text(
        response, approval)


def test_a_reason_recorded_in_the_conditions_syntax_is_shown_in_the_forms_words(
    web, session: Session, make, people, purchase
):
    """Requests skipped before reasons were worded for people recorded the condition
    itself; the page words it from the version's fields and leaves the event as it was."""
    small = make.request(purchase, people.rita, {"summary": "Chairs", "amount": "800"})
    approval, _order = make.tasks(small)
    old = "Not needed: the condition “amount > 5000” does not hold."
    event = session.exec(select(TimelineEvent).where(
        TimelineEvent.task_id == approval.id, TimelineEvent.kind == "task_skipped")).one()
    event.note = old
    session.add(event)
    session.flush()
    response = web.login(people.rita).get(f"/requests/{small.id}")
    words = "only for requests where Amount (EUR) is more than 5,000."
    assert f"Not needed: {words}" in step_text(response, approval)
    assert f"Budget approval is not needed: {words}" in html.unescape(
        text_of(response).split("Timeline", 1)[1])
    assert "amount &gt; 5000" not in response.text
    session.refresh(event)
    assert event.note == old


def test_my_requests_shows_skipped_steps_as_finished_segments(web, make, people, purchase):
    small = make.request(purchase, people.rita, {"summary": "Chairs", "amount": "800"})
    response = web.login(people.rita).get("/requests")
    line = response.text.split(f"<strong>{small.number}</strong>", 1)[1]
    assert 'aria-label="Steps: 1 of 2 finished"' in line
    assert re.findall(r'class="seg state-(\w+)"', line) == ["skipped", "open"]
    assert 'title="Budget approval (Hr): Not needed"' in line
    # In words too, not by colour alone (issue 16): no legend to decode.
    assert "1 of 2 steps done" in line


def test_the_stylesheet_draws_skipped_segments_apart_from_waiting_ones():
    css = (ROOT / "static" / "baton.css").read_text()
    rule = re.search(r"\.seg\.state-skipped \{([^}]*)\}", css)
    assert rule is not None and "repeating-linear-gradient" in rule.group(1)


def test_every_step_skipped_means_a_completed_request_with_each_reason(web, make, people):
    service = define(make, slug="rare", fields=AMOUNT, steps=[
        {"name": "Big check", "team": "hr", "condition": "amount > 1000"},
        {"name": "Huge check", "team": "it", "condition": "amount > 5000 and amount < 9000"},
    ])
    filed = make.request(service, people.rita, {"summary": "Pens", "amount": "5"})
    response = web.login(people.rita).get(f"/requests/{filed.id}")
    first, second = make.tasks(filed)
    assert "only for requests where Amount (EUR) is more than 1,000." in step_text(
        response, first)
    assert ("only for requests where Amount (EUR) is more than 5,000 and Amount (EUR) is "
            "less than 9,000.") in step_text(response, second)
    assert 'class="badge state-completed"' in response.text
    mine = web.get("/requests").text.split(f"<strong>{filed.number}</strong>", 1)[1]
    assert 'aria-label="Steps: 2 of 2 finished"' in mine


# --- the service page tells what will happen ----------------------------------------------


def test_the_service_page_shows_conditions_targets_and_steps_that_go_together(
    web: WebClient, make, people
):
    define(make, slug="hire", fields=AMOUNT, steps=[
        {"name": "Paperwork", "team": "hr", "target_business_days": 2},
        {"name": "Account", "team": "it", "stage": 2, "target_hours": 4},
        {"name": "Desk", "team": "facilities", "stage": 2, "condition": "amount > 10"},
    ])
    response = web.login(people.rita).get("/services/hire")
    steps = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.text.split(
        'class="steps-preview">')[1].split("</ol>")[0]).split()))
    assert steps == (
        "Paperwork Hr Usually within 2 business days "
        "Account It Usually within 4 hours "
        "Desk Facilities alongside Account Only when Amount (EUR) is more than 10"
    )
    assert "steps marked “alongside” start together" in text_of(response)
    # Admins keep the condition itself, on the service's admin page.
    admin = web.login(make.user("Adam", admin=True)).get("/admin/services/hire")
    assert "only if <code>amount &gt; 10</code>" in admin.text


def test_a_request_keeps_the_stages_of_the_version_it_was_filed_under(
    web, session, make, people, onboarding
):
    filed = make.request(onboarding, people.rita)
    define(make, slug="onboarding", steps=[
        {"name": "Paperwork", "team": "hr"},
        {"name": "Account", "team": "it"},
        {"name": "Desk", "team": "facilities"},
        {"name": "Welcome", "team": "hr"},
    ])
    session.expire_all()
    response = web.login(people.rita).get(f"/requests/{filed.id}")
    assert "Stage 2 — these happen together" in text_of(response)
    later = make.request(onboarding, people.rita)
    assert "Stage" not in text_of(web.get(f"/requests/{later.id}"))
