"""A claim racing with removing the member or deactivating the person (issue 12, item 9):
whichever order the two transactions meet in, nobody outside the task's team, and
nobody deactivated, ends up holding the task.

The claim locks the membership and person rows it relies on (FOR SHARE on PostgreSQL),
and removal and deactivation lock the same rows to change them, so the two serialize;
on SQLite the write lock does. To make the dangerous order happen every other round,
the claim pauses a moment right after its membership check: without the lock, the
removal then commits in that pause, finds no claim to return, and the claim commits
after it.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import pytest
from sqlalchemy import event, exists
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.rules.errors import NotAllowed
from app.rules.people import deactivate_person
from app.rules.tasks import claim_task
from app.rules.teams import remove_team_member
from app.storage.models import Membership, Task, TaskState, Team, User
from tests.factories import Factory

ROUNDS = 12


@pytest.fixture
def pause_claims_after_the_membership_check(committed: Engine) -> Iterator[set[int]]:
    """Threads whose id is in the returned set sleep 50 ms after reading a membership."""
    paused: set[int] = set()

    def pause(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() in paused and statement.lstrip().upper().startswith(
                "SELECT MEMBERSHIP.USER_ID"):
            time.sleep(0.05)

    event.listen(committed, "after_cursor_execute", pause)
    yield paused
    event.remove(committed, "after_cursor_execute", pause)


def _one_round(
    committed: Engine, paused: set[int], take_away: Callable[[Session, Team, User, User], Any],
    *, team_id: int, admin_id: int, member_id: int, task_id: int, pause: bool,
) -> None:
    """The member claims the task while an admin takes the member away, at once."""
    barrier = threading.Barrier(2, timeout=30)
    failures: list[BaseException] = []

    def claim() -> None:
        if pause:
            paused.add(threading.get_ident())
        try:
            with Session(committed, expire_on_commit=False) as session:
                task, member = session.get(Task, task_id), session.get(User, member_id)
                session.rollback()  # a fresh transaction, like a web request's rule
                barrier.wait()
                with suppress(NotAllowed):  # taken away first: refused
                    claim_task(session, task=task, by=member)
        except BaseException as error:
            failures.append(error)
        finally:
            paused.discard(threading.get_ident())

    def remove() -> None:
        try:
            with Session(committed, expire_on_commit=False) as session:
                team, person = session.get(Team, team_id), session.get(User, member_id)
                by = session.get(User, admin_id)
                session.rollback()
                barrier.wait()
                take_away(session, team, person, by)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=claim), threading.Thread(target=remove)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures


def _race(
    committed: Engine, paused: set[int], take_away: Callable[[Session, Team, User, User], Any]
) -> None:
    with Session(committed, expire_on_commit=False) as setup:
        make = Factory(setup)
        service = make.service(steps=[("it", "task")])
        admin = make.user("Admin", admin=True)
        team = make.team("it")
        rounds = []
        for n in range(ROUNDS):
            member = make.user(f"Member {n}", teams=("it",))
            task = make.tasks(make.request(service, make.user()))[0]
            rounds.append((member.id, task.id))
        setup.commit()

    for n, (member_id, task_id) in enumerate(rounds):
        _one_round(committed, paused, take_away, team_id=team.id, admin_id=admin.id,
                   member_id=member_id, task_id=task_id, pause=n % 2 == 0)

    with Session(committed) as check:
        active_member = exists().where(
            col(Membership.team_id) == Task.team_id, col(Membership.user_id) == Task.assignee_id,
            col(User.id) == Membership.user_id, col(User.is_active),
        )
        held_by_outsiders = check.exec(select(Task.id, Task.assignee_id).where(
            col(Task.id).in_([task_id for _, task_id in rounds]),
            Task.state == TaskState.claimed, ~active_member,
        )).all()
        assert held_by_outsiders == []


def test_a_claim_racing_with_removing_the_member_leaves_no_outsider_holding_the_task(
    committed: Engine, pause_claims_after_the_membership_check: set[int]
):
    _race(committed, pause_claims_after_the_membership_check,
          lambda session, team, person, by: remove_team_member(
              session, team=team, person=person, by=by))


def test_a_claim_racing_with_deactivating_the_person_leaves_no_task_with_them(
    committed: Engine, pause_claims_after_the_membership_check: set[int]
):
    _race(committed, pause_claims_after_the_membership_check,
          lambda session, team, person, by: deactivate_person(session, person=person, by=by))
