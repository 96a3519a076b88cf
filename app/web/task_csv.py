"""A list of tasks as a CSV download (a team queue, My work, the overview's lists): the
columns of the page's table, in full, for every row the list holds."""

from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.reads.queues import TaskFilter
from app.reads.task_rows import TaskRow, all_task_rows
from app.web.csv_export import csv_response

TASK_HEADER = [
    "Request", "Title", "Service", "Step", "Step name", "Kind", "Team", "State",
    "Requester", "Assignee", "Opened (UTC)", "Due (UTC)", "State since (UTC)",
]


def task_cells(row: TaskRow) -> list[Any]:
    task = row.task
    return [
        row.request.number, row.request.title, row.service_name, task.position + 1,
        task.step_name, task.kind, row.team_name, task.state, row.requester_name,
        row.assignee_name, task.opened_at, task.due_at, task.state_changed_at,
    ]


def task_csv(session: Session, *, filters: TaskFilter, name: str) -> StreamingResponse:
    """The list `filters` selects, as the page lists it (the caller checked who may see
    it, as the page does), streamed a batch at a time."""

    def rows() -> Iterator[list[Any]]:
        for row in all_task_rows(session, filters=filters):
            yield task_cells(row)

    return csv_response(rows(), header=TASK_HEADER, name=name)
