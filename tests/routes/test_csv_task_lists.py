"""The CSV of a list of tasks, cell by cell (app.web.task_csv over
app.reads.task_lines.task_lines): a small known list pinned byte for byte, and the same
file, whatever the list and the batch size, as the generic writer (csv_export.csv_chunks,
`cell` for every value) makes of the rows the list's pages show."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.reads import task_lines as downloads
from app.reads.queues import TaskFilter
from app.reads.task_lines import task_lines
from app.reads.task_rows import TaskRow, list_tasks
from app.rules.tasks import claim_task
from app.storage.clock import frozen_at
from app.storage.models import Team
from app.web.csv_export import csv_chunks, csv_line_chunks
from app.web.task_csv import TASK_HEADER, task_csv_lines
from tests.factories import Factory

MONDAY = datetime(2026, 3, 2, 9, 15, 30, 987654, tzinfo=UTC)


@pytest.fixture
def tasks(session: Session, make: Factory) -> dict[str, Any]:
    """Three queued IT tasks whose texts hold everything a CSV must quote or make inert:
    a formula in the service's name, the team's, a step's and people's names, commas,
    quotes and a line break in titles; one claimed, one with no due time."""
    service = make.service(slug="laptop", name='=Laptop, "big"',
                           steps=[("it", "task"), ("hr", "approval")])
    session.get(Team, make.team("it").id).name = "+IT"  # type: ignore[union-attr]
    rita = make.user("@Rita")
    ivan = make.user("-Ivan", teams=("it",))
    filed = []
    for hours, summary in enumerate(["one, two", 'say "hi"', "=cmd|' /C calc'!A0"]):
        with frozen_at(MONDAY + timedelta(hours=hours)):
            filed.append(make.request(service, rita, {"summary": summary}))
    first, second, third = (make.tasks(request)[0] for request in filed)
    first.step_name = "\tTab step"
    first.due_at = MONDAY + timedelta(days=1)
    second.due_at = MONDAY + timedelta(hours=5, microseconds=1)
    third.due_at = None
    third.step_name = 'Two\nlines, "quoted"'
    session.commit()
    with frozen_at(MONDAY + timedelta(hours=6, seconds=1)):
        claim_task(session, task=second, by=ivan)
    session.commit()
    return {"requests": filed, "ivan": ivan}


def test_a_queues_csv_is_pinned_cell_by_cell(web, tasks):
    first, second, third = (request.number for request in tasks["requests"])
    response = web.login(tasks["ivan"]).get("/queues/it/tasks.csv")
    assert response.status_code == 200
    assert response.content.decode("utf-8") == (
        "\ufeffRequest,Title,Service,Step,Step name,Kind,Team,State,Requester,Assignee,"
        "Opened (UTC),Due (UTC),State since (UTC)\r\n"
        f'{first},"\'=Laptop, ""big"": one, two","\'=Laptop, ""big""",1,\'\tTab step,task,'
        "'+IT,open,'@Rita,,2026-03-02T09:15:30Z,2026-03-03T09:15:30Z,"
        "2026-03-02T09:15:30Z\r\n"
        f'{second},"\'=Laptop, ""big"": say ""hi""","\'=Laptop, ""big""",1,Step 1,'
        "task,'+IT,claimed,'@Rita,'-Ivan,2026-03-02T10:15:30Z,2026-03-02T14:15:30Z,"
        "2026-03-02T15:15:31Z\r\n"
        f'{third},"\'=Laptop, ""big"": =cmd|\' /C calc\'!A0","\'=Laptop, ""big""",1,'
        '"Two\nlines, ""quoted""",task,\'+IT,open,\'@Rita,,2026-03-02T11:15:30Z,,'
        "2026-03-02T11:15:30Z\r\n"
    )


def _page_cells(row: TaskRow) -> list[Any]:
    """A page's row as the columns of the file (what task_csv wrote before task_lines)."""
    task = row.task
    return [
        row.request.number, row.request.title, row.service_name, task.position + 1,
        task.step_name, task.kind, row.team_name, task.state, row.requester_name,
        row.assignee_name, task.opened_at, task.due_at, task.state_changed_at,
    ]


def _pages(session: Session, filters: TaskFilter) -> list[TaskRow]:
    rows, after = [], None
    while True:
        page = list_tasks(session, filters=filters, after=after, limit=2, counted=False)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        after = page.next_cursor


@pytest.mark.parametrize("batch", [1, 2, None])
@pytest.mark.parametrize("filters", [
    {}, {"sort": "due"}, {"state": "open"}, {"search": "say"}, {"overdue": True},
    {"team_ids": []},
], ids=repr)
def test_the_file_is_what_the_generic_writer_makes_of_the_pages(session, tasks, monkeypatch,
                                                                batch, filters):
    if batch:
        monkeypatch.setattr(downloads, "EXPORT_BATCH", batch)
    moment = MONDAY + timedelta(hours=7)
    made = b"".join(csv_line_chunks(TASK_HEADER, task_csv_lines(
        task_lines(session, filters=TaskFilter(**filters, now=moment)))))
    pages = _pages(session, TaskFilter(**filters, now=moment))
    assert made == b"".join(csv_chunks(TASK_HEADER, map(_page_cells, pages)))
    assert made.count(b"REQ-") == len(pages)


def test_the_due_soonest_order_puts_undated_tasks_last(session, tasks):
    second, first, third = tasks["requests"][1], tasks["requests"][0], tasks["requests"][2]
    lines = task_lines(session, filters=TaskFilter(sort="due"), batch=1)
    assert [line[0] for line in lines] == [second.id, first.id, third.id]


def test_a_name_is_read_once_for_the_whole_list(session, make, tasks, monkeypatch):
    """The names of the rows' people, services and teams are looked up when a batch
    first points at them, not again for every batch (and never a row at a time)."""
    reads: list[Any] = []
    looked_up = downloads._Names._read

    def noted(self, model, known, wanted):  # type: ignore[no-untyped-def]
        reads.append((model.__name__, sorted(wanted - known.keys())))
        looked_up(self, model, known, wanted)

    monkeypatch.setattr(downloads._Names, "_read", noted)
    lines = list(task_lines(session, filters=TaskFilter(), batch=1))
    assert len(lines) == 3
    people = [ids for model, ids in reads if model == "User" and ids]
    assert len(people) == 2  # Rita at the first row, Ivan (the assignee) at the second
    assert [ids for model, ids in reads if model == "Team" and ids] == [
        [make.team("it").id]]


def test_tasks_without_an_assignee_or_due_time_have_empty_cells(session, tasks):
    third = next(line for line in task_lines(session, filters=TaskFilter())
                 if line[0] == tasks["requests"][2].id)
    assert third[downloads.EXPORT_COLUMNS.index("assignee_name")] is None
    assert third[downloads.EXPORT_COLUMNS.index("due_at")] is None
    assert isinstance(third[downloads.EXPORT_COLUMNS.index("opened_at")], str)

