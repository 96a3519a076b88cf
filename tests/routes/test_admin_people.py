"""The admin pages for teams and people, over HTTP, per role: an admin may; a manager, a
team member and an employee may not (403 for every page and every form); nobody signed
in is sent to sign in; every form needs the CSRF token; bad input is a 422 with the
message next to its field; unknown teams and people are 404."""

import re
from html import unescape

import pytest
from sqlmodel import Session, col, func, select

from app.rules.tasks import claim_task
from app.storage.models import AdminEvent, Membership, Task, Team, TimelineEvent, User
from tests.factories import Factory
from tests.web import WebClient, text_of

PASSWORD = "correct horse battery"


def audit_actions(session: Session) -> list[str]:
    return list(session.exec(select(AdminEvent.action).order_by(col(AdminEvent.id))))


def field_error(response, key: str) -> str:  # type: ignore[no-untyped-def]
    """The message shown next to one field of the form."""
    match = re.search(rf'<p class="field-error" id="f-{key}-error">([^<]*)</p>', response.text)
    assert match is not None, f"no error next to {key}"
    return unescape(match.group(1))


def value_of(response, key: str) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf'id="f-{key}" name="{key}"[^>]*value="([^"]*)"', response.text)
    assert match is not None, f"no input {key}"
    return unescape(match.group(1))


@pytest.fixture
def org(make: Factory):  # type: ignore[no-untyped-def]
    """IT, with Ivan (lead) and Iris; Adam the admin, Maria the manager, Rita an employee,
    and Gone, who was deactivated."""
    class Org:
        laptop = make.service(slug="laptop", name="New laptop", steps=[("it", "task")])
        it = make.team("it")
        ivan = make.user("Ivan Ivanov", teams=("it",))
        iris = make.user("Iris", teams=("it",))
        adam = make.user("Adam", admin=True)
        maria = make.user("Maria", manager=True)
        rita = make.user("Rita")
        gone = make.user("Gone", active=False)
    make.session.get(Membership, (Org.it.id, Org.ivan.id)).is_lead = True  # type: ignore[union-attr]
    make.session.flush()
    return Org


PAGES = ["/admin/teams", "/admin/teams/it", "/admin/people", "/admin/people/new",
         "/admin/people/{ivan}"]
FORMS = [
    ("/admin/teams", {"slug": "legal", "name": "Legal"}),
    ("/admin/teams/it/rename", {"name": "Renamed"}),
    ("/admin/teams/it/members", {"person": "{rita_email}"}),
    ("/admin/teams/it/members/{ivan}/remove", {}),
    ("/admin/teams/it/members/{iris}/lead", {"lead": "yes"}),
    ("/admin/people", {"name": "Nora", "email": "nora@example.com", "password": PASSWORD}),
    ("/admin/people/{rita}/grant", {"role": "admin"}),
    ("/admin/people/{maria}/revoke", {"role": "manager"}),
    ("/admin/people/{ivan}/deactivate", {}),
    ("/admin/people/{gone}/reactivate", {}),
]


def fill(text: str, org) -> str:  # type: ignore[no-untyped-def]
    return text.format(ivan=org.ivan.id, iris=org.iris.id, rita=org.rita.id,
                       maria=org.maria.id, gone=org.gone.id, rita_email=org.rita.email)


def who(org, role: str) -> User:  # type: ignore[no-untyped-def]
    return {"manager": org.maria, "team member": org.ivan, "employee": org.rita,
            "admin": org.adam}[role]


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "team member", "employee"])
@pytest.mark.parametrize("page", PAGES)
def test_only_admins_see_the_admin_pages(web: WebClient, org, role, page):
    response = web.login(who(org, role)).get(fill(page, org))
    assert response.status_code == 403
    assert "Only admins can do this." in text_of(response)


@pytest.mark.parametrize("role", ["manager", "team member", "employee"])
@pytest.mark.parametrize(("url", "data"), FORMS)
def test_only_admins_may_post_the_admin_forms(web: WebClient, session, org, role, url, data):
    before = session.exec(select(func.count()).select_from(User)).one()
    form = {key: fill(value, org) for key, value in data.items()}
    response = web.login(who(org, role)).post(fill(url, org), form)
    assert response.status_code == 403
    assert "Only admins can do this." in text_of(response)
    assert audit_actions(session) == []
    assert session.exec(select(func.count()).select_from(User)).one() == before
    session.refresh(org.ivan)
    assert org.ivan.is_active


@pytest.mark.parametrize("role", ["manager", "employee"])
def test_a_non_admin_gets_403_even_for_a_team_or_person_that_does_not_exist(
    web: WebClient, org, role
):
    web.login(who(org, role))
    assert web.get("/admin/teams/no-such-team").status_code == 403
    assert web.get("/admin/people/999999").status_code == 403
    assert web.post("/admin/people/999999/deactivate").status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_nobody_signed_in_is_sent_to_sign_in(web: WebClient, org, page):
    response = web.get(fill(page, org))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/admin/")


@pytest.mark.parametrize(("url", "data"), FORMS)
def test_every_admin_form_needs_the_csrf_token(web: WebClient, session, org, url, data):
    web.login(org.adam)
    form = {key: fill(value, org) for key, value in data.items()}
    missing = web.post(fill(url, org), form, csrf=False)
    wrong = web.post(fill(url, org), {**form, "csrf_token": "forged"}, csrf=False)
    assert missing.status_code == wrong.status_code == 403
    assert "did not come from Baton" in text_of(missing)
    assert audit_actions(session) == []


@pytest.mark.parametrize(("url", "data"), FORMS)
def test_every_admin_form_works_for_an_admin_and_is_audited(
    web: WebClient, session, org, url, data
):
    form = {key: fill(value, org) for key, value in data.items()}
    response = web.login(org.adam).post(fill(url, org), form)
    assert response.status_code == 303, text_of(response)
    assert "?done=" in response.headers["location"]
    assert len(audit_actions(session)) == 1
    page = web.get(response.headers["location"])
    assert page.status_code == 200
    assert 'class="ok"' in page.text


# --- teams ---------------------------------------------------------------------------------


def test_the_teams_page_lists_teams_with_active_member_counts_and_leads(
    web: WebClient, make, org
):
    make.team("hr", "Human Resources")
    make.user("Gone", teams=("it",), active=False)
    page = text_of(web.login(org.adam).get("/admin/teams"))
    assert "Human Resources hr 0 —" in page
    assert "It it 2 Ivan Ivanov" in page
    assert "Create a team" in page


def test_creating_a_team_redirects_to_its_page(web: WebClient, session, org):
    response = web.login(org.adam).post("/admin/teams", {"slug": "legal", "name": "Legal"})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/teams/legal?done=team-created"
    page = text_of(web.get(response.headers["location"]))
    assert "The team was created." in page and "Legal has no members yet" in page
    assert audit_actions(session) == ["team.created"]


@pytest.mark.parametrize(("form", "key", "message"), [
    ({"slug": "Legal Team", "name": "Legal"}, "slug", "Use lower-case letters, digits"),
    ({"slug": "it", "name": "Another IT"}, "slug", "The slug “it” is already the team It."),
    ({"slug": "legal", "name": "   "}, "name", "Enter the team's name."),
    ({"slug": "leg\x00al", "name": "Legal"}, "slug", "Use lower-case letters, digits"),
    ({}, "slug", "Enter a slug"),
])
def test_a_bad_new_team_is_a_422_with_the_message_next_to_the_field_and_answers_kept(
    web: WebClient, session, org, form, key, message
):
    response = web.login(org.adam).post("/admin/teams", form)
    assert response.status_code == 422
    assert field_error(response, key).startswith(message)
    if form.get("slug") and "\x00" not in form["slug"]:
        assert value_of(response, "slug") == form["slug"]
    assert audit_actions(session) == []
    assert session.exec(select(func.count()).select_from(Team)).one() == 1


def test_the_team_page_lists_members_with_their_lead_flag(web: WebClient, org):
    response = web.login(org.adam).get("/admin/teams/it")
    assert response.status_code == 200
    page = text_of(response)
    assert f"Iris {org.iris.email} — Make lead Remove" in page
    assert f"Ivan Ivanov {org.ivan.email} lead Unmake lead Remove" in page


def test_renaming_a_team(web: WebClient, session, org):
    response = web.login(org.adam).post("/admin/teams/it/rename", {"name": "IT Support"})
    assert response.status_code == 303
    session.refresh(org.it)
    assert org.it.name == "IT Support"
    empty = web.post("/admin/teams/it/rename", {"name": ""})
    assert empty.status_code == 422
    assert field_error(empty, "name") == "Enter the team's name."
    assert audit_actions(session) == ["team.renamed"]


@pytest.mark.parametrize("typed", [
    "{email}", "Nora North <{email}>", "nora north",
])
def test_a_member_is_added_by_email_by_picker_text_or_by_exact_name(
    web: WebClient, session, make, org, typed
):
    nora = make.user("Nora North")
    response = web.login(org.adam).post("/admin/teams/it/members",
                                        {"person": typed.format(email=nora.email), "lead": "on"})
    assert response.status_code == 303
    membership = session.get(Membership, (org.it.id, nora.id))
    assert membership is not None and membership.is_lead


@pytest.mark.parametrize(("typed", "message"), [
    ("nobody@example.com", "No active person of Baton matches"),
    ("", "Type a name or e-mail"),
    ("{ivan}", "Ivan Ivanov is already a member of It."),
    ("x" * 5000, "No active person of Baton matches"),
])
def test_adding_a_member_who_cannot_be_added_is_a_422_next_to_the_field(
    web: WebClient, session, org, typed, message
):
    typed = typed.format(ivan=org.ivan.email)
    response = web.login(org.adam).post("/admin/teams/it/members", {"person": typed})
    assert response.status_code == 422
    assert field_error(response, "person").startswith(message)
    if len(typed) < 100:
        assert value_of(response, "person") == typed
    assert audit_actions(session) == []


def test_removing_a_member_and_making_and_unmaking_a_lead(web: WebClient, session, org):
    web.login(org.adam)
    assert web.post(f"/admin/teams/it/members/{org.iris.id}/lead",
                    {"lead": "yes"}).status_code == 303
    assert session.get(Membership, (org.it.id, org.iris.id)).is_lead  # type: ignore[union-attr]
    again = web.post(f"/admin/teams/it/members/{org.iris.id}/lead", {"lead": "yes"})
    assert again.status_code == 409
    assert "Iris is already a lead of It." in text_of(again)
    assert web.post(f"/admin/teams/it/members/{org.ivan.id}/lead",
                    {"lead": "no"}).status_code == 303
    assert not session.get(Membership, (org.it.id, org.ivan.id)).is_lead  # type: ignore[union-attr]
    assert web.post(f"/admin/teams/it/members/{org.iris.id}/remove").status_code == 303
    assert session.get(Membership, (org.it.id, org.iris.id)) is None
    gone = web.post(f"/admin/teams/it/members/{org.iris.id}/remove")
    assert gone.status_code == 409
    assert "Iris is not a member of It." in text_of(gone)
    assert audit_actions(session) == ["lead.set", "lead.unset", "member.removed"]


@pytest.mark.parametrize("flag", ["maybe", "YES", "2"])
def test_a_lead_flag_no_page_sends_is_refused(web: WebClient, session, org, flag):
    web.login(org.adam)
    response = web.post(f"/admin/teams/it/members/{org.iris.id}/lead", {"lead": flag})
    assert response.status_code == 422
    assert not session.get(Membership, (org.it.id, org.iris.id)).is_lead  # type: ignore[union-attr]
    assert audit_actions(session) == []


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/admin/teams/no-such-team"),
    ("get", "/admin/teams/NOT%20A%20SLUG"),
    ("post", "/admin/teams/no-such-team/rename"),
    ("post", "/admin/teams/no-such-team/members"),
    ("post", "/admin/teams/it/members/999999/remove"),
    ("post", "/admin/teams/it/members/99999999999/lead"),
    ("get", "/admin/people/999999"),
    ("get", "/admin/people/99999999999"),
    ("get", "/admin/people/abc"),
    ("post", "/admin/people/999999/grant"),
    ("post", "/admin/people/999999/deactivate"),
])
def test_an_unknown_team_or_person_is_not_found(web: WebClient, org, method, url):
    web.login(org.adam)
    response = web.get(url) if method == "get" else web.post(url, {"name": "x", "role": "admin"})
    assert response.status_code == 404


# --- people ----------------------------------------------------------------------------------


def test_the_people_page_shows_roles_teams_and_who_is_deactivated(web: WebClient, org):
    response = web.login(org.adam).get("/admin/people")
    assert response.status_code == 200
    page = text_of(response)
    assert f"Adam {org.adam.email} Admin — Active" in page
    assert f"Ivan Ivanov {org.ivan.email} — It (lead) Active" in page
    assert f"Maria {org.maria.email} Manager — Active" in page
    assert f"Gone {org.gone.email} — — deactivated" in page


def test_the_people_page_searches_and_pages(web: WebClient, make, org):
    zeds = [make.user(f"Zed {n}") for n in range(52)]
    web.login(org.adam)
    first = web.get("/admin/people?q=ZED")
    ids = [int(n) for n in re.findall(r'<tr id="person-(\d+)"', first.text)]
    assert ids == [zed.id for zed in sorted(zeds, key=lambda z: (z.name, z.id))][:50]
    more = re.search(r'href="(/admin/people\?[^"]+)">Next people', first.text)
    assert more is not None
    second = web.get(more.group(1).replace("&amp;", "&"))
    rest = [int(n) for n in re.findall(r'<tr id="person-(\d+)"', second.text)]
    assert len(rest) == 2 and not set(rest) & set(ids)
    assert "Next people" not in second.text
    assert "Nobody’s name or e-mail contains “nobody-at-all”" in text_of(
        web.get("/admin/people?q=nobody-at-all"))
    assert web.get("/admin/people", params={"q": "zed\x00" + "x" * 500}).status_code == 200


def test_creating_a_person_redirects_to_their_page_and_they_can_sign_in(
    web: WebClient, session, org
):
    web.login(org.adam)
    assert web.get("/admin/people/new").status_code == 200
    response = web.post("/admin/people", {"name": "Nora North", "email": "nora@example.com",
                                          "password": PASSWORD, "manager": "on"})
    assert response.status_code == 303
    nora = session.exec(select(User).where(User.email == "nora@example.com")).one()
    assert response.headers["location"] == f"/admin/people/{nora.id}?done=person-created"
    assert nora.is_manager and not nora.is_admin
    web.logout()
    assert sign_in(web, "nora@example.com", PASSWORD).status_code == 303


def test_a_bad_new_person_is_a_422_with_messages_by_field_and_answers_kept_but_not_the_password(
    web: WebClient, session, org
):
    response = web.login(org.adam).post("/admin/people", {
        "name": "Nora", "email": org.ivan.email.upper(), "password": "short", "admin": "on",
    })
    assert response.status_code == 422
    assert field_error(response, "email") == f"There is already an account for {org.ivan.email}."
    assert field_error(response, "password") == "Use at least 8 characters."
    assert value_of(response, "name") == "Nora"
    assert value_of(response, "email") == org.ivan.email.upper()
    assert re.search(r'id="f-admin" name="admin" value="on"\s+checked', response.text)
    assert "short" not in response.text
    assert audit_actions(session) == []


def test_odd_input_for_a_new_person_is_a_message_never_a_500(web: WebClient, org):
    response = web.login(org.adam).post("/admin/people", {
        "name": "\x00" * 3, "email": "a\x00@b", "password": "p\x00" * 10,
    })
    assert response.status_code == 422
    assert field_error(response, "name") == "Enter the person's name."
    assert field_error(response, "email").startswith("Enter an e-mail address like")


def test_a_role_box_value_no_page_sends_is_refused(web: WebClient, session, org):
    response = web.login(org.adam).post("/admin/people", {
        "name": "Nora", "email": "nora@example.com", "password": "long enough", "manager": "maybe",
    })
    assert response.status_code == 422
    assert field_error(response, "manager").startswith("This box is ticked or not")
    assert audit_actions(session) == []


def test_granting_and_revoking_roles_from_the_person_page(web: WebClient, session, org):
    web.login(org.adam)
    page = web.get(f"/admin/people/{org.rita.id}")
    assert "Grant manager" in page.text and "Grant admin" in page.text
    assert web.post(f"/admin/people/{org.rita.id}/grant", {"role": "manager"}).status_code == 303
    assert web.post(f"/admin/people/{org.rita.id}/revoke", {"role": "manager"}).status_code == 303
    unknown = web.post(f"/admin/people/{org.rita.id}/grant", {"role": "owner"})
    assert unknown.status_code == 422
    assert "Pick a role: manager or admin." in text_of(unknown)
    assert audit_actions(session) == ["role.granted", "role.revoked"]


def test_an_admin_is_told_they_cannot_revoke_their_own_admin_rights_or_deactivate_themselves(
    web: WebClient, session, org
):
    web.login(org.adam)
    page = text_of(web.get(f"/admin/people/{org.adam.id}"))
    assert "You cannot revoke your own admin rights." in page
    assert "You cannot deactivate yourself" in page
    revoked = web.post(f"/admin/people/{org.adam.id}/revoke", {"role": "admin"})
    assert revoked.status_code == 409
    assert "You cannot revoke your own admin rights: ask another admin." in text_of(revoked)
    deactivated = web.post(f"/admin/people/{org.adam.id}/deactivate")
    assert deactivated.status_code == 409
    assert "You cannot deactivate yourself: ask another admin." in text_of(deactivated)
    session.refresh(org.adam)
    assert org.adam.is_admin and org.adam.is_active
    assert audit_actions(session) == []


def sign_in(web: WebClient, email: str, password: str):  # type: ignore[no-untyped-def]
    page = web.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return web.post("/login", {"email": email, "password": password,
                               "csrf_token": token.group(1)}, csrf=False)


def test_deactivating_signs_the_person_out_returns_their_claims_and_stops_sign_in(
    web: WebClient, session, make, org
):
    request = make.request(org.laptop, org.rita)
    task = make.tasks(request)[0]
    claim_task(session, task=task, by=org.ivan)
    web.login(org.ivan)
    ivan_cookies = dict(web.client.cookies)
    web.login(org.adam)
    page = text_of(web.get(f"/admin/people/{org.ivan.id}"))
    assert "Their 1 claimed task goes back to the team queue" in page

    response = web.post(f"/admin/people/{org.ivan.id}/deactivate")
    assert response.status_code == 303
    session.refresh(task)
    assert (task.state, task.assignee_id) == ("open", None)
    event = session.exec(select(TimelineEvent).where(
        TimelineEvent.task_id == task.id, TimelineEvent.kind == "released")).one()
    assert (event.actor_id, event.note) == (
        org.adam.id, "Returned to the queue: Ivan Ivanov was deactivated")
    assert audit_actions(session) == ["person.deactivated"]
    assert "Reactivate Ivan Ivanov" in text_of(web.get(response.headers["location"]))

    web.logout()
    web.client.cookies.update(ivan_cookies)
    assert web.get("/queues").headers["location"].startswith("/login")
    web.logout()
    refused = sign_in(web, org.ivan.email, PASSWORD)
    assert refused.status_code == 422
    assert "do not match an active account" in text_of(refused)

    web.login(org.adam)
    assert web.post(f"/admin/people/{org.ivan.id}/reactivate").status_code == 303
    web.logout()
    assert sign_in(web, org.ivan.email, PASSWORD).status_code == 303
    assert session.exec(select(func.count()).select_from(Task).where(
        Task.assignee_id == org.ivan.id)).one() == 0


def test_adding_a_member_by_part_of_a_name_names_whom_to_pick(web: WebClient, session, org,
                                                              make):
    nora = make.user("Nora North")
    response = web.login(org.adam).post("/admin/teams/it/members", {"person": "Nora"})
    assert response.status_code == 422
    assert field_error(response, "person") == (
        f"Pick the person from the suggestions: Nora North <{nora.email}>.")
