"""A task known in part (app.storage.snapshots.known_in_session, which the task actions'
access check makes instead of loading the task): the session's own object, nothing to
write, its other columns read when first asked or by the rule's reload, which a claim
over the web then sends once and nothing else of the task."""

from sqlalchemy import inspect
from sqlmodel import Session

from app.rules.tasks import claim_task
from app.storage.models import ServiceRequest, Task, TaskState, User
from app.storage.snapshots import known_in_session
from tests.factories import Factory
from tests.web import WebClient, with_statements


def _a_task(make: Factory) -> Task:
    """IT's open task of Rita's second laptop request (HR's too): its id, its team's and its
    request's all differ, so no test passes on one of them standing for another."""
    make.team("first")
    service = make.service(slug="laptop", ordering="flexible",
                           steps=[("hr", "task"), ("it", "task")])
    rita = make.user("Rita", teams=("facilities",))
    make.request(service, rita)
    task = make.tasks(make.request(service, rita))[1]
    assert len({task.id, task.team_id, task.request_id}) == 3
    return task


def task_request_requester(session: Session, task: Task) -> int:
    return session.get_one(ServiceRequest, task.request_id).requester_id


def test_the_object_the_session_holds_is_the_one_returned(session: Session, make: Factory):
    task = _a_task(make)

    assert known_in_session(session, Task, id=task.id, team_id=0, request_id=0) is task


def test_a_task_known_in_part_writes_nothing_and_reads_the_rest_when_asked(
        session: Session, make: Factory):
    task = _a_task(make)
    facts = (task.id, task.team_id, task.request_id, task.state, task.step_name)
    session.expunge_all()

    known = known_in_session(session, Task, id=facts[0], team_id=facts[1],
                             request_id=facts[2])

    assert inspect(known).persistent and not session.dirty and not session.new
    _, sent = with_statements(session, session.flush)
    assert sent == []
    read, sent = with_statements(session, lambda: (known.state, known.step_name))
    assert read == facts[3:] and len(sent) == 1  # the rest, in one statement


def test_a_rule_reloads_and_changes_a_task_known_in_part(session: Session, make: Factory):
    task = _a_task(make)
    ivan = make.user("Ivan", teams=("it",))
    task_id, team_id, request_id = task.id, task.team_id, task.request_id
    session.expunge_all()

    known = known_in_session(session, Task, id=task_id, team_id=team_id, request_id=request_id)
    claim_task(session, task=known, by=ivan)

    session.expunge_all()
    claimed = session.get_one(Task, task_id)
    assert (claimed.state, claimed.assignee_id) == (TaskState.claimed, ivan.id)


def test_a_claim_over_the_web_reads_the_task_whole_once(
        web: WebClient, session: Session, make: Factory):
    task = _a_task(make)
    ivan = make.user("Ivan", teams=("it",))
    web.login(ivan)
    session.expunge_all()  # as a web request's own session starts: holding no task

    answer, sent = with_statements(session, lambda: web.post(
        f"/tasks/{task.id}/claim", {"view": "queue", "back": "/queues/it"}, htmx=True))

    assert answer.status_code == 200 and "You claimed this task." in answer.text
    # The task read twice in all: its team and request by the access check, then whole
    # by the rule under its lock (no load of the rest in between); the answer's row is a
    # statement of its own, with the names it shows.
    of_task = [s for s in sent if "\nFROM task \nWHERE task.id =" in s and "anon_" not in s]
    assert len(of_task) == 2
    assert of_task[0].startswith("SELECT task.team_id, task.request_id")
    assert of_task[1].startswith("SELECT task.id, task.request_id, ")


def test_who_may_act_on_a_task_the_session_does_not_hold(
        web: WebClient, session: Session, make: Factory):
    task = _a_task(make)
    rita = session.get_one(User, task_request_requester(session, task))
    ivan = make.user("Ivan", teams=("it",))
    faye = make.user("Faye", teams=("facilities",))
    answers = {}
    for who, person in (("rita", rita), ("faye", faye), ("ivan", ivan)):
        web.login(person)
        session.expunge_all()  # as a request's own session: no task held
        answers[who] = web.post(f"/tasks/{task.id}/release", {"view": "queue"},
                                htmx=True).status_code

    # The requester sees the request but is not on IT: 403; someone who may not see it:
    # 404; IT's member: the rule's own answer (an open task is not released).
    assert answers == {"rita": 403, "faye": 404, "ivan": 409}


def test_the_api_answers_a_claim_on_a_task_known_in_part_with_all_of_it(
        app, session: Session, make: Factory):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.rules.api_tokens import create_token

    task = _a_task(make)
    ivan = make.user("Ivan", teams=("it",))
    token = create_token(session, owner=ivan, name="script", days=30, read_only=False).secret
    expected = (task.id, task.request_id, task.position, task.step_name, task.team_id)
    session.expunge_all()

    with TestClient(app, base_url="http://testserver") as client:
        answer = client.post(f"/api/v1/tasks/{expected[0]}/claim",
                             headers={"Authorization": f"Bearer {token}"})

    body = answer.json()
    assert answer.status_code == 200, body
    assert (body["id"], body["request_id"], body["position"], body["step_name"],
            body["team_id"]) == expected
    assert body["opened_at"] is not None and body["state"] == "claimed"
    assert body["assignee_id"] == ivan.id
