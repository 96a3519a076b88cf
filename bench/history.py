"""Three years of requests, as rows: each request with its tasks and its timeline, in the
states Baton's rules would have left them (see app/rules/tasks.py), without running the
rules one by one, which would take hours for a million requests.

The invariants kept are the ones the rules keep: a request's tasks follow its service's
steps, skipped where the step's condition is false; enforced services open one stage at
a time, flexible ones all at once; an open request has at least one open or claimed
task and nothing finished after a waiting one; a claimed task has an assignee from its
team; a closed request has no open, claimed or waiting task; every change has its
timeline event, in order. tests/test_bench_seed.py checks them on a small history."""

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.format.conditions import evaluate
from app.format.definitions import ServiceDefinition
from app.format.stages import skip_reason
from app.format.targets import due_time
from app.rules.intake import request_title
from app.storage.models import EventKind, RequestState, StepKind, TaskState
from bench.catalog import SeedService

REQUEST_COLUMNS = ("id", "service_id", "version_id", "requester_id", "title", "answers",
                   "state", "created_at", "updated_at", "closed_at")
TASK_COLUMNS = ("id", "request_id", "service_id", "team_id", "position", "stage",
                "step_name", "kind", "state", "assignee_id", "created_at", "opened_at",
                "due_at", "state_changed_at", "closed_at", "request_title")
EVENT_COLUMNS = ("id", "request_id", "task_id", "actor_id", "kind", "note", "is_internal",
                 "created_at")

YEARS = 3
RECENT = timedelta(weeks=6)
OPEN_WHEN_RECENT = 0.9  # most of the last six weeks' requests are still open
OPEN_WHEN_OLDER = 0.016  # and a few stragglers from long ago: about 5% open in all

_ADJECTIVES = ["urgent", "new", "broken", "second", "replacement", "temporary", "shared",
               "annual", "quarterly", "remote", "extra", "missing"]
_NOUNS = ["laptop", "monitor", "licence", "badge", "mailbox", "contract", "invoice",
          "trip", "desk", "account", "server", "report", "course", "booth", "refund"]
_COMMENTS = ["Any news on this?", "Thanks, that works for me.",
             "I added the details you asked for.", "Can this be done by Friday?"]
_NOTES = ["Waiting for the vendor.", "Checked with the requester's manager.",
          "Needs a second look next week."]


@dataclass
class Organisation:
    """Who works where: what the history draws its people from."""

    team_ids: dict[str, int]
    members: dict[int, list[int]]  # team id -> member user ids
    requesters: list[int]  # with repeats: a few people file many requests
    services: list[SeedService]


@dataclass
class Rows:
    requests: list[tuple] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)


@dataclass
class _Step:
    position: int
    stage: int
    needed: bool


@dataclass
class _Plan:
    """One service's steps, worked out once: stages, skip reasons, parsed conditions."""

    service: SeedService
    steps: list[_Step]
    skip_notes: list[str]
    conditions: list[Any]

    @staticmethod
    def of(service: SeedService) -> "_Plan":
        definition = service.definition
        stages = definition.stages()
        return _Plan(
            service=service,
            steps=[_Step(position, stage, True) for position, stage in enumerate(stages)],
            skip_notes=[skip_reason(definition, p) if definition.steps[p].condition else ""
                        for p in range(len(stages))],
            conditions=[definition.condition_of(p) for p in range(len(stages))],
        )


class History:
    """Generates `count` requests from `first_id` on, oldest first, ending at `now`."""

    def __init__(self, organisation: Organisation, *, count: int, now: datetime,
                 stamp: Callable[[datetime], Any], seed: int = 1,
                 first_ids: tuple[int, int, int] = (1, 1, 1)):
        self.org = organisation
        self.count = count
        self.now = now
        self.start = now - timedelta(days=365 * YEARS)
        self.stamp = stamp
        self.rng = random.Random(seed)
        self.plans = [_Plan.of(service) for service in organisation.services]
        self.weights = [service.weight for service in organisation.services]
        self.team_of = organisation.team_ids
        self.next_request, self.next_task, self.next_event = first_ids
        self._pending: list[tuple] = []

    def batches(self, size: int = 20_000) -> Iterator[Rows]:
        rows = Rows()
        span = (self.now - self.start).total_seconds()
        for index in range(self.count):
            created = self.start + timedelta(
                seconds=span * (index + self.rng.random()) / self.count)
            self._request(rows, created)
            if len(rows.requests) >= size:
                yield rows
                rows = Rows()
        if rows.requests:
            yield rows

    # --- one request ---------------------------------------------------------------------

    def _answers(self, definition: ServiceDefinition) -> dict[str, Any]:
        rng = self.rng
        answers: dict[str, Any] = {
            "summary": f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} "
                       f"{rng.randint(1, 999)}",
            "priority": rng.choices(["Low", "Normal", "High"], [30, 55, 15])[0],
        }
        if answers["priority"] == "High":
            answers["reason"] = "A customer is waiting"
        keys = {f.key for f in definition.fields}
        if rng.random() < 0.3:
            answers["details"] = "See the summary; more on request."
        if "amount" in keys:
            answers["amount"] = round(min(rng.lognormvariate(6.5, 1.6), 1_000_000))
        if "needed_by" in keys and rng.random() < 0.5:
            answers["needed_by"] = (self.start + timedelta(days=rng.randint(0, 1200))
                                    ).date().isoformat()
        return answers

    def _event(self, _rows: Rows, request_id: int, kind: str, at: datetime, *,
               actor: int | None, task_id: int | None = None, note: str = "",
               internal: bool = False) -> None:
        # Ids are handed out once the request is done, in time order (see _flush_events).
        self._pending.append((at, len(self._pending), request_id, task_id, actor, str(kind),
                              note, internal))

    def _flush_events(self, rows: Rows) -> None:
        for at, _, request_id, task_id, actor, kind, note, internal in sorted(self._pending):
            rows.events.append((self.next_event, request_id, task_id, actor, kind, note,
                                internal, self.stamp(at)))
            self.next_event += 1
        self._pending.clear()

    def _request(self, rows: Rows, created: datetime) -> None:
        rng = self.rng
        plan = rng.choices(self.plans, self.weights)[0]
        definition = plan.service.definition
        answers = self._answers(definition)
        needed = [cond is None or evaluate(cond, answers) for cond in plan.conditions]
        requester = rng.choice(self.org.requesters)
        request_id = self.next_request
        self.next_request += 1
        recent = self.now - created < RECENT
        stays_open = rng.random() < (OPEN_WHEN_RECENT if recent else OPEN_WHEN_OLDER)
        outcome = "open" if stays_open else rng.choices(
            ["completed", "rejected", "cancelled"], [90, 4, 6])[0]
        approvals = [p for p, step in enumerate(definition.steps)
                     if step.kind == StepKind.approval and needed[p]]
        if outcome == "rejected" and not approvals:
            outcome = "completed"
        if not any(needed):
            outcome = "completed"  # every step skipped: done at submission

        stages = sorted({step.stage for step in plan.steps if needed[step.position]})
        # Where the work stands: open requests mostly wait at their first stage.
        if outcome == "open" and stages:
            current = stages[0] if rng.random() < 0.55 else rng.choice(stages)
        elif outcome == "rejected":
            current = plan.steps[rng.choice(approvals)].stage
        elif outcome == "cancelled" and stages:
            current = rng.choice(stages)
        else:
            current = None  # completed: every stage finished

        # Durations first, then squeezed so an open request's last change is in the past.
        moments = [created]
        for _ in stages:
            moments.append(moments[-1] + timedelta(hours=rng.expovariate(1 / 18) + 0.1))
        limit = self.now - timedelta(minutes=5)
        if moments[-1] > limit:
            room = (limit - created) / (moments[-1] - created)
            moments = [created + (m - created) * room for m in moments]

        self._event(rows, request_id, EventKind.submitted, created, actor=requester)
        title = request_title(definition, answers)
        tasks = []
        last_actor = requester
        stage_index = {stage: i for i, stage in enumerate(stages)}
        for step in plan.steps:
            position = step.position
            step_def = definition.steps[position]
            team_id = self.team_of[step_def.team]
            task_id = self.next_task
            self.next_task += 1
            state, assignee, opened, closed, changed = (
                TaskState.waiting, None, None, None, created)
            if not needed[position]:
                state, closed = TaskState.skipped, created
                self._event(rows, request_id, EventKind.task_skipped, created,
                            actor=requester, task_id=task_id, note=plan.skip_notes[position])
            else:
                i = stage_index[step.stage]
                opened_at = moments[i]
                finish_at = moments[i + 1]
                if current is not None and step.stage > current:
                    state = TaskState.waiting if outcome == "open" else TaskState.cancelled
                    if outcome != "open":
                        closed = changed = moments[stage_index[current] + 1]
                else:
                    opened = opened_at
                    if i > 0:
                        self._event(rows, request_id, EventKind.task_opened, opened_at,
                                    actor=last_actor, task_id=task_id)
                    member = rng.choice(self.org.members[team_id])
                    at_current = current is not None and step.stage == current
                    claim_at = opened_at + (finish_at - opened_at) * rng.uniform(0.05, 0.5)
                    if outcome == "open" and at_current:
                        state = rng.choices([TaskState.open, TaskState.claimed], [55, 45])[0]
                        changed = opened_at
                        if state == TaskState.claimed:
                            assignee, changed = member, claim_at
                            self._event(rows, request_id, EventKind.claimed, claim_at,
                                        actor=member, task_id=task_id)
                    elif outcome == "cancelled" and at_current:
                        state, closed = TaskState.cancelled, finish_at
                        changed = finish_at
                    elif outcome == "rejected" and at_current and position in approvals \
                            and position == min(p for p in approvals
                                                if plan.steps[p].stage == current):
                        state, assignee, closed, changed = (
                            TaskState.rejected, member, finish_at, finish_at)
                        self._event(rows, request_id, EventKind.claimed, claim_at,
                                    actor=member, task_id=task_id)
                        self._event(rows, request_id, EventKind.rejected, finish_at,
                                    actor=member, task_id=task_id, note="Not in this budget.")
                        last_actor = member
                    elif outcome == "rejected" and at_current:
                        state, closed, changed = TaskState.cancelled, finish_at, finish_at
                    else:
                        finished = (TaskState.approved if step_def.kind == StepKind.approval
                                    else TaskState.done)
                        state, assignee, closed, changed = finished, member, finish_at, finish_at
                        self._event(rows, request_id, EventKind.claimed, claim_at,
                                    actor=member, task_id=task_id)
                        self._event(rows, request_id,
                                    EventKind.approved if finished == TaskState.approved
                                    else EventKind.completed,
                                    finish_at, actor=member, task_id=task_id)
                        last_actor = member
            due = due_time(opened, step_def) if opened else None
            tasks.append((task_id, request_id, plan.service.id, team_id, position, step.stage,
                          step_def.name, str(step_def.kind), str(state), assignee,
                          self.stamp(created),
                          self.stamp(opened) if opened else None,
                          self.stamp(due) if due else None, self.stamp(changed),
                          self.stamp(closed) if closed else None, title))

        closed_at = None
        if outcome == "open":
            # The last change the rules would have stamped: an opening or a claim (a
            # comment does not touch updated_at).
            updated = max(event[0] for event in self._pending)
            if stages and rng.random() < 0.3:
                self._event(rows, request_id, EventKind.comment,
                            created + (limit - created) * rng.uniform(0.5, 1),
                            actor=requester, note=rng.choice(_COMMENTS))
        else:
            end = moments[stage_index[current] + 1] if current is not None else moments[-1]
            closed_at = updated = end
            if outcome == "completed":
                self._event(rows, request_id, EventKind.request_completed, end,
                            actor=last_actor)
            elif outcome == "rejected":
                self._event(rows, request_id, EventKind.request_rejected, end,
                            actor=last_actor, note="Not in this budget.")
            else:
                self._event(rows, request_id, EventKind.request_cancelled, end,
                            actor=requester, note="No longer needed.")
            if outcome != "completed":
                for task in tasks:
                    if task[8] == TaskState.cancelled:
                        self._event(rows, request_id, EventKind.task_cancelled, end,
                                    actor=last_actor if outcome == "rejected" else requester,
                                    task_id=task[0],
                                    note="The request was rejected." if outcome == "rejected"
                                    else "The requester cancelled.")
            if rng.random() < 0.2:
                self._event(rows, request_id, EventKind.note, moments[0] + (end - created) / 2,
                            actor=last_actor,
                            note=rng.choice(_NOTES), internal=True)
        rows.tasks.extend(tasks)
        self._flush_events(rows)
        state = {"open": RequestState.open, "completed": RequestState.completed,
                 "rejected": RequestState.rejected, "cancelled": RequestState.cancelled}[outcome]
        rows.requests.append((
            request_id, plan.service.id, plan.service.version_id, requester,
            title, json.dumps(answers), str(state),
            self.stamp(created), self.stamp(updated),
            self.stamp(closed_at) if closed_at else None,
        ))
