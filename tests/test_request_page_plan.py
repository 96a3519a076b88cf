"""The request page's first statement (app.reads.request_detail._PAGE) reads what it
asks of a request through the request's own rows, however much else the viewer has:
SQLite, which has no statistics to plan from, found "does the viewer hold one of its
tasks" through the viewer's tasks (ix_task_assignee, the newest of the task table's
indexes as bench.seed's rebuild leaves them): at 1M requests a member's request page
read their tens of thousands of tasks, 16 ms of a 21 ms page."""

import pytest
from sqlmodel import Session

from app.reads.request_detail import _PAGE
from tests.factories import Factory


def test_the_viewer_s_own_task_is_found_by_the_request_s_tasks(session: Session,
                                                                make: Factory):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans from its statistics")
    person = make.user("Ivan")
    connection = session.connection()
    # Made again inside the test's transaction: the newest index, as at a seeded 1M.
    connection.exec_driver_sql("DROP INDEX ix_task_assignee")
    connection.exec_driver_sql("CREATE INDEX ix_task_assignee ON task (assignee_id, state)")
    compiled = _PAGE.compile(dialect=session.get_bind().dialect)
    values = compiled.construct_params({"request_id": 1, "viewer_id": person.id})
    plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
        "EXPLAIN QUERY PLAN " + compiled.string,
        tuple(values[name] for name in compiled.positiontup or ())))
    assert "ix_task_assignee" not in plan, plan
