"""Rows read through the driver (app.storage.driver_reads) are the rows SQLAlchemy's
result gives, value for value and type for type, for every statement read that way; the
engine's listeners see them; a driver's error arrives as SQLAlchemy's; statements whose
SQL is finished at execution, and the switch off, go through SQLAlchemy."""

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, column, event, exc, select, table
from sqlalchemy.engine import Connection
from sqlmodel import Session

from app.config import get_settings
from app.reads import request_detail, task_counts, task_rows
from app.rules.inbox import set_following
from app.rules.requests import add_comment
from app.rules.sign_in import start_session, token_hash
from app.rules.tasks import claim_task, complete_task
from app.storage.driver_reads import DriverRead
from app.storage.models import Task, TaskState
from app.web import viewer
from tests.factories import Factory


@pytest.fixture
def page(session: Session, make: Factory) -> dict[str, Any]:
    """A request with a step done, one claimed, one waiting; comments, an internal
    note and a follow: the values of every type the statements read. The parameters
    of them all (each statement ignores those it has not)."""
    member = make.user("Mina", teams=("it",))
    requester = make.user("Rae")
    service = make.service(steps=[("it", "task"), ("it", "approval"), ("hr", "task")],
                           ordering="flexible")
    request = make.request(service, requester)
    first, second, _third = make.tasks(request)
    complete_task(session, task=claim_task(session, task=first, by=member), by=member,
                  note="done")
    claim_task(session, task=second, by=member)
    add_comment(session, service_request=request, by=requester, body="When?",
                internal=False, is_team_member=False)
    add_comment(session, service_request=request, by=member, body="Ask HR",
                internal=True, is_team_member=True)
    set_following(session, user=requester, request=request, following=False)
    token = start_session(session, user=member)
    session.commit()
    return {"request_id": request.id, "viewer_id": member.id,
            "token_hash": token_hash(token), "before": None, "task_id": second.id,
            "team_id": second.team_id, "team": second.team_id}


def _reads() -> Iterator[tuple[str, DriverRead]]:
    yield "viewer", viewer._VIEWER_READ
    yield "a list's row", task_rows._ONE_ROW
    for sort, read in task_rows._PLAIN_FIRST_PAGES.items():
        yield f"a queue's first page, {sort}", read
    yield "a team's counters", task_counts._TEAM_COUNTERS_READ
    yield "viewer with bell", viewer._VIEWER_WITH_BELL_READ
    yield "request", request_detail._PAGE_READ
    yield "steps", request_detail._STEPS_READ
    for notes in (True, False):
        for before in (True, False):
            yield (f"timeline notes={notes} before={before}",
                   request_detail._timeline_statement(notes, before, 50))


READS = list(_reads())


def _typed(rows: Sequence[Any]) -> list[tuple[tuple[type, Any], ...]]:
    return [tuple((type(value), value) for value in row) for row in rows]


@pytest.mark.parametrize("name,read", READS, ids=[name for name, _ in READS])
def test_the_rows_are_sqlalchemy_s_value_for_value_and_type_for_type(
        session: Session, page: dict[str, Any], name: str, read: DriverRead):
    params = dict(page, before=10**9) if "before=True" in name else page
    connection = session.connection()
    expected = connection.execute(read.statement, params).all()
    got = read.rows(connection, params)
    assert expected, "the fixture gives every statement rows to compare"
    assert _typed(got) == _typed(expected)
    assert not isinstance(got[0], type(expected[0])), "read through the driver"
    keys = list(read.statement.selected_columns.keys())
    for key in keys:
        if keys.count(key) == 1 and not key.startswith("_"):  # named once, by a label
            assert getattr(got[0], key) == getattr(expected[0], key)


def test_a_step_s_state_and_moments_are_the_models_own(session: Session,
                                                      page: dict[str, Any]):
    done, claimed, waiting = request_detail._STEPS_READ.rows(session.connection(), page)
    states = (TaskState.done, TaskState.claimed, TaskState.open)
    assert (done.state, claimed.state, waiting.state) == states
    assert done.closed_at is not None and done.closed_at.utcoffset() == timedelta(0)
    assert done.team_name == "It" and claimed.assignee_name == "Mina"


def test_the_engine_s_listeners_see_each_statement(session: Session, page: dict[str, Any]):
    connection = session.connection()
    seen: list[str] = []

    def record(_conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(connection.engine, "before_cursor_execute", record)
    try:
        request_detail._STEPS_READ.rows(connection, page)
    finally:
        event.remove(connection.engine, "before_cursor_execute", record)
    assert len(seen) == 1 and seen[0].lstrip().startswith("SELECT task.id")


def test_a_driver_error_is_sqlalchemy_s(session: Session):
    missing = DriverRead(select(column("id", Integer)).select_from(table("no_such_table"))
                         .where(column("id", Integer) == bindparam("id", type_=Integer)))
    savepoint = session.begin_nested()
    with pytest.raises(exc.DBAPIError) as raised:
        missing.rows(session.connection(), {"id": 1})
    assert "no_such_table" in str(raised.value)
    savepoint.rollback()


def test_an_expanding_list_goes_through_sqlalchemy(session: Session, page: dict[str, Any]):
    statement = (select(Task.id).where(Task.request_id.in_(  # type: ignore[attr-defined]
        bindparam("ids", expanding=True))).order_by(Task.id))
    read = DriverRead(statement)
    rows = read.rows(session.connection(), {"ids": [page["request_id"]]})
    assert len(rows) == 3
    assert type(rows[0]).__module__.startswith("sqlalchemy")


def test_with_the_switch_off_the_rows_are_sqlalchemy_s(
        session: Session, page: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(get_settings(), "driver_reads", False)
    rows = request_detail._STEPS_READ.rows(session.connection(), page)
    assert type(rows[0]).__module__.startswith("sqlalchemy")
