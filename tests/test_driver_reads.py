"""Rows read through the driver (app.storage.driver_reads) are the rows SQLAlchemy's
result gives, value for value and type for type, for every statement read that way; the
engine's listeners see them; a driver's error arrives as SQLAlchemy's; statements whose
SQL is finished at execution, and the switch off, go through SQLAlchemy."""

from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    bindparam,
    cast,
    column,
    event,
    exc,
    select,
    table,
    type_coerce,
)
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from app.config import get_settings
from app.reads import request_changes, request_detail, task_counts, task_rows
from app.rules.inbox import set_following
from app.rules.requests import add_comment
from app.rules.sign_in import start_session, token_hash
from app.rules.tasks import claim_task, complete_task
from app.storage.driver_reads import DriverRead
from app.storage.models import Task, TaskState
from app.web import page_cache, viewer
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
            "team_id": second.team_id, "team": second.team_id, "since": 0,
            "user_id": member.id, "token": token_hash(token), "inbox_user": member.id,
            "inbox_team0": second.team_id}


def _reads() -> Iterator[tuple[str, DriverRead]]:
    yield "viewer", viewer._VIEWER_READ
    yield "a list's row", task_rows._ONE_ROW
    for sort, read in task_rows._PLAIN_FIRST_PAGES.items():
        yield f"a queue's first page, {sort}", read
    yield "a team's counters", task_counts._TEAM_COUNTERS_READ
    yield "the live request page's poll", request_changes._POLL_READ
    yield "a kept queue page's check", page_cache._STILL_CURRENT_READ
    yield "a kept queue page's check with the bell", page_cache._still_current_with_bell(1)
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


def _sent(connection: Connection, read: Callable[[], Sequence[Any]]
          ) -> tuple[Sequence[Any], list[tuple[str, str, Any]]]:
    """The rows `read` gives, and what the engine's listeners saw: each statement and
    its parameters, before and after it ran."""
    seen: list[tuple[str, str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(("before", statement, parameters))

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(("after", statement, parameters))

    event.listen(connection.engine, "before_cursor_execute", before)
    event.listen(connection.engine, "after_cursor_execute", after)
    try:
        return read(), seen
    finally:
        event.remove(connection.engine, "before_cursor_execute", before)
        event.remove(connection.engine, "after_cursor_execute", after)


@pytest.mark.parametrize("name,read", READS, ids=[name for name, _ in READS])
def test_the_rows_and_the_sql_are_sqlalchemy_s(
        session: Session, page: dict[str, Any], name: str, read: DriverRead):
    """Value for value and type for type, by the same names; the same SQL and bound
    values, seen by the listeners before and after it ran."""
    params = dict(page, before=10**9) if "before=True" in name else page
    connection = session.connection()
    expected, sent = _sent(connection, lambda: connection.execute(read.statement,
                                                                  params).all())
    got, sent_here = _sent(connection, lambda: read.rows(connection, params))
    assert expected, "the fixture gives every statement rows to compare"
    assert _typed(got) == _typed(expected)
    assert not isinstance(got[0], type(expected[0])), "read through the driver"
    assert sent_here == sent and [when for when, *_ in sent] == ["before", "after"]
    for index, key in enumerate(expected[0]._fields):
        if list(expected[0]._fields).count(key) == 1:
            assert got[0]._fields[index] == key


def test_a_value_is_converted_by_the_type_the_driver_read(session: Session):
    """A decimal the database sends as a float (PostgreSQL's float8) is made a Decimal
    by the processor SQLAlchemy picks for that type, as its own result does."""
    read = DriverRead(select(type_coerce(cast(bindparam("x", type_=Float), Float),
                                         Numeric(asdecimal=True)).label("amount")))
    connection = session.connection()
    expected = connection.execute(read.statement, {"x": 1.5}).all()
    got = read.rows(connection, {"x": 1.5})
    assert _typed(got) == _typed(expected) and type(got[0].amount) is Decimal


def test_a_new_connection_begins_as_sqlalchemy_s_would(engine: Engine):
    """On a connection outside any transaction: the same statements as SQLAlchemy's
    autobegin sends (SQLite's BEGIN, app.storage.db), and a transaction left open."""
    params = {"token_hash": "no such login"}
    with engine.connect() as connection:
        _, expected = _sent(connection, lambda: connection.execute(
            viewer._VIEWER_READ.statement, params).all())
    with engine.connect() as connection:
        rows, sent = _sent(connection, lambda: viewer._VIEWER_READ.rows(connection, params))
        assert connection.in_transaction()
    assert rows == [] and sent == expected


def test_a_lost_connection_is_sqlalchemy_s_error_and_never_used_again(engine: Engine):
    with engine.connect() as connection:
        connection.begin()  # so the read's own statement is the first to fail
        connection.connection.dbapi_connection.close()  # type: ignore[union-attr]
        with pytest.raises(exc.DBAPIError) as raised:
            viewer._VIEWER_READ.rows(connection, {"token_hash": "x"})
        assert raised.value.connection_invalidated and connection.invalidated


def test_a_step_s_state_and_moments_are_the_models_own(session: Session,
                                                      page: dict[str, Any]):
    done, claimed, waiting = request_detail._STEPS_READ.rows(session.connection(), page)
    states = (TaskState.done, TaskState.claimed, TaskState.open)
    assert (done.state, claimed.state, waiting.state) == states
    assert done.closed_at is not None and done.closed_at.utcoffset() == timedelta(0)
    assert done.team_name == "It" and claimed.assignee_name == "Mina"


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
