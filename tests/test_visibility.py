"""Who sees what (PRODUCT.md rule 6), as the functions in app/rules/policy.py."""

from app.rules.policy import has_team_on_request, request_access
from app.rules.requests import cancel_request
from app.rules.tasks import complete_task


def a_request(make, *, requester=None):  # type: ignore[no-untyped-def]
    """A request whose steps go to IT, then HR (HR's task is still waiting)."""
    service = make.service(steps=[("it", "task"), ("hr", "task")])
    return make.request(service, requester or make.user("Rita"))


def test_the_requester_sees_their_request_but_not_internal_notes(session, make):
    rita = make.user("Rita")
    request = a_request(make, requester=rita)
    access = request_access(session, user=rita, request=request)
    assert access.is_requester and not access.is_team_member and not access.is_manager
    assert access.can_view and access.can_comment
    assert not access.sees_internal_notes


def test_a_member_of_a_team_with_a_task_sees_it_all(session, make):
    request = a_request(make)
    ivan = make.user("Ivan", teams=("it",))
    access = request_access(session, user=ivan, request=request)
    assert access.is_team_member and not access.is_requester
    assert access.can_view and access.sees_internal_notes and access.can_comment


def test_a_team_whose_step_still_waits_already_sees_the_request(session, make):
    request = a_request(make)
    hana = make.user("Hana", teams=("hr",))
    assert [task.state for task in make.tasks(request)] == ["open", "waiting"]
    access = request_access(session, user=hana, request=request)
    assert access.can_view and access.sees_internal_notes


def test_a_team_keeps_seeing_a_request_after_its_task_is_done_or_cancelled(session, make):
    rita = make.user("Rita")
    request = a_request(make, requester=rita)
    ivan, hana = make.user(teams=("it",)), make.user(teams=("hr",))
    complete_task(session, task=make.tasks(request)[0], by=ivan)
    cancel_request(session, service_request=request, by=rita, reason="Solved elsewhere")
    assert [task.state for task in make.tasks(request)] == ["done", "cancelled"]
    assert request_access(session, user=ivan, request=request).can_view
    assert request_access(session, user=hana, request=request).can_view


def test_a_member_of_an_unrelated_team_sees_nothing(session, make):
    request = a_request(make)
    lena = make.user("Lena", teams=("legal",))
    access = request_access(session, user=lena, request=request)
    assert not access.is_team_member and not access.is_requester
    assert not access.can_view
    assert not access.sees_internal_notes
    assert not access.can_comment


def test_an_employee_on_no_team_sees_only_their_own_requests(session, make):
    request = a_request(make)
    other = make.user("Otto")
    assert not request_access(session, user=other, request=request).can_view
    own = a_request(make, requester=other)
    assert request_access(session, user=other, request=own).can_view


def test_a_manager_sees_everything_with_internal_notes_and_comments_but_writes_no_notes(
    session, make
):
    request = a_request(make)
    mona = make.user("Mona", manager=True)
    access = request_access(session, user=mona, request=request)
    assert access.is_manager and not access.is_team_member and not access.is_requester
    assert access.can_view and access.sees_internal_notes
    assert access.can_comment and not access.may_write_internal_notes


def test_an_admin_without_the_manager_flag_is_not_a_viewer(session, make):
    request = a_request(make)
    adam = make.user("Adam", admin=True)
    access = request_access(session, user=adam, request=request)
    assert not access.can_view
    assert not access.sees_internal_notes
    assert not access.can_comment


def test_an_admin_on_a_team_of_the_request_sees_it_as_a_member(session, make):
    request = a_request(make)
    adam = make.user("Adam", admin=True, teams=("hr",))
    access = request_access(session, user=adam, request=request)
    assert access.can_view and access.is_team_member and not access.is_manager


def test_a_requester_on_a_team_of_their_own_request_never_sees_internal_notes(
    session, make
):
    ivan = make.user("Ivan", teams=("it",))
    request = a_request(make, requester=ivan)
    access = request_access(session, user=ivan, request=request)
    assert access.is_requester and access.is_team_member
    assert access.can_view
    assert not access.sees_internal_notes


def test_a_requester_who_is_also_a_manager_never_sees_internal_notes(session, make):
    mona = make.user("Mona", manager=True, teams=("hr",))
    request = a_request(make, requester=mona)
    access = request_access(session, user=mona, request=request)
    assert access.is_requester and access.is_manager and access.is_team_member
    assert not access.sees_internal_notes


def test_has_team_on_request_looks_only_at_this_requests_tasks(session, make):
    first = a_request(make)
    elsewhere = make.service(steps=[("legal", "task")])
    second = make.request(elsewhere, make.user())
    lena = make.user("Lena", teams=("legal",))
    assert has_team_on_request(session, user=lena, request_id=second.id)
    assert not has_team_on_request(session, user=lena, request_id=first.id)
