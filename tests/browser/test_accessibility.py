"""Every page each persona uses passes axe-core with no serious or critical violations, in
the light and in the dark colour scheme."""

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import sign_in

SERVICE = "/services/onboard-new-hire"
FORM_ERRORS = "form-with-errors"
REQUEST_PAGE = "a-request-page"
# A queue after a bulk action that refused every row (Release on open tasks: nothing
# changes in the demo), and a queue with a saved view's tabs (issue 14).
BULK_REFUSED = "queue-bulk-refused"
SAVED_VIEW = "queue-with-a-saved-view"
# A queue with a task's detail panel open beside it (issue 16), and an approval's panel
# (the answers, the reason field, Approve and Reject).
TASK_PANEL = "queue-with-a-task-panel"
APPROVAL_PANEL = "approvals-with-a-review-panel"
EVERYONE = ["/catalog", SERVICE, FORM_ERRORS, "/requests", REQUEST_PAGE, "/queues", "/my-work",
            "/search?q=kitchen", "/inbox", "/inbox?show=all"]
PERSONAS = {
    # The profile page with its API tokens, and the API's documentation (issue 15).
    "ben@example.com": [*EVERYONE, "/profile", "/help/api"],
    "ivan@example.com": [*EVERYONE, "/queues/it", "/insights/teams/it", BULK_REFUSED,
                          SAVED_VIEW, TASK_PANEL],
    "dana@example.com": ["/queues/approvers", APPROVAL_PANEL],
    "maria@example.com": [
        *EVERYONE, "/overview", "/overview/tasks?team=it", "/insights",
        "/insights/onboard-new-hire", "/insights/onboard-new-hire/tasks?step=2",
        "/insights/tasks?team=it", "/insights/onboard-new-hire/completed",
        "/overview/tasks?team=it&age=2",
    ],
    "adam@example.com": [
        *EVERYONE, "/admin", "/admin/services", "/admin/services/purchase-request",
        "/admin/services/purchase-request/edit", "/admin/teams", "/admin/people",
        "/admin/audit",
    ],
}
SCHEMES = ["light", "dark"]
CASES = [
    pytest.param(None, "/login", scheme, id=f"signed-out-/login-{scheme}")
    for scheme in SCHEMES
] + [
    pytest.param(email, path, scheme, id=f"{email.split('@')[0]}-{path}-{scheme}")
    for email, paths in PERSONAS.items() for path in paths for scheme in SCHEMES
]
SEVERE = {"serious", "critical"}


@pytest.fixture(scope="module")
def contexts(browser: Browser, live_server: str) -> Iterator[dict[tuple, BrowserContext]]:
    """One browser context per (persona, scheme), signed in once and reused."""
    made: dict[tuple, BrowserContext] = {}
    yield made
    for context in made.values():
        context.close()


def _page_for(contexts: dict, browser: Browser, base: str, email: str | None,
              scheme: str) -> Page:
    key = (email, scheme)
    if key not in contexts:
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        if email:
            sign_in(page, base, email)
        contexts[key] = context
    return contexts[key].pages[0]


def _open(page: Page, base: str, path: str) -> None:
    if path == FORM_ERRORS:
        page.goto(f"{base}{SERVICE}")
        page.get_by_label("Personal e-mail address").fill("not-an-address")
        page.get_by_role("button", name="Send request").click()
        page.locator(".field-error").first.wait_for()
    elif path == REQUEST_PAGE:
        page.goto(f"{base}/requests")
        link = page.locator("main a[href^='/requests/']").first
        if link.count():
            link.click()
            page.wait_for_url("**/requests/*")
        else:  # a persona without requests of their own still sees a demo request
            page.goto(f"{base}/requests/1")
    elif path == BULK_REFUSED:
        page.goto(f"{base}/queues/it?state=open")
        for box in page.locator("input.bulk-pick").all()[:2]:
            box.check()
        page.locator("#bulk-form").get_by_role("button", name="Release", exact=True).click()
        page.locator("#bulk-report.has-error").wait_for()
    elif path == SAVED_VIEW:
        page.goto(f"{base}/queues/it?state=open")
        if not page.locator(".view-tabs a", has_text="Unclaimed").count():
            page.get_by_text("Save these filters as a view").click()
            page.get_by_label("View name").fill("Unclaimed")
            page.get_by_role("button", name="Save view").click()
        page.locator(".view-tabs a", has_text="Unclaimed").wait_for()
    elif path == TASK_PANEL:
        page.goto(f"{base}/queues/it")
        page.locator("tr.task-row a.open-panel").first.click()
        page.locator("#task-panel .task-actions").wait_for()
    elif path == APPROVAL_PANEL:
        page.goto(f"{base}/queues/approvers")
        page.locator("tr.task-row a[data-review]").first.click()
        page.locator("#task-panel .task-actions").wait_for()
    else:
        response = page.goto(f"{base}{path}")
        assert response is not None, path
        assert response.ok, f"{path} answered {response.status}"
    page.wait_for_load_state("networkidle")


def _describe(violations: list[dict]) -> str:
    lines = []
    for rule in violations:
        lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']}")
        for node in rule["nodes"][:8]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {node['target']} {node['html'][:160]} -- {summary[:240]}")
    return "\n".join(lines)


@pytest.mark.parametrize(("email", "path", "scheme"), CASES)
def test_the_page_has_no_serious_or_critical_axe_violations(
    contexts: dict, browser: Browser, live_server: str, email: str | None, path: str, scheme: str
):
    page = _page_for(contexts, browser, live_server, email, scheme)
    _open(page, live_server, path)
    results = Axe().run(page)
    severe = [rule for rule in results.response["violations"] if rule["impact"] in SEVERE]
    assert not severe, f"{page.url} ({scheme}):\n{_describe(severe)}"
