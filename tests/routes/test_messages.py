"""Messages on the request page (issue 16, item 5): "Your request is in" once, right after
the form was sent and never again on a reload; each kind of message in its own colour
(a class of the stylesheet) and with its own role: status for information and success,
alert for a rejection."""

import re

import pytest
from sqlmodel import select

from app.config import ROOT
from app.rules.catalog import current_version
from app.rules.requests import cancel_request
from app.rules.tasks import reject_task
from app.storage.models import ServiceRequest
from app.web.flash import FLASH_COOKIE
from tests.web import text_of

SENT = "Your request is in."


@pytest.fixture
def approval(make):  # type: ignore[no-untyped-def]
    return make.service(slug="desk", name="Desk", steps=[("approvers", "approval")])


def banners(response) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """Each .notice of the page as (its classes, its role, its text)."""
    return [(classes, role, " ".join(re.sub(r"<[^>]+>", " ", text).split()))
            for classes, role, text in re.findall(
                r'<p class="(notice[^"]*)" role="(\w+)">(.*?)</p>', response.text, re.S)]


def send(web, session, service):  # type: ignore[no-untyped-def]
    version = current_version(session, service)
    return web.post(f"/services/{service.slug}/requests",
                    {"version_id": str(version.id), "summary": "A standing desk"},
                    files=[("none", ("", b"", "application/octet-stream"))])


def test_your_request_is_in_shows_once_and_not_after_a_reload(web, make, session, approval):
    web.login(make.user("Rita"))
    sent = send(web, session, approval)
    assert sent.status_code == 303
    created = session.exec(select(ServiceRequest)).one()
    # Nothing in the address that a reload, a bookmark or a copied link would keep.
    assert sent.headers["location"] == f"/requests/{created.id}"
    assert FLASH_COOKIE in sent.headers["set-cookie"]
    assert f"Path=/requests/{created.id}" in sent.headers["set-cookie"]

    first = web.get(sent.headers["location"])
    assert [b for b in banners(first) if SENT in b[2]] == [
        ("notice is-success", "status",
         "Your request is in. The teams below will pick it up; this page shows where it "
         "stands.")]
    assert text_of(first).count(SENT) == 1
    assert FLASH_COOKIE in first.headers["set-cookie"]  # deleted as it is shown
    again = web.get(sent.headers["location"])
    assert SENT not in text_of(again)


def test_an_old_submitted_address_says_nothing_about_sending(web, make, approval):
    rita = make.user("Rita")
    filed = make.request(approval, rita)
    response = web.login(rita).get(f"/requests/{filed.id}?submitted=1")
    assert response.status_code == 200
    assert SENT not in text_of(response)


def test_a_cookie_naming_no_known_message_shows_nothing(web, make, approval):
    rita = make.user("Rita")
    filed = make.request(approval, rita)
    web.login(rita).client.cookies.set(FLASH_COOKIE, "<b>hi</b>")
    response = web.get(f"/requests/{filed.id}")
    assert "<b>hi</b>" not in response.text and SENT not in text_of(response)


def test_a_rejection_is_an_alert_and_sending_the_form_again_does_not_say_it_is_in(
    web, make, session, approval
):
    rita, dana = make.user("Rita"), make.user("Dana", teams=("approvers",))
    web.login(rita)
    sent = send(web, session, approval)
    created = session.exec(select(ServiceRequest)).one()
    (task,) = make.tasks(created)
    reject_task(session, task=task, by=dana, reason="No budget this quarter")
    # The redirect's message arrives after the rejection (a slow page, a form sent twice).
    response = web.get(sent.headers["location"])
    assert banners(response) == [
        ("notice is-error", "alert", "Rejected by Dana : “No budget this quarter”")]


def test_a_cancelling_is_information(web, make, approval):
    rita = make.user("Rita")
    filed = make.request(approval, rita)
    cancel_request(make.session, service_request=filed, by=rita, reason="Found one")
    response = web.login(rita).get(f"/requests/{filed.id}")
    assert banners(response) == [("notice", "status", "Cancelled by Rita : “Found one”")]


def test_each_kind_of_banner_has_its_own_colours_in_both_schemes():
    css = (ROOT / "static" / "baton.css").read_text()

    def rule(selector: str) -> str:
        found = re.search(r"(?m)^" + re.escape(selector) + r"[^{]*\{([^}]*)\}", css)
        assert found is not None, selector
        return found.group(1)

    backgrounds = {rule(selector).split("background:")[1].split(";")[0].strip()
                   for selector in (".notice ", ".notice.is-success", ".notice.is-error",
                                    ".notice.is-warning")}
    assert backgrounds == {"var(--info-bg)", "var(--success-bg)", "var(--alert-bg)",
                           "var(--warn-bg)"}
    assert '.notice[role="alert"]' in css  # an alert looks like one, whatever its class
    dark = css.split("@media (prefers-color-scheme: dark)")
    for name in ("--info-bg", "--success-bg", "--alert-bg"):
        assert sum(name + ":" in part for part in dark) == 2, name  # light and dark
