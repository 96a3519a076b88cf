"""Admin pages for teams and people (admins only, checked by every route's dependencies).

Every form is a plain POST answered with a redirect (303) back to the page, which says
what was done. A refusal re-renders the page: 422 with the message next to the field it
is about, or 409 with the message at the top (e.g. "Ivan is already a lead of IT").
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.rules.errors import DomainError, FormInvalid, NotAllowed
from app.rules.inputs import InputInvalid, parse_flag
from app.rules.people import (
    ROLES,
    add_person,
    claimed_tasks_of,
    deactivate_person,
    grant_role,
    list_people,
    pick_active_person,
    reactivate_person,
    revoke_role,
)
from app.rules.teams import (
    TEAM_SLUG_PATTERN,
    add_team_member,
    create_team,
    get_team_by_slug,
    members_of,
    memberships_by_person,
    remove_team_member,
    rename_team,
    set_team_lead,
    team_lines,
)
from app.storage.models import MAX_ID, Team, User
from app.web.access import IdPath
from app.web.auth import AdminUser
from app.web.render import redirect, render
from app.web.session import SessionDep

router = APIRouter()

# What the page says after a redirect: fixed messages, so the address carries a key and
# never text that would be shown as it came.
DONE = {
    "team-created": "The team was created.",
    "renamed": "The team was renamed.",
    "member-added": "The member was added.",
    "member-removed": "The member was removed; their claimed tasks of this team went back "
                      "to its queue.",
    "lead-set": "The member is now a lead.",
    "lead-unset": "The member is no longer a lead.",
    "person-created": "The person was created: they can sign in now.",
    "role-granted": "The role was granted.",
    "role-revoked": "The role was revoked.",
    "deactivated": "The person was deactivated and signed out; their claimed tasks went "
                   "back to their team queues.",
    "reactivated": "The person was reactivated: they can sign in again.",
}

TextField = Annotated[str, Form()]


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _refusal(action: Callable[[], object]) -> DomainError | None:
    """Runs the rule; returns its refusal to show on the page. NotAllowed (the admin is no
    longer one) goes to the error page instead."""
    try:
        action()
    except NotAllowed:
        raise
    except DomainError as refused:
        return refused
    return None


def _box(key: str, value: str) -> bool:
    """A yes/no box of an admin form; a value no page sends is refused next to it."""
    try:
        return parse_flag(value)
    except InputInvalid as invalid:
        raise FormInvalid({key: invalid.message}) from None


def _field_errors(refused: DomainError | None) -> dict[str, str]:
    errors: dict[str, str] = getattr(refused, "errors", {})
    return errors


def get_team_for_admin(team_slug: str, session: SessionDep, user: AdminUser) -> Team:
    team = get_team_by_slug(session, team_slug) if TEAM_SLUG_PATTERN.match(team_slug) else None
    if team is None:
        raise HTTPException(status_code=404, detail="There is no such team.")
    return team


def get_person_for_admin(person_id: IdPath, session: SessionDep, user: AdminUser) -> User:
    person = session.get(User, person_id)
    if person is None:
        raise HTTPException(status_code=404, detail="There is no such person.")
    return person


TeamForAdmin = Annotated[Team, Depends(get_team_for_admin)]
PersonForAdmin = Annotated[User, Depends(get_person_for_admin)]


# --- teams ------------------------------------------------------------------------------


def _teams_page(
    request: Request, session: Session, *, refused: DomainError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(request, "admin/teams.html", {
        "lines": team_lines(session), "done": _done(request),
        "errors": _field_errors(refused),
        "values": {key: [value] for key, value in (values or {}).items()},
    }, status=refused.status_code if refused else 200)


@router.get("/admin/teams", name="admin.teams")
def show_teams(request: Request, session: SessionDep, user: AdminUser) -> Response:
    return _teams_page(request, session)


@router.post("/admin/teams", name="admin.teams.create")
def create_team_from_form(
    request: Request, session: SessionDep, user: AdminUser,
    slug: TextField = "", name: TextField = "",
) -> Response:
    team: list[Team] = []
    refused = _refusal(lambda: team.append(create_team(session, slug=slug, name=name, by=user)))
    if refused:
        return _teams_page(request, session, refused=refused,
                           values={"slug": slug, "name": name})
    return redirect(f"/admin/teams/{team[0].slug}?done=team-created", request)


def _team_page(
    request: Request, session: Session, team: Team, *, refused: DomainError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    errors = _field_errors(refused)
    return render(request, "admin/team.html", {
        "team": team, "members": members_of(session, team), "done": _done(request),
        "errors": errors, "notice": refused.message if refused and not errors else None,
        "values": {key: [value] for key, value in (values or {}).items()},
    }, status=refused.status_code if refused else 200)


@router.get("/admin/teams/{team_slug}", name="admin.team")
def show_team(
    request: Request, session: SessionDep, user: AdminUser, team: TeamForAdmin
) -> Response:
    return _team_page(request, session, team)


@router.post("/admin/teams/{team_slug}/rename", name="admin.team.rename")
def rename_team_from_form(
    request: Request, session: SessionDep, user: AdminUser, team: TeamForAdmin,
    name: TextField = "",
) -> Response:
    refused = _refusal(lambda: rename_team(session, team=team, name=name, by=user))
    if refused:
        return _team_page(request, session, team, refused=refused, values={"name": name})
    return redirect(f"/admin/teams/{team.slug}?done=renamed", request)


@router.post("/admin/teams/{team_slug}/members", name="admin.team.add_member")
def add_team_member_from_form(
    request: Request, session: SessionDep, user: AdminUser, team: TeamForAdmin,
    person: TextField = "", lead: TextField = "",
) -> Response:
    def add() -> None:
        add_team_member(session, team=team, person=pick_active_person(session, person),
                        lead=_box("lead", lead), by=user)

    refused = _refusal(add)
    if refused:
        return _team_page(request, session, team, refused=refused,
                          values={"person": person, "lead": lead})
    return redirect(f"/admin/teams/{team.slug}?done=member-added", request)


def _member(session: Session, person_id: int) -> User:
    person = session.get(User, person_id)
    if person is None:
        raise HTTPException(status_code=404, detail="There is no such person.")
    return person


@router.post("/admin/teams/{team_slug}/members/{person_id}/remove",
             name="admin.team.remove_member")
def remove_team_member_from_form(
    request: Request, session: SessionDep, user: AdminUser, team: TeamForAdmin,
    person_id: IdPath,
) -> Response:
    person = _member(session, person_id)
    refused = _refusal(lambda: remove_team_member(session, team=team, person=person, by=user))
    if refused:
        return _team_page(request, session, team, refused=refused)
    return redirect(f"/admin/teams/{team.slug}?done=member-removed", request)


@router.post("/admin/teams/{team_slug}/members/{person_id}/lead", name="admin.team.lead")
def set_team_lead_from_form(
    request: Request, session: SessionDep, user: AdminUser, team: TeamForAdmin,
    person_id: IdPath, lead: TextField = "",
) -> Response:
    person = _member(session, person_id)
    make_lead = parse_flag(lead)
    refused = _refusal(
        lambda: set_team_lead(session, team=team, person=person, lead=make_lead, by=user)
    )
    if refused:
        return _team_page(request, session, team, refused=refused)
    done = "lead-set" if make_lead else "lead-unset"
    return redirect(f"/admin/teams/{team.slug}?done={done}", request)


# --- people -----------------------------------------------------------------------------


@router.get("/admin/people", name="admin.people")
def show_people(
    request: Request, session: SessionDep, user: AdminUser,
    q: str = "", after: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    q = q[:200]
    page = list_people(session, search=q, after=after)
    return render(request, "admin/people.html", {"page": page, "q": q, "done": _done(request)})


def _new_person_page(
    request: Request, *, refused: DomainError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(request, "admin/person_new.html", {
        "errors": _field_errors(refused),
        "values": {key: [value] for key, value in (values or {}).items()},
    }, status=refused.status_code if refused else 200)


@router.get("/admin/people/new", name="admin.people.new")
def show_new_person(request: Request, user: AdminUser) -> Response:
    return _new_person_page(request)


@router.post("/admin/people", name="admin.people.create")
def create_person_from_form(
    request: Request, session: SessionDep, user: AdminUser,
    name: TextField = "", email: TextField = "", password: TextField = "",
    manager: TextField = "", admin: TextField = "",
) -> Response:
    created: list[User] = []
    refused = _refusal(lambda: created.append(add_person(
        session, name=name, email=email, password=password,
        manager=_box("manager", manager), admin=_box("admin", admin), by=user,
    )))
    if refused:
        # The password is never sent back into the page.
        return _new_person_page(request, refused=refused, values={
            "name": name, "email": email, "manager": manager, "admin": admin,
        })
    return redirect(f"/admin/people/{created[0].id}?done=person-created", request)


def _person_page(
    request: Request, session: Session, person: User, user: User, *,
    refused: DomainError | None = None,
) -> Response:
    return render(request, "admin/person.html", {
        "person": person, "teams": memberships_by_person(session, [person.id])[person.id],
        "claimed": claimed_tasks_of(session, person), "is_self": person.id == user.id,
        "roles": ROLES, "done": _done(request),
        "notice": refused.message if refused else None,
    }, status=refused.status_code if refused else 200)


@router.get("/admin/people/{person_id}", name="admin.person")
def show_person(
    request: Request, session: SessionDep, user: AdminUser, person: PersonForAdmin
) -> Response:
    return _person_page(request, session, person, user)


def _act_on_person(
    request: Request, session: Session, person: User, user: User,
    action: Callable[[], object], done: str,
) -> Response:
    refused = _refusal(action)
    if refused:
        return _person_page(request, session, person, user, refused=refused)
    return redirect(f"/admin/people/{person.id}?done={done}", request)


@router.post("/admin/people/{person_id}/grant", name="admin.person.grant")
def grant_role_from_form(
    request: Request, session: SessionDep, user: AdminUser, person: PersonForAdmin,
    role: TextField = "",
) -> Response:
    return _act_on_person(request, session, person, user,
                          lambda: grant_role(session, person=person, role=role, by=user),
                          "role-granted")


@router.post("/admin/people/{person_id}/revoke", name="admin.person.revoke")
def revoke_role_from_form(
    request: Request, session: SessionDep, user: AdminUser, person: PersonForAdmin,
    role: TextField = "",
) -> Response:
    return _act_on_person(request, session, person, user,
                          lambda: revoke_role(session, person=person, role=role, by=user),
                          "role-revoked")


@router.post("/admin/people/{person_id}/deactivate", name="admin.person.deactivate")
def deactivate_person_from_form(
    request: Request, session: SessionDep, user: AdminUser, person: PersonForAdmin
) -> Response:
    return _act_on_person(request, session, person, user,
                          lambda: deactivate_person(session, person=person, by=user),
                          "deactivated")


@router.post("/admin/people/{person_id}/reactivate", name="admin.person.reactivate")
def reactivate_person_from_form(
    request: Request, session: SessionDep, user: AdminUser, person: PersonForAdmin
) -> Response:
    return _act_on_person(request, session, person, user,
                          lambda: reactivate_person(session, person=person, by=user),
                          "reactivated")
