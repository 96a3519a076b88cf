"""Journeys through Baton in a real browser, one per persona."""

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in

CONTRACT = {
    "name": "contract.pdf",
    "mimeType": "application/pdf",
    "buffer": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
}
# The demo people, by the name Baton shows.
DEMO_EMAILS = {
    "Ana Alvarez": "ana@example.com",
    "Ben Becker": "ben@example.com",
    "Ivan Ivanov": "ivan@example.com",
    "Iris Ito": "iris@example.com",
    "Hana Hoffmann": "hana@example.com",
    "Fatima Farah": "fatima@example.com",
}


def test_an_employee_finds_a_service_fixes_a_wrong_answer_and_files_it(
    page: Page, live_server: str
):
    sign_in(page, live_server, "ben@example.com")
    page.goto(f"{live_server}/catalog")
    page.get_by_label("Search the catalog").fill("new hire")
    expect(page.get_by_role("link", name="Request a laptop")).to_have_count(0)
    page.get_by_role("link", name="Onboard a new hire").click()

    page.get_by_label("Full name of the new hire").fill("Jordan Lee")
    page.get_by_label("Personal e-mail address").fill("not-an-address")
    page.get_by_label("Start date").fill("2027-01-04")
    page.get_by_label("Department").select_option(index=1)
    page.get_by_label("Job title").fill("Data analyst")
    page.get_by_label("Hiring manager").fill("Dana Dubois <dana@example.com>")
    page.get_by_role("button", name="Send request").click()

    wrap = page.locator("#f-personal_email-wrap")
    expect(wrap.locator(".field-error")).to_contain_text("e-mail address")
    expect(page.get_by_label("Full name of the new hire")).to_have_value("Jordan Lee")
    expect(page.get_by_label("Job title")).to_have_value("Data analyst")

    page.get_by_label("Personal e-mail address").fill("jordan@example.org")
    page.get_by_label("Signed contract").set_input_files(CONTRACT)
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Onboard a new hire: Jordan Lee")
    number = re.search(r"REQ-\d+", page.get_by_role("heading", level=1).inner_text()).group(0)
    # Said once, and not by the address: a reload no longer says it.
    expect(page.get_by_role("status").filter(has_text="Your request is in")).to_have_count(1)
    assert "submitted" not in page.url
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.get_by_text("Your request is in")).to_have_count(0)
    answers = page.get_by_role("region", name="Answers")
    expect(answers.get_by_role("link", name="contract.pdf")).to_be_visible()
    expect(answers.get_by_role("link", name="contract.pdf")).to_have_attribute(
        "href", re.compile(r"^/attachments/\d+$")
    )

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
    line = page.locator(".request-line", has_text=number)
    expect(line).to_contain_text("Open")
    expect(line.locator(".progress .seg")).to_have_count(5)
    progress = line.locator("ol.progress")
    expect(progress).to_have_attribute("aria-label", re.compile(r"Steps: \d+ of 5 finished"))
    expect(progress.locator(".seg.state-open")).not_to_have_count(0)
    expect(line.locator(".steps-done")).to_have_text(re.compile(r"^\d of 5 steps done$"))
    expect(line.locator(".step-now")).not_to_have_count(0)
    # The filters apply as they change: no button is pressed (issue 16 item 8).
    page.get_by_label("Title or number").fill("Jordan Lee")
    expect(page).to_have_url(re.compile(r"q=Jordan"))
    expect(page.locator(".request-line")).to_have_count(1)
    page.get_by_label("Service").select_option(label="Request a laptop")
    expect(page.locator("#my-requests")).to_contain_text("None of your requests matches")


def test_a_team_member_claims_and_completes_in_place_and_a_colleague_is_told_who_won(
    browser: Browser, live_server: str
):
    ivan = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    iris = browser.new_context().new_page()
    sign_in(ivan, live_server, "ivan@example.com")
    sign_in(iris, live_server, "iris@example.com")
    # Offboarding's steps run one after the other, so completing IT's step opens the next.
    ivan.goto(f"{live_server}/queues/it?state=open")
    ivan.get_by_label("Service").select_option(label="Offboard a leaving employee")
    ivan.wait_for_url(re.compile(r"[?&]service=\d+"))
    iris.goto(ivan.url)
    first = ivan.locator("tr.task-row").first
    row_id = first.get_attribute("id")
    request_href = first.get_by_role("link").first.get_attribute("href")
    step_name = first.locator("td[data-label=Step]").inner_text().strip()
    ivan.evaluate("window.__sameDocument = true")

    ivan.locator(f"#{row_id}").get_by_role("button", name="Claim").click()
    expect(ivan.locator(f"#{row_id}")).to_contain_text("Ivan Ivanov")
    expect(ivan.locator(f"#{row_id}")).to_contain_text("Claimed")
    # The row's "You claimed this task." sits on a line of its own above the buttons: on
    # theirs it widened the table, cut the titles short and could push Open out of sight.
    said = ivan.locator(f"#{row_id} td.actions p.ok")
    expect(said).to_have_text("You claimed this task.")
    said_box = said.bounding_box()
    button = ivan.locator(f"#{row_id}").get_by_role("button", name="Complete").bounding_box()
    assert said_box is not None and button is not None
    assert said_box["y"] + said_box["height"] <= button["y"] + 1
    assert ivan.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    iris.locator(f"#{row_id}").get_by_role("button", name="Claim").click()
    expect(iris.locator(f"#{row_id}")).to_contain_text("Ivan Ivanov has already claimed this task")

    ivan.locator(f"#{row_id}").get_by_role("button", name="Complete").click()
    expect(ivan.locator(f"#{row_id}")).to_contain_text("Done")
    assert ivan.evaluate("window.__sameDocument") is True

    detail = ivan.context.new_page()
    detail.goto(f"{live_server}{request_href}")
    steps = detail.locator("li.step")
    names = [text.split("\n")[0] for text in steps.locator(".line-head strong").all_inner_texts()]
    done_at = next(i for i, name in enumerate(names) if name.endswith(f". {step_name}"))
    expect(steps.nth(done_at).locator(".badges .badge").first).to_have_text("Done")
    following = steps.nth(done_at + 1)
    expect(following.locator(".badges .badge").first).to_have_text("Open")
    next_team = following.locator("p.muted").first.inner_text().split(" · ")[0].strip()
    assert next_team and next_team != "IT Support"
    next_name = names[done_at + 1].split(". ", 1)[1]
    expect(detail.locator(".timeline li.consequence", has_text=next_name)).to_contain_text(
        "opened for its team"
    )


def test_an_approver_rejects_with_a_reason_and_the_requester_sees_why(
    browser: Browser, live_server: str
):
    dana = browser.new_context().new_page()
    sign_in(dana, live_server, "dana@example.com")
    dana.goto(f"{live_server}/queues/approvers")
    row = dana.locator("tr.task-row").filter(has=dana.locator("a[data-review]")).first
    row_id = row.get_attribute("id")
    row = dana.locator(f"#{row_id}")
    number = row.locator("td[data-label=Request] strong").inner_text().strip()
    request_href = row.get_by_role("link", name=number).get_attribute("href")
    dana.evaluate("window.__sameDocument = true")

    # She reviews it beside the list: the answers, then the reason and the decision.
    row.locator("a[data-review]").click()
    panel = dana.locator("#task-panel")
    expect(panel.get_by_role("heading", name="Answers")).to_be_visible()
    assert panel.locator(".answers dd").count() > 0
    reason = "Not in this quarter's budget: ask again in January."
    panel.get_by_label("Reason for the requester (required to reject)").fill(reason)
    panel.get_by_role("button", name="Reject").click()
    expect(row.locator("td[data-label=State]")).to_contain_text("Rejected")
    expect(panel.get_by_role("button", name="Reject")).to_have_count(0)
    assert dana.evaluate("window.__sameDocument") is True

    dana.goto(f"{live_server}{request_href}")
    # "asked by Ben Brooks 3 d ago": times are relative, in the viewer's zone (issue 16).
    asked_by = re.search(r"asked by (.+?) (?:just now|\d)",
                         dana.locator("main").inner_text()).group(1)
    requester = dana.context.browser.new_context().new_page()
    sign_in(requester, live_server, DEMO_EMAILS[asked_by])
    requester.goto(f"{live_server}/requests")
    line = requester.locator(".request-line", has_text=re.compile(rf"\b{number}\b"))
    expect(line).to_contain_text("Rejected")
    line.get_by_role("link", name=re.compile(rf"\b{number}\b")).first.click()
    expect(requester.get_by_role("heading", level=1)).to_contain_text(number)
    expect(requester.locator(".page-head")).to_contain_text("Rejected")
    notice = requester.get_by_role("alert").filter(has_text="Rejected by")
    expect(notice).to_contain_text("Rejected by Dana Dubois")
    expect(notice).to_contain_text(reason)


def test_a_manager_follows_the_oldest_step_to_its_tasks(page: Page, live_server: str):
    sign_in(page, live_server, "maria@example.com")
    page.goto(f"{live_server}/overview")
    notice = page.locator(".glance li", has_text="Oldest open step")
    link = notice.get_by_role("link")
    step_name = link.inner_text().split(" · ", 1)[1].strip()
    oldest_age = re.search(r"open for (.+)$", notice.inner_text().strip()).group(1)
    link.click()

    page.wait_for_url(re.compile(r"/overview/tasks\?service=[\w-]+&step=\d+$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    table = page.locator("table.tasks")
    for column in ("Request", "Step", "Assignee", "Age"):
        expect(table.get_by_role("columnheader", name=column, exact=True)).to_have_count(1)
    rows = table.locator("tr.task-row")
    expect(rows.first).to_be_visible()
    expect(page.locator("p.count strong")).to_have_text(str(rows.count()))
    for i in range(rows.count()):
        expect(rows.nth(i).locator("td[data-label=Step]")).to_contain_text(step_name)
        expect(rows.nth(i).locator("td[data-label=Assignee]")).not_to_be_empty()
        expect(rows.nth(i).locator("td[data-label=Age] time")).not_to_be_empty()
    # Oldest first: the first row is the one the overview called the oldest.
    # The age, then (hidden, for screen readers) the exact time it opened.
    expect(rows.first.locator("td[data-label=Age]")).to_have_text(
        re.compile(rf"^{re.escape(oldest_age)} \(Open since "))


def test_on_a_phone_the_overview_keeps_overdue_and_oldest_in_view_without_sideways_scroll(
    browser: Browser, live_server: str
):
    phone = browser.new_context(viewport={"width": 375, "height": 800})
    page = phone.new_page()
    sign_in(page, live_server, "maria@example.com")
    page.goto(f"{live_server}/overview")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for section in ("by-team", "by-step"):
        row = page.locator(f"section[aria-labelledby={section}] tbody tr:not(.service-row)").first
        for label in ("Overdue", "Oldest"):
            cell = row.locator(f"td[data-label={label}]")
            expect(cell).to_be_visible()
            box = cell.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, label
    phone.close()
