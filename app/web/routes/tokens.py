"""A person's profile page: their time zone (issue 16) and their API tokens (issue 15),
and an admin's view of anyone's tokens: make a token (its secret shown once, on the
answer to the form, never again), revoke one. The rules are app.rules.api_tokens' and
app.rules.people's."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.rules.api_tokens import (
    EXPIRY_DAYS,
    NewToken,
    create_token,
    revoke_token,
    token_state,
    tokens_of,
)
from app.rules.errors import DomainError, FormInvalid
from app.rules.inputs import MAX_TIME_ZONE_LENGTH, time_zone_names
from app.rules.people import set_time_zone
from app.storage.models import User, utcnow
from app.web.access import IdPath
from app.web.auth import AdminUser, CurrentUser
from app.web.render import redirect, render
from app.web.routes.admin_people import PersonForAdmin
from app.web.session import SessionDep

router = APIRouter()
ShortField = Annotated[str, Form(max_length=400)]


def _profile_page(request: Request, session: Session, user: User, *,
                  made: NewToken | None = None, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None, notice: str | None = None,
                  status: int = 200) -> Response:
    return render(request, "profile/profile.html", {
        "person": user, "tokens": tokens_of(session, owner_id=user.id), "now": utcnow(),
        "state_of": token_state, "expiry_days": EXPIRY_DAYS, "made": made,
        "errors": errors or {}, "values": values or {}, "notice": notice,
        "time_zones": sorted(time_zone_names()),
    }, status=status)


@router.get("/profile", name="profile.show")
def show_profile(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _profile_page(request, session, user)


@router.post("/profile/time-zone", name="profile.set_time_zone")
def set_own_time_zone(request: Request, session: SessionDep, user: CurrentUser,
                      time_zone: Annotated[str, Form(max_length=MAX_TIME_ZONE_LENGTH)] = "",
                      ) -> Response:
    try:
        set_time_zone(session, person=user, text=time_zone)
    except FormInvalid as invalid:
        return _profile_page(request, session, user, errors=invalid.errors,
                             values={"time_zone": time_zone}, status=422)
    return redirect("/profile#time-zone", request)


@router.post("/profile/tokens", name="profile.create_token")
def create_own_token(
    request: Request, session: SessionDep, user: CurrentUser,
    name: ShortField = "", days: ShortField = "", scope: ShortField = "read",
) -> Response:
    values = {"name": name, "days": days, "scope": scope}
    try:
        made = create_token(session, owner=user, name=name,
                            days=int(days) if days.isdigit() and len(days) < 4 else 0,
                            read_only=scope != "write")
    except FormInvalid as invalid:
        return _profile_page(request, session, user, errors=invalid.errors, values=values,
                             status=422)
    # The only time the secret is shown: the answer to this form (never a redirect that
    # would have to carry it).
    return _profile_page(request, session, user, made=made, status=201)


@router.post("/profile/tokens/{token_id}/revoke", name="profile.revoke_token")
def revoke_own_token(request: Request, session: SessionDep, user: CurrentUser,
                     token_id: IdPath) -> Response:
    try:
        revoke_token(session, token_id=token_id, by=user)
    except DomainError as refused:
        return _profile_page(request, session, user, notice=refused.message,
                             status=refused.status_code)
    return redirect("/profile#tokens", request)


@router.get("/admin/people/{person_id}/tokens", name="admin.person.tokens")
def show_person_tokens(request: Request, session: SessionDep, user: AdminUser,
                       person: PersonForAdmin) -> Response:
    return render(request, "profile/admin_tokens.html", {
        "person": person, "tokens": tokens_of(session, owner_id=person.id), "now": utcnow(),
        "state_of": token_state,
    })


@router.post("/admin/people/{person_id}/tokens/{token_id}/revoke",
             name="admin.person.revoke_token")
def revoke_person_token(request: Request, session: SessionDep, user: AdminUser,
                        person: PersonForAdmin, token_id: IdPath) -> Response:
    # The token must be this person's: the address says whose list the admin acts on.
    if token_id not in {token.id for token in tokens_of(session, owner_id=person.id)}:
        return render(request, "_error.html", {"message": "There is no such token.",
                                               "status": 404}, status=404)
    revoke_token(session, token_id=token_id, by=user)
    return redirect(f"/admin/people/{person.id}/tokens", request)
