"""A list of tasks as a CSV download (a team queue, My work, the overview's lists, the
tasks behind an insights figure): the columns of the page's table, in full, for every row
the list holds, each line made here rather than by the csv module (see
csv_export.csv_line_chunks)."""

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.format.numbers import duration
from app.reads.queues import TaskFilter
from app.reads.task_lines import task_lines
from app.storage.models import request_number
from app.web.csv_export import RepeatedFields, csv_lines_response, inert, quoted

TASK_HEADER = [
    "Request", "Title", "Service", "Step", "Step name", "Kind", "Team", "State",
    "Requester", "Assignee", "Opened (UTC)", "Due (UTC)", "State since (UTC)",
]


def task_csv_lines(lines: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """Task lines (app.reads.task_lines.EXPORT_COLUMNS) as the file's lines, made here
    rather than by the csv module (csv_export.csv_line_chunks): every text made inert
    and quoted; the request's number (`REQ-42`), the step's number and the moments,
    UTC text already (`2026-12-03T09:30:05Z`), hold nothing to make inert or quote."""
    fields = RepeatedFields()
    for (request_id, title, service_name, position, step_name, kind, team_name, state,
         requester_name, assignee_name, opened_at, due_at, changed_at) in lines:
        assignee = "" if assignee_name is None else fields[assignee_name]
        yield (f"{request_number(request_id)},{quoted(inert(title))},{fields[service_name]},"
               f"{position + 1},{fields[step_name]},{fields[kind]},{fields[team_name]},"
               f"{fields[state]},{fields[requester_name]},{assignee},{opened_at or ''},"
               f"{due_at or ''},{changed_at or ''}\r\n")


def task_csv(session: Session, *, filters: TaskFilter, name: str) -> StreamingResponse:
    """The list `filters` selects, as the page lists it (the caller checked who may see
    it, as the page does), streamed as it is read."""
    return csv_lines_response(task_csv_lines(task_lines(session, filters=filters)),
                              header=TASK_HEADER, name=name)


FINISHED_HEADER = [
    "Request", "Title", "Service", "Step", "Step name", "Team", "State", "Finished by",
    "Finished (UTC)", "Waited (s)", "Worked (s)", "Took (s)", "Took", "Within target",
]
_WITHIN = {True: "yes", False: "no", None: ""}


def finished_csv_lines(lines: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """Finished-task lines (app.reads.finished_tasks.LINE_COLUMNS) as the file's lines:
    texts made inert and quoted; the numbers, the moment (UTC text already) and the
    duration in words ("3 d 4 h") hold nothing to make inert or quote."""
    fields = RepeatedFields()
    for (_task_id, request_id, title, service_name, position, step_name, team_name, state,
         finished_by, finished_at, waited, worked, within) in lines:
        took = waited + worked
        by = "" if finished_by is None else fields[finished_by]
        yield (f"{request_number(request_id)},{quoted(inert(title))},{fields[service_name]},"
               f"{position + 1},{fields[step_name]},{fields[team_name]},{fields[state]},"
               f"{by},{finished_at},{waited},{worked},{took},{duration(took)},"
               f"{_WITHIN[within]}\r\n")
