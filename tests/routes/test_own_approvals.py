"""PRODUCT.md rule 7 over HTTP: no page offers the requester Approve or Reject on their
own request (a team queue, My work, the request page, the overview's list), and a post
that tries anyway is refused (issue 12, item 6)."""

import re

import pytest

from app.rules.tasks import claim_task
from app.storage.models import Task, User
from tests.factories import Factory
from tests.test_own_approvals import approval_service


def decide_buttons(html: str, task: Task) -> list[str]:
    """The Approve and Reject actions a page offers for the task."""
    return re.findall(rf'formaction="/tasks/{task.id}/(approve|reject|claim)"', html)


def panel_of(web, task: Task, view: str = "queue") -> str:  # type: ignore[no-untyped-def]
    """The task's panel, where a list's row has an approval decided (issue 16)."""
    return str(web.get(f"/tasks/{task.id}?view={view}", htmx=True).text)


@pytest.fixture
def dana(make: Factory) -> User:
    """An approver and a manager, who also files requests of her own."""
    return make.user("Dana", teams=("approvers",), manager=True)


@pytest.fixture
def otto(make: Factory) -> User:
    return make.user("Otto", teams=("approvers",))


@pytest.fixture
def own_and_other(session, make, dana, otto):  # type: ignore[no-untyped-def]
    """Two purchase approvals in the approvers' queue: Dana's own, and Otto's."""
    service = approval_service(session, make)
    own = make.tasks(make.request(service, dana, {"summary": "Dana's chair"}))[0]
    other = make.tasks(make.request(service, otto, {"summary": "Otto's desk"}))[0]
    return own, other


def test_the_queue_offers_no_decision_on_ones_own_request(web, own_and_other, dana):
    own, other = own_and_other

    page = web.login(dana).get("/queues/approvers").text

    assert decide_buttons(page, own) == []
    assert decide_buttons(page, other) == ["claim"]  # decided in its panel, after a look
    assert decide_buttons(panel_of(web, own), own) == []
    assert "Your own request: a teammate approves or rejects it." in panel_of(web, own)
    assert decide_buttons(panel_of(web, other), other) == ["claim", "approve", "reject"]


def test_the_queue_offers_it_to_another_approver(web, own_and_other, otto):
    own, _ = own_and_other

    page = web.login(otto).get("/queues/approvers").text

    assert decide_buttons(page, own) == ["claim"]
    assert decide_buttons(panel_of(web, own), own) == ["claim", "approve", "reject"]


def test_the_queue_offers_it_when_the_step_allows_it(web, session, make, dana):
    service = approval_service(session, make, slug="snacks", requester_may_approve=True)
    own = make.tasks(make.request(service, dana))[0]

    page = web.login(dana).get("/queues/approvers").text

    assert decide_buttons(page, own) == ["claim"]
    assert decide_buttons(panel_of(web, own), own) == ["claim", "approve", "reject"]


def test_my_work_offers_no_decision_on_ones_own_claimed_request(web, session, own_and_other,
                                                                 dana):
    own, other = own_and_other
    # Claimed before claiming one's own approval was refused (claim_task says no now).
    own.state, own.assignee_id = "claimed", dana.id
    session.add(own)
    session.commit()
    claim_task(session, task=other, by=dana)

    page = web.login(dana).get("/my-work").text

    assert decide_buttons(page, own) == []
    assert decide_buttons(page, other) == []  # the row's Review opens them beside it
    assert f'href="/tasks/{other.id}?view=mywork"' in page
    assert decide_buttons(panel_of(web, own, "mywork"), own) == []
    assert decide_buttons(panel_of(web, other, "mywork"), other) == ["approve", "reject"]


def test_the_request_page_offers_no_decision_to_the_requester(web, own_and_other, dana,
                                                              otto):
    own, _ = own_and_other

    as_requester = web.login(dana).get(f"/requests/{own.request_id}").text
    as_approver = web.login(otto).get(f"/requests/{own.request_id}").text

    assert decide_buttons(as_requester, own) == []
    assert "Your own request: a teammate approves or rejects it." in as_requester
    assert decide_buttons(as_approver, own) == ["claim", "approve", "reject"]


def test_the_request_page_offers_it_when_the_step_allows_it(web, session, make, dana):
    service = approval_service(session, make, slug="snacks", requester_may_approve=True)
    own = make.tasks(make.request(service, dana))[0]

    page = web.login(dana).get(f"/requests/{own.request_id}").text

    assert decide_buttons(page, own) == ["claim", "approve", "reject"]


def test_the_overview_list_offers_no_decision_on_ones_own_request(web, own_and_other, dana):
    own, other = own_and_other

    page = web.login(dana).get("/overview/tasks?team=approvers").text

    assert decide_buttons(page, own) == []
    assert decide_buttons(page, other) == ["claim"]
    assert decide_buttons(panel_of(web, own, ""), own) == []
    assert decide_buttons(panel_of(web, other, ""), other) == ["claim", "approve", "reject"]


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_post_deciding_ones_own_request_is_refused(web, session, own_and_other, dana,
                                                     action):
    own, _ = own_and_other
    web.login(dana)

    page = web.post(f"/tasks/{own.id}/{action}", {"note": "Mine", "back": "/queues/approvers"})
    fragment = web.post(f"/tasks/{own.id}/{action}", {"note": "Mine"}, htmx=True)

    assert page.status_code == 403
    assert "This is your own request: someone else on the team must approve" in page.text
    # htmx: nothing swapped, the message in the toast.
    assert fragment.status_code == 403
    assert fragment.headers["HX-Reswap"] == "none"
    assert "your own request" in fragment.headers["HX-Trigger"]
    session.refresh(own)
    assert (own.state, own.assignee_id) == ("open", None)


def test_a_post_claiming_ones_own_approval_is_refused(web, session, own_and_other, dana):
    own, _ = own_and_other
    web.login(dana)

    page = web.post(f"/tasks/{own.id}/claim", {"back": "/queues/approvers"})
    row = web.post(f"/tasks/{own.id}/claim", {"view": "queue"}, htmx=True)

    assert page.status_code == 403
    assert "This is your own request: someone else on the team must approve" in page.text
    assert row.status_code == 403
    assert "your own request" in row.headers["HX-Trigger"]
    session.refresh(own)
    assert (own.state, own.assignee_id) == ("open", None)


def test_handing_an_approval_to_its_requester_is_refused(web, session, own_and_other, dana,
                                                         otto):
    own, _ = own_and_other
    claim_task(session, task=own, by=otto)
    web.login(otto)

    page = web.post(f"/tasks/{own.id}/hand", {"to": dana.email, "back": "/queues/approvers"})

    assert page.status_code == 403
    assert "Dana asked for this request and cannot approve or reject it" in page.text
    session.refresh(own)
    assert (own.state, own.assignee_id) == ("claimed", otto.id)
