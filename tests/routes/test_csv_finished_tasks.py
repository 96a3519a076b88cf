"""The CSV of the tasks behind an insights figure (app.web.task_csv.finished_csv_lines
over app.reads.finished_tasks.finished_task_lines): whatever the list, its order and the
batch size, the same file as the generic writer (csv_export.csv_chunks, `cell` for every
value) makes of the rows the list's pages show; and what the route sends."""

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.format.numbers import duration
from app.reads import finished_tasks as finished_module
from app.reads.finished_tasks import (
    FinishedFilter,
    FinishedLine,
    finished_task_lines,
    finished_tasks,
)
from app.reads.insights import window_of
from app.storage.clock import utcnow
from app.storage.models import Service, Team, User
from app.web.csv_export import csv_chunks, csv_line_chunks
from app.web.task_csv import FINISHED_HEADER, finished_csv_lines
from tests.factories import Factory


@pytest.fixture
def history(session: Session, make: Factory) -> dict[str, Any]:
    """Onboarding's nine finished tasks (app's factory), with names a CSV must quote or
    make inert: a formula, a comma and quotes in the service's name, a team's and a
    person's names starting like a formula; the facilities tasks were finished by
    nobody's claim (no "finished by") and some steps missed their target."""
    service, requests = make.onboarding_history(utcnow() - timedelta(days=10))
    session.get_one(Service, service.id).name = '=Onboarding, "new"'
    session.get_one(Team, make.team("it").id).name = "+IT"
    ivan = session.exec(  # type: ignore[call-overload]
        User.__table__.select().where(User.__table__.c.name == "Ivan")).one()
    session.get_one(User, ivan.id).name = "@Ivan, the second"
    for task in make.tasks(requests[0]):  # the title as a task keeps it for its lists
        task.request_title = 'Say "hi"\nthen =1+1'
    session.commit()
    return {"service": service, "it": make.team("it")}


def _page_cells(line: FinishedLine) -> list[Any]:
    """A page's row as the file's columns (what the CSV wrote before its lines)."""
    return [line.number, line.title, line.service_name, line.position + 1, line.step_name,
            line.team_name, line.state, line.finished_by, line.finished_at,
            line.waited_seconds, line.worked_seconds, line.took_seconds,
            duration(line.took_seconds), line.within_target]


def _pages(session: Session, filters: FinishedFilter) -> list[FinishedLine]:
    lines, after = [], None
    while True:
        page = finished_tasks(session, filters=filters, after=after, limit=2)
        lines += page.rows
        if page.next_cursor is None:
            return lines
        after = page.next_cursor


@pytest.mark.parametrize("batch", [1, 2, None])
@pytest.mark.parametrize("which", [
    {"service": True}, {"service": True, "position": 1}, {"team": True},
    {"team": True, "sort": "latest"}, {"service": True, "sort": "latest"},
], ids=repr)
def test_the_file_is_what_the_generic_writer_makes_of_the_pages(session, history, which,
                                                                batch):
    filters = FinishedFilter(
        window=window_of(weeks="4", today=utcnow().date()),
        service_id=history["service"].id if which.get("service") else None,
        position=which.get("position"),
        team_id=history["it"].id if which.get("team") else None,
        sort=which.get("sort", "slowest"))
    made = b"".join(csv_line_chunks(FINISHED_HEADER, finished_csv_lines(
        finished_task_lines(session, filters=filters, batch=batch))))
    pages = _pages(session, filters)
    assert pages  # the list holds tasks: the comparison below compares something
    assert made == b"".join(csv_chunks(FINISHED_HEADER, map(_page_cells, pages)))
    assert made.count(b"REQ-") == len(pages)


def test_the_download_quotes_and_defuses_what_it_must(web, make, history, monkeypatch):
    monkeypatch.setattr(finished_module, "EXPORT_BATCH", 2)
    manager = make.user("Mona", manager=True)
    response = web.login(manager).get("/insights/tasks.csv", params={"team": "it"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == FINISHED_HEADER
    assert len(rows) == 4  # IT's three tasks, slowest first
    assert {row[2] for row in rows[1:]} == {"'=Onboarding, \"new\""}
    assert {row[5] for row in rows[1:]} == {"'+IT"}
    assert {row[7] for row in rows[1:]} == {"'@Ivan, the second"}
    assert 'Say "hi"\nthen =1+1' in rows[-1][1]  # the first request waited least
    took = [int(row[11]) for row in rows[1:]]
    assert took == sorted(took, reverse=True)
    assert [row[12] for row in rows[1:]] == [duration(seconds) for seconds in took]
    assert {row[13] for row in rows[1:]} == {"no"}  # a day or more against 4 hours
