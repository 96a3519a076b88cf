"""A bulk action (one transaction, app.storage.db.one_batch) against the same actions one
at a time, on twin requests: the same task states, inbox items, counters and figures,
with refusals among them (a task someone else holds, a task not claimed)."""
from collections import Counter
from contextlib import suppress

from sqlmodel import select

from app.rules.bulk import BulkAction, act_on_tasks
from app.rules.errors import DomainError
from app.rules.requests import add_comment
from app.rules.tasks import claim_task, complete_task, hand_task, release_task
from app.storage import flow_figures
from app.storage.models import InboxItem, Task, TimelineEvent
from app.storage.work_counts import counted_from_tasks, counters


def _world(make, slug, ivan, iris, rita):
    flexible = make.service(slug=slug + "-f", ordering="flexible",
                            steps=[("it", "task"), ("it", "task")], target_hours=4)
    ordered = make.service(slug=slug + "-o", steps=[("it", "task"), ("it", "task")],
                           target_hours=4)
    requests = [make.request(flexible, rita), make.request(ordered, rita),
                make.request(ordered, rita), make.request(flexible, rita)]
    tasks = [task for request in requests for task in make.tasks(request)]
    return requests, tasks


def _items(session, requests):
    index = {request.id: n for n, request in enumerate(requests)}
    rows = session.exec(select(InboxItem, TimelineEvent).join(
        TimelineEvent, TimelineEvent.id == InboxItem.event_id)
        .where(InboxItem.request_id.in_(list(index)))).all()
    return Counter((index[item.request_id], item.user_id, item.reason, event.kind)
                   for item, event in rows)


def test_bulk_matches_one_at_a_time(session, make):
    ivan = make.user("Ivan", teams=("it",))
    iris = make.user("Iris", teams=("it",))
    rita = make.user("Rita")
    bulk_requests, bulk_tasks = _world(make, "b", ivan, iris, rita)
    one_requests, one_tasks = _world(make, "o", ivan, iris, rita)
    # Iris comments on every request (so she follows them) and claims the 2nd task.
    for request in bulk_requests + one_requests:
        add_comment(session, service_request=request, by=iris, body="on it", internal=False,
                    is_team_member=True)
    claim_task(session, task=bulk_tasks[1], by=iris)
    claim_task(session, task=one_tasks[1], by=iris)

    def singles(rule, tasks, by=ivan, **kw):
        for task in tasks:
            with suppress(DomainError):  # refused one at a time as in the batch
                rule(session, task=task, by=by, **kw)

    act_on_tasks(session, tasks=bulk_tasks, by=ivan, action=BulkAction.claim)
    singles(claim_task, one_tasks)
    act_on_tasks(session, tasks=bulk_tasks, by=ivan, action=BulkAction.hand, to=iris)
    singles(hand_task, one_tasks, to=iris)
    act_on_tasks(session, tasks=bulk_tasks, by=iris, action=BulkAction.release)
    singles(release_task, one_tasks, by=iris)
    act_on_tasks(session, tasks=bulk_tasks, by=ivan, action=BulkAction.complete)
    singles(complete_task, one_tasks)
    act_on_tasks(session, tasks=bulk_tasks, by=ivan, action=BulkAction.complete)
    singles(complete_task, one_tasks)

    bulk_states = [session.get_one(Task, t.id).state for t in bulk_tasks]
    one_states = [session.get_one(Task, t.id).state for t in one_tasks]
    assert bulk_states == one_states
    assert counters(session) == counted_from_tasks(session)
    assert flow_figures.stored(session) == flow_figures.from_history(session)
    assert _items(session, bulk_requests) == _items(session, one_requests)
