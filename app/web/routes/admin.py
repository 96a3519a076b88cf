"""The admin area's front page and its audit log."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.rules.audit import recent_admin_actions
from app.storage.models import MAX_ID
from app.web.auth import AdminUser
from app.web.render import render
from app.web.session import SessionDep

router = APIRouter()


@router.get("/admin", name="admin.home")
def show_admin(request: Request, user: AdminUser) -> Response:
    return render(request, "admin/home.html")


@router.get("/admin/audit", name="admin.audit")
def show_audit_log(
    request: Request, session: SessionDep, user: AdminUser,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    entries = recent_admin_actions(session, before=before)
    next_before = entries[-1][0].id if len(entries) == 50 else None
    return render(request, "admin/audit.html", {"entries": entries, "next_before": next_before})
