"""Reports on typed answers over HTTP: who may see them, the table, and a bad filter's
message next to the box with what was typed kept."""

import csv
import io
import re

import pytest
from markupsafe import escape

from app.reads import answer_report as report_module
from tests.web import text_of

FIELDS = [
    {"key": "amount", "label": "Amount", "type": "number"},
    {"key": "department", "label": "Department", "type": "select",
     "options": ["Finance", "IT"]},
    {"key": "urgent", "label": "Urgent", "type": "checkbox"},
    {"key": "equipment", "label": "Equipment", "type": "multi_select",
     "options": ["Monitor", "Dock"]},
    {"key": "note", "label": "Note", "type": "long_text"},
    {"key": "quote", "label": "Quote", "type": "file"},
]


def request_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(number) for number in re.findall(r'<tr id="request-(\d+)"', response.text)]


@pytest.fixture
def desk(make):  # type: ignore[no-untyped-def]
    service = make.service(slug="purchase", name="Purchase", fields=FIELDS,
                           steps=[("finance", "approval")])
    rita = make.user("Rita")

    class Desk:
        big = make.request(service, rita, {"amount": "6000", "department": "Finance",
                                           "urgent": "on", "equipment": ["Monitor", "Dock"],
                                           "note": "Two docks,\nand a \"good\" monitor"})
        small = make.request(service, rita, {"amount": "80", "department": "IT"})
        manager = make.user("Mona", manager=True)
        member = make.user("Fred", teams=("finance",))
        employee = rita
    return Desk


def test_a_manager_sees_the_services_to_report_on(web, desk):
    response = web.login(desk.manager).get("/reports")
    assert response.status_code == 200
    assert 'href="/reports/purchase"' in response.text
    assert 'href="/reports"' in response.text  # the navigation's link


def test_a_manager_sees_a_services_requests_with_their_answers(web, desk):
    response = web.login(desk.manager).get("/reports/purchase")
    assert response.status_code == 200
    assert request_ids(response) == [desk.small.id, desk.big.id]
    text = text_of(response)
    assert "2 requests" in text
    assert f"{desk.big.number} Purchase Rita Open" in text
    # As the request page shows them; a file or a long text has no column.
    assert "6000 Finance Yes Monitor, Dock" in text
    head = response.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Amount" in head
    assert "Quote" not in head
    assert "Note" not in head


def test_a_manager_filters_by_answers_state_and_sorts(web, desk):
    client = web.login(desk.manager)
    response = client.get("/reports/purchase", params={
        "where": 'amount > 5000 and department == "Finance"', "state": "open"})
    assert request_ids(response) == [desk.big.id]
    assert "1 request." in text_of(response)
    response = client.get("/reports/purchase", params={"sort": "amount"})
    assert request_ids(response) == [desk.small.id, desk.big.id]
    response = client.get("/reports/purchase", params={"state": "cancelled"})
    assert request_ids(response) == []
    assert "No request matches." in text_of(response)


def test_a_bad_filter_is_explained_next_to_the_box_and_kept(web, desk):
    typed = 'amount > "lots" and <x>'
    response = web.login(desk.manager).get("/reports/purchase", params={"where": typed})
    assert response.status_code == 422
    assert 'id="r-where-error"' in response.text
    assert "This filter cannot be used" in text_of(response)
    assert f'value="{escape(typed)}"' in response.text
    assert request_ids(response) == []


@pytest.mark.parametrize("params", [
    {"where": "amount > 5000 or"}, {"where": "nope == 1"},
    {"where": "not " * 60 + "urgent is true"}, {"where": 'equipment includes "Lamp"'},
    {"where": "urgent > 3"},
    {"sort": "-quote"}, {"submitted_from": "yesterday"}, {"completed_to": "2026-02-30"},
    {"state": "gone"},
])
def test_no_wrong_input_breaks_the_page(web, desk, params):
    response = web.login(desk.manager).get("/reports/purchase", params=params)
    assert response.status_code == 422
    assert 'class="field-error"' in response.text


def test_a_page_past_the_last_says_so(web, desk):
    response = web.login(desk.manager).get("/reports/purchase", params={"page": "9"})
    assert response.status_code == 200
    assert "There are only 1 page" in text_of(response)


@pytest.mark.parametrize("who", ["employee", "member"])
@pytest.mark.parametrize("url", ["/reports", "/reports/purchase"])
def test_nobody_but_a_manager_sees_reports(web, desk, who, url):
    response = web.login(getattr(desk, who)).get(url)
    assert response.status_code == 403
    assert "Reports" not in response.text.split("<main", 1)[0]


def test_someone_signed_out_is_sent_to_sign_in(web, desk):
    response = web.get("/reports/purchase?where=amount+%3E+1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/reports/purchase")


def test_a_report_on_no_service_is_not_found(web, desk):
    assert web.login(desk.manager).get("/reports/nothing").status_code == 404


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_manager_downloads_the_filtered_report_as_csv(web, desk):
    client = web.login(desk.manager)
    page = client.get("/reports/purchase", params={"where": "amount > 50", "sort": "amount"})
    assert 'href="/reports/purchase.csv?where=amount+%3E+50&amp;sort=amount"' in page.text
    response = client.get("/reports/purchase.csv", params={"where": "amount > 50",
                                                            "sort": "amount"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    header, *rows = csv_rows(response)
    assert header == ["Request", "Title", "Requester", "State", "Submitted (UTC)",
                      "Completed (UTC)", "Amount", "Department", "Urgent", "Equipment", "Note"]
    assert [row[0] for row in rows] == [desk.small.number, desk.big.number]
    assert rows[1][:4] == [desk.big.number, "Purchase", "Rita", "open"]
    assert rows[1][5:] == ["", "6000", "Finance", "yes", "Monitor, Dock",
                           'Two docks,\nand a "good" monitor']
    assert rows[0][5:] == ["", "80", "IT", "no", "", ""]


def test_the_csv_lists_every_page_not_only_the_first(web, desk, make, monkeypatch):
    monkeypatch.setattr(report_module, "PAGE_SIZE", 1)
    response = web.login(desk.manager).get("/reports/purchase.csv")
    assert len(csv_rows(response)) == 3


def test_a_csv_with_a_bad_filter_gets_the_page_and_its_message(web, desk):
    response = web.login(desk.manager).get("/reports/purchase.csv", params={"where": "x >"})
    assert response.status_code == 422
    assert 'id="r-where-error"' in response.text


@pytest.mark.parametrize("who", ["employee", "member"])
def test_nobody_but_a_manager_downloads_a_report(web, desk, who):
    assert web.login(getattr(desk, who)).get("/reports/purchase.csv").status_code == 403


def test_a_csv_download_signed_out_is_sent_to_sign_in(web, desk):
    response = web.get("/reports/purchase.csv", follow_redirects=False)
    assert response.status_code == 303


def test_a_csv_of_no_service_is_not_found(web, desk):
    assert web.login(desk.manager).get("/reports/nothing.csv").status_code == 404
