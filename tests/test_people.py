"""The admin rules on people and teams: accounts, roles, deactivation, teams and their
members. Each change is one transaction with one admin audit entry."""

import threading

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.rules.errors import FormInvalid, InvalidTransition, NotAllowed
from app.rules.people import (
    SelfLockout,
    add_person,
    deactivate_person,
    grant_role,
    list_people,
    pick_active_person,
    reactivate_person,
    revoke_role,
)
from app.rules.sign_in import authenticate
from app.rules.tasks import claim_task, complete_task
from app.rules.teams import (
    add_team_member,
    create_team,
    members_of,
    remove_team_member,
    rename_team,
    set_team_lead,
    team_lines,
)
from app.storage.models import AdminEvent, LoginSession, Membership, Team, TimelineEvent, User
from tests.factories import Factory
from tests.web import WebClient

PASSWORD = "correct horse battery"


def audit(session: Session) -> list[tuple[str, str, str]]:
    return [(e.action, e.subject, e.detail) for e in session.exec(
        select(AdminEvent).order_by(col(AdminEvent.id))
    )]


def audit_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AdminEvent)).one()


def sessions_of(session: Session, user: User) -> int:
    return session.exec(
        select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
    ).one()


def settle(session: Session) -> None:
    """Commits the test's setup (a savepoint of the test's transaction), so that a rule
    that refuses, and rolls back, takes only its own changes with it (on PostgreSQL,
    where a rule does not begin by committing)."""
    session.commit()


@pytest.fixture
def adam(make: Factory) -> User:
    adam = make.user("Adam Admin", admin=True)
    settle(make.session)
    return adam


@pytest.fixture
def desk(make: Factory):  # type: ignore[no-untyped-def]
    """IT then HR for "New laptop"; Ivan and Iris work in IT and HR, Rita asks."""
    class Desk:
        laptop = make.service(slug="laptop", name="New laptop", ordering="flexible",
                              steps=[("it", "task"), ("hr", "task")])
        ivan = make.user("Ivan Ivanov", teams=("it", "hr"))
        iris = make.user("Iris", teams=("it", "hr"))
        rita = make.user("Rita")
    return Desk


# --- creating people ------------------------------------------------------------------


def test_an_admin_creates_a_person_who_can_sign_in_and_it_is_audited(session, adam):
    person = add_person(session, name="  Nora   North ", email="Nora@Example.com ",
                        password=PASSWORD, manager=True, by=adam)
    assert (person.name, person.email, person.is_manager, person.is_admin) == (
        "Nora North", "nora@example.com", True, False)
    assert authenticate(session, email="nora@example.com", password=PASSWORD) == person
    assert audit(session) == [("person.created", "Nora North <nora@example.com>",
                               "Roles: manager.")]


def test_creating_a_person_names_every_problem_by_field_and_creates_nothing(session, adam):
    with pytest.raises(FormInvalid) as refused:
        add_person(session, name=" ", email="not-an-address", password="short", by=adam)
    assert refused.value.errors == {
        "name": "Enter the person's name.",
        "email": "Enter an e-mail address like name@example.com.",
        "password": "Use at least 8 characters.",
    }
    assert refused.value.status_code == 422
    assert audit_count(session) == 0
    assert session.exec(select(User).where(User.email == "not-an-address")).first() is None


def test_an_email_is_taken_whatever_its_case(session, make, adam):
    existing = make.user("Nora")
    with pytest.raises(FormInvalid) as refused:
        add_person(session, name="Other Nora", email=existing.email.upper(),
                   password=PASSWORD, by=adam)
    assert refused.value.errors == {"email": f"There is already an account for {existing.email}."}
    assert audit_count(session) == 0


def test_a_name_or_password_too_long_is_refused(session, adam):
    with pytest.raises(FormInvalid) as refused:
        add_person(session, name="N" * 121, email="n@example.com", password="p" * 1025,
                   by=adam)
    assert refused.value.errors == {"name": "Use at most 120 characters.",
                                    "password": "Use at most 1024 characters."}


# --- roles ------------------------------------------------------------------------------


def test_granting_and_revoking_roles_is_audited_each_time(session, make, adam):
    mona = make.user("Mona")
    grant_role(session, person=mona, role="manager", by=adam)
    grant_role(session, person=mona, role="admin", by=adam)
    session.refresh(mona)
    assert mona.is_manager and mona.is_admin
    revoke_role(session, person=mona, role="manager", by=adam)
    revoke_role(session, person=mona, role="admin", by=adam)
    session.refresh(mona)
    assert not mona.is_manager and not mona.is_admin
    subject = f"Mona <{mona.email}>"
    assert audit(session) == [
        ("role.granted", subject, "Now a manager."),
        ("role.granted", subject, "Now an admin."),
        ("role.revoked", subject, "No longer a manager."),
        ("role.revoked", subject, "No longer an admin."),
    ]


def test_granting_a_role_held_or_revoking_one_not_held_is_refused(session, make, adam):
    mona = make.user("Mona", manager=True)
    settle(session)
    with pytest.raises(InvalidTransition, match="Mona is already a manager"):
        grant_role(session, person=mona, role="manager", by=adam)
    with pytest.raises(InvalidTransition, match="Mona is not an admin"):
        revoke_role(session, person=mona, role="admin", by=adam)
    with pytest.raises(FormInvalid, match="manager or admin"):
        grant_role(session, person=mona, role="owner", by=adam)
    assert audit_count(session) == 0


def test_an_admin_cannot_revoke_their_own_admin_rights(session, adam):
    with pytest.raises(SelfLockout, match="cannot revoke your own admin rights"):
        revoke_role(session, person=adam, role="admin", by=adam)
    session.refresh(adam)
    assert adam.is_admin
    assert audit_count(session) == 0


def test_an_admin_may_drop_their_own_manager_role(session, make):
    both = make.user("Bo", admin=True, manager=True)
    revoke_role(session, person=both, role="manager", by=both)
    session.refresh(both)
    assert not both.is_manager and both.is_admin


def test_someone_who_is_no_longer_an_admin_can_change_nobody(session, make, adam):
    former = make.user("Former", admin=True)
    revoke_role(session, person=former, role="admin", by=adam)
    with pytest.raises(NotAllowed, match="Only admins"):
        revoke_role(session, person=adam, role="admin", by=former)
    with pytest.raises(NotAllowed):
        deactivate_person(session, person=adam, by=former)
    session.refresh(adam)
    assert adam.is_admin and adam.is_active


def test_two_admins_revoking_each_other_at_once_leave_one_admin(committed: Engine):
    with Session(committed, expire_on_commit=False) as setup:
        make = Factory(setup)
        one, two = make.user("One", admin=True), make.user("Two", admin=True)
        setup.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def revoke(by: User, person: User) -> None:
        with Session(committed, expire_on_commit=False) as session:
            target = session.get(User, person.id)
            session.rollback()
            barrier.wait()
            try:
                revoke_role(session, person=target, role="admin", by=by)
                outcomes.append("revoked")
            except NotAllowed:
                outcomes.append("refused")

    threads = [threading.Thread(target=revoke, args=pair) for pair in ((one, two), (two, one))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "revoked"]
    with Session(committed) as check:
        admins = check.exec(select(func.count()).select_from(User).where(
            col(User.is_admin), col(User.id).in_([one.id, two.id]))).one()
        assert admins == 1


# --- deactivation -----------------------------------------------------------------------


def test_deactivating_returns_every_claimed_task_to_its_queue_with_an_event_each(
    session, make, adam, desk
):
    first = make.request(desk.laptop, desk.rita, {"summary": "First"})
    second = make.request(desk.laptop, desk.rita, {"summary": "Second"})
    it_task, hr_task = make.tasks(first)
    other_it, other_hr = make.tasks(second)
    claim_task(session, task=it_task, by=desk.ivan)
    claim_task(session, task=hr_task, by=desk.ivan)
    claim_task(session, task=other_it, by=desk.ivan)
    complete_task(session, task=other_it, by=desk.ivan)
    claim_task(session, task=other_hr, by=desk.iris)

    released = deactivate_person(session, person=desk.ivan, by=adam)

    assert sorted(task.id for task in released) == sorted([it_task.id, hr_task.id])
    for task in (it_task, hr_task, other_it, other_hr):
        session.refresh(task)
    assert (it_task.state, it_task.assignee_id) == ("open", None)
    assert (hr_task.state, hr_task.assignee_id) == ("open", None)
    assert (other_it.state, other_it.assignee_id) == ("done", desk.ivan.id)
    assert (other_hr.state, other_hr.assignee_id) == ("claimed", desk.iris.id)
    events = session.exec(
        select(TimelineEvent).where(TimelineEvent.kind == "released").order_by(
            col(TimelineEvent.id))
    ).all()
    assert [(e.task_id, e.actor_id, e.request_id, e.note) for e in events] == [
        (task.id, adam.id, first.id, "Returned to the queue: Ivan Ivanov was deactivated")
        for task in (it_task, hr_task)
    ]
    session.refresh(first)
    assert first.updated_at == events[0].created_at
    assert audit(session) == [(
        "person.deactivated", f"Ivan Ivanov <{desk.ivan.email}>",
        f"Signed out everywhere. Returned 2 claimed tasks to their team queues: {first.number}.",
    )]


def test_deactivating_ends_every_sign_in_and_the_person_cannot_sign_in_again(
    session, make, adam, web: WebClient
):
    ivan = make.user("Ivan")
    web.login(ivan)
    web.login(ivan)
    assert sessions_of(session, ivan) == 2
    deactivate_person(session, person=ivan, by=adam)
    session.refresh(ivan)
    assert not ivan.is_active
    assert sessions_of(session, ivan) == 0
    assert authenticate(session, email=ivan.email, password=PASSWORD) is None


def test_a_deactivated_person_keeps_teams_and_roles_and_reactivating_restores_them(
    session, make, adam
):
    ivan = make.user("Ivan", teams=("it",), manager=True)
    deactivate_person(session, person=ivan, by=adam)
    assert [line.members for line in team_lines(session) if line.team.slug == "it"] == [0]
    reactivate_person(session, person=ivan, by=adam)
    session.refresh(ivan)
    assert ivan.is_active and ivan.is_manager
    assert authenticate(session, email=ivan.email, password=PASSWORD) == ivan
    assert [line.members for line in team_lines(session) if line.team.slug == "it"] == [1]
    assert [action for action, _s, _d in audit(session)] == [
        "person.deactivated", "person.reactivated"]


def test_an_admin_cannot_deactivate_themselves(session, adam):
    with pytest.raises(SelfLockout, match="cannot deactivate yourself"):
        deactivate_person(session, person=adam, by=adam)
    session.refresh(adam)
    assert adam.is_active
    assert audit_count(session) == 0


def test_deactivating_twice_or_reactivating_an_active_person_is_refused(session, make, adam):
    ivan = make.user("Ivan")
    settle(session)
    with pytest.raises(InvalidTransition, match="Ivan is already active"):
        reactivate_person(session, person=ivan, by=adam)
    deactivate_person(session, person=ivan, by=adam)
    with pytest.raises(InvalidTransition, match="Ivan is already deactivated"):
        deactivate_person(session, person=ivan, by=adam)
    assert audit_count(session) == 1


# --- finding people -------------------------------------------------------------------


def test_the_people_list_searches_names_and_emails_and_pages_by_name(session, make):
    people = [make.user(f"Zed {n}") for n in range(5)]
    make.user("Other")
    first = list_people(session, search="zED", limit=3)
    assert [line.person.id for line in first.lines] == [p.id for p in people[:3]]
    assert first.next_after == people[2].id
    rest = list_people(session, search="zed", after=first.next_after, limit=3)
    assert [line.person.id for line in rest.lines] == [p.id for p in people[3:]]
    assert rest.next_after is None
    by_email = list_people(session, search=people[4].email.split("@")[0])
    assert [line.person.id for line in by_email.lines] == [people[4].id]


def test_an_active_person_is_picked_by_email_by_picker_text_or_by_exact_name(session, make):
    nora = make.user("Nora North")
    gone = make.user("Gone Person", active=False)
    assert pick_active_person(session, nora.email.upper()) == nora
    assert pick_active_person(session, f"Nora North <{nora.email}>") == nora
    assert pick_active_person(session, "  nora   NORTH ") == nora
    with pytest.raises(FormInvalid, match="No active person"):
        pick_active_person(session, gone.email)
    # Part of a name is not a pick: refused, naming whom it could mean.
    with pytest.raises(FormInvalid, match="Pick the person from the suggestions: Nora North"):
        pick_active_person(session, "Nora")
    make.user("Nora North")
    with pytest.raises(FormInvalid, match="Several people have that name"):
        pick_active_person(session, "Nora North")


# --- teams ------------------------------------------------------------------------------


def test_an_admin_creates_a_team_and_it_is_audited(session, adam):
    team = create_team(session, slug="legal", name=" Legal  Affairs ", by=adam)
    assert (team.slug, team.name) == ("legal", "Legal Affairs")
    assert audit(session) == [("team.created", "Legal Affairs (legal)",
                               "Slug “legal”, name “Legal Affairs”.")]


@pytest.mark.parametrize(("slug", "name", "errors"), [
    ("Legal", "Legal", {"slug": "Use lower-case letters"}),
    ("-legal", "Legal", {"slug": "Use lower-case letters"}),
    ("l" * 61, "Legal", {"slug": "Use lower-case letters"}),
    ("", "", {"slug": "Enter a slug", "name": "Enter the team's name."}),
    ("legal", "L" * 121, {"name": "Use at most 120 characters."}),
])
def test_a_bad_slug_or_name_is_refused_by_field(session, adam, slug, name, errors):
    with pytest.raises(FormInvalid) as refused:
        create_team(session, slug=slug, name=name, by=adam)
    assert refused.value.errors.keys() == errors.keys()
    for key, start in errors.items():
        assert refused.value.errors[key].startswith(start)
    assert session.exec(select(func.count()).select_from(Team)).one() == 0
    assert audit_count(session) == 0


def test_a_duplicate_slug_is_refused_and_names_the_team_that_has_it(session, make, adam):
    make.team("it", "IT Support")
    with pytest.raises(FormInvalid) as refused:
        create_team(session, slug="it", name="Another IT", by=adam)
    assert refused.value.errors == {"slug": "The slug “it” is already the team IT Support."}
    assert audit_count(session) == 0


def test_renaming_a_team_keeps_its_slug_and_is_audited(session, make, adam):
    team = make.team("it", "IT")
    rename_team(session, team=team, name="IT Support", by=adam)
    session.refresh(team)
    assert (team.slug, team.name) == ("it", "IT Support")
    assert audit(session) == [("team.renamed", "IT Support (it)", "From “IT” to “IT Support”.")]


def test_renaming_to_the_same_name_changes_nothing_and_an_empty_name_is_refused(
    session, make, adam
):
    team = make.team("it", "IT")
    rename_team(session, team=team, name=" IT ", by=adam)
    with pytest.raises(FormInvalid) as refused:
        rename_team(session, team=team, name="  ", by=adam)
    assert refused.value.errors == {"name": "Enter the team's name."}
    session.refresh(team)
    assert team.name == "IT"
    assert audit_count(session) == 0


# --- members and leads --------------------------------------------------------------------


def test_adding_a_member_and_making_and_unmaking_a_lead_is_audited_each_time(
    session, make, adam
):
    team = make.team("it", "IT")
    nora = make.user("Nora")
    add_team_member(session, team=team, person=nora, by=adam)
    assert [(user.id, lead) for user, lead in members_of(session, team)] == [(nora.id, False)]
    set_team_lead(session, team=team, person=nora, lead=True, by=adam)
    assert [lead for _user, lead in members_of(session, team)] == [True]
    set_team_lead(session, team=team, person=nora, lead=False, by=adam)
    assert [lead for _user, lead in members_of(session, team)] == [False]
    who = f"Nora <{nora.email}>"
    assert audit(session) == [
        ("member.added", "IT (it)", f"{who}."),
        ("lead.set", "IT (it)", f"{who} is now a lead."),
        ("lead.unset", "IT (it)", f"{who} is no longer a lead."),
    ]


def test_a_member_can_be_added_as_a_lead_in_one_step(session, make, adam):
    team = make.team("it", "IT")
    nora = make.user("Nora")
    add_team_member(session, team=team, person=nora, lead=True, by=adam)
    assert [lead for _user, lead in members_of(session, team)] == [True]
    assert audit(session)[0][2] == f"Nora <{nora.email}>, as a lead."


def test_adding_a_member_twice_or_a_deactivated_person_is_refused(session, make, adam):
    team = make.team("it", "IT")
    nora = make.user("Nora", teams=("it",))
    gone = make.user("Gone", active=False)
    settle(session)
    with pytest.raises(FormInvalid) as twice:
        add_team_member(session, team=team, person=nora, by=adam)
    assert twice.value.errors == {"person": "Nora is already a member of IT."}
    with pytest.raises(FormInvalid) as inactive:
        add_team_member(session, team=team, person=gone, by=adam)
    assert inactive.value.errors == {"person": "Gone is deactivated: reactivate them first."}
    assert audit_count(session) == 0


def test_removing_a_member_returns_their_claims_of_that_team_only(session, make, adam, desk):
    request = make.request(desk.laptop, desk.rita)
    it_task, hr_task = make.tasks(request)
    claim_task(session, task=it_task, by=desk.ivan)
    claim_task(session, task=hr_task, by=desk.ivan)
    it = session.get(Team, it_task.team_id)
    released = remove_team_member(session, team=it, person=desk.ivan, by=adam)
    assert [task.id for task in released] == [it_task.id]
    session.refresh(it_task)
    session.refresh(hr_task)
    assert (it_task.state, it_task.assignee_id) == ("open", None)
    assert (hr_task.state, hr_task.assignee_id) == ("claimed", desk.ivan.id)
    assert session.get(Membership, (it.id, desk.ivan.id)) is None
    note = session.exec(select(TimelineEvent.note).where(
        TimelineEvent.task_id == it_task.id, TimelineEvent.kind == "released")).one()
    assert note == "Returned to the queue: Ivan Ivanov left It"
    assert audit(session) == [(
        "member.removed", "It (it)",
        f"Ivan Ivanov <{desk.ivan.email}>. Returned 1 claimed task to its team queue: "
        f"{request.number}.",
    )]


def test_removing_a_non_member_or_leading_twice_is_refused(session, make, adam):
    team = make.team("it", "IT")
    nora = make.user("Nora")
    lead = make.user("Lena")
    add_team_member(session, team=team, person=lead, lead=True, by=adam)
    with pytest.raises(InvalidTransition, match="Nora is not a member of IT"):
        remove_team_member(session, team=team, person=nora, by=adam)
    with pytest.raises(InvalidTransition, match="Nora is not a member of IT"):
        set_team_lead(session, team=team, person=nora, lead=True, by=adam)
    with pytest.raises(InvalidTransition, match="Lena is already a lead of IT"):
        set_team_lead(session, team=team, person=lead, lead=True, by=adam)
    assert audit_count(session) == 1


def test_the_team_list_counts_active_members_and_names_active_leads(session, make, adam):
    team = make.team("it", "IT")
    for name, lead, active in (("Ana", True, True), ("Bo", False, True), ("Cy", True, False)):
        person = make.user(name, active=active)
        session.add(Membership(team_id=team.id, user_id=person.id, is_lead=lead))
    make.team("hr", "HR")
    session.flush()
    assert [(line.team.slug, line.members, line.leads) for line in team_lines(session)] == [
        ("hr", 0, []), ("it", 2, ["Ana"])]


def test_deactivation_is_one_transaction_so_a_failure_part_way_changes_nothing(
    session, make, adam, desk, web: WebClient, monkeypatch
):
    task = make.tasks(make.request(desk.laptop, desk.rita))[0]
    claim_task(session, task=task, by=desk.ivan)
    web.login(desk.ivan)

    def broken_log(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr("app.rules.people.record_admin_action", broken_log)
    with pytest.raises(RuntimeError):
        deactivate_person(session, person=desk.ivan, by=adam)
    session.refresh(desk.ivan)
    session.refresh(task)
    assert desk.ivan.is_active
    assert sessions_of(session, desk.ivan) == 1
    assert (task.state, task.assignee_id) == ("claimed", desk.ivan.id)
    assert session.exec(select(func.count()).select_from(TimelineEvent).where(
        TimelineEvent.kind == "released")).one() == 0
