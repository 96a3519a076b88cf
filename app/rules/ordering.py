"""PRODUCT.md rule 2 over a request's tasks, with no I/O: which stage opens next, and
whether the request is complete."""

from app.storage.models import ACTIVE_TASK_STATES, Task, TaskState


def next_stage_to_open(tasks: list[Task]) -> int | None:
    """The stage whose waiting tasks may open now: none while any task is open or
    claimed, else the lowest stage that still waits."""
    if any(task.state in (TaskState.open, TaskState.claimed) for task in tasks):
        return None
    waiting = [task.stage for task in tasks if task.state == TaskState.waiting]
    return min(waiting) if waiting else None


def is_complete(tasks: list[Task]) -> bool:
    return not any(task.state in ACTIVE_TASK_STATES for task in tasks)
