"""Admin: services. The list, the builder (one form, with a live preview), versions and
what changed between two, and the catalog as files (export, import).

The builder works as plain form posts: every button posts the whole form with a `do=`
value (`add_field`, `remove_step:2`, `field_up:3`, `save` …) and the page comes back
with that change applied and everything else as typed. HTMX only refreshes the preview
as the admin types. A save with problems answers 422 with each message next to its input.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.config import get_settings
from app.format.definitions import DefinitionError
from app.reads.versions import (
    diff_definitions,
    service_lines,
    shown_value,
    versions_of,
)
from app.rules.builder import (
    PlacedError,
    ServiceChanged,
    check_definition,
    errors_at,
    place_errors,
    publish_service,
)
from app.rules.builder_form import (
    BuilderForm,
    apply_action,
    definition_data,
    empty_form,
    form_of,
    preview_fields,
    read_form,
)
from app.rules.catalog import (
    CatalogFileError,
    current_version,
    definition_of,
    get_service_by_slug,
    service_to_toml,
    teams_by_slug,
)
from app.rules.catalog_files import (
    export_zip,
    import_upload,
)
from app.storage.models import MAX_ID, Service, ServiceVersion, Team, User
from app.web.auth import AdminUser
from app.web.render import redirect, render
from app.web.request_body import accepts_large_body, posted_form
from app.web.session import SessionDep

router = APIRouter()

BUILDER = "admin/service_builder.html"
NumberQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def get_service_for_admin(slug: str, session: SessionDep, user: AdminUser) -> Service:
    service = get_service_by_slug(session, slug)
    if service is None:
        raise HTTPException(status_code=404, detail="There is no such service.")
    return service


ServiceForAdmin = Annotated[Service, Depends(get_service_for_admin)]


def _version(session: SessionDep, service: Service, number: int) -> ServiceVersion:
    version = session.exec(select(ServiceVersion).where(
        ServiceVersion.service_id == service.id, ServiceVersion.number == number
    )).first()
    if version is None:
        raise HTTPException(status_code=404, detail=f"{service.name} has no version {number}.")
    return version


def _preview_context(session: SessionDep, form: BuilderForm) -> dict[str, Any]:
    return {
        "form": form, "preview": preview_fields(form),
        "team_names": {slug: team.name for slug, team in teams_by_slug(session).items()},
        "max_upload_mb": get_settings().max_upload_mb,
    }


def _builder(
    request: Request, session: SessionDep, form: BuilderForm, *, service: Service | None,
    base_version: int | None = None, placed: list[PlacedError] | None = None,
    focus: str | None = None, notice: str | None = None, status: int = 200,
) -> Response:
    categories = session.exec(select(Service.category).distinct().order_by(Service.category))
    return render(request, BUILDER, {
        **_preview_context(session, form),
        "nav": "admin", "service": service, "base_version": base_version,
        "teams": session.exec(select(Team).order_by(col(Team.name))).all(),
        "categories": list(categories), "placed": placed or [],
        "errors": errors_at(placed or []), "focus": focus, "notice": notice,
        "action": f"/admin/services/{service.slug}/edit" if service else "/admin/services/new",
    }, status=status)


async def _posted(request: Request, *, slug: str | None = None) -> tuple[BuilderForm, str, str]:
    posted = await posted_form(request)
    items = list(posted.multi_items())
    action = posted.get("do")
    base = posted.get("base_version")
    return (read_form(items, slug=slug), action if isinstance(action, str) else "",
            base if isinstance(base, str) else "")


def _save(
    request: Request, session: SessionDep, user: AdminUser, form: BuilderForm, *,
    service: Service | None, base_version: int | None,
) -> Response:
    data = definition_data(form)
    slug = str(data.get("slug", ""))
    creating = service is None
    try:
        definition = check_definition(
            data, known_teams=set(teams_by_slug(session)),
            slug_taken=creating and get_service_by_slug(session, slug) is not None,
        )
        saved, version = publish_service(session, definition=definition, by=user,
                                         creating=creating, base_version=base_version)
    except DefinitionError as error:
        return _builder(request, session, form, service=service, base_version=base_version,
                        placed=place_errors(error.problems, form), status=422)
    except ServiceChanged as changed:
        return _builder(request, session, form, service=service, base_version=changed.number,
                        notice=changed.message, status=409)
    outcome = f"saved={version.number}" if version else "unchanged=1"
    return redirect(f"/admin/services/{saved.slug}?{outcome}", request)


def _act(
    request: Request, session: SessionDep, user: AdminUser, form: BuilderForm, action: str,
    *, service: Service | None, base_version: int | None,
) -> Response:
    if action == "save":
        return _save(request, session, user, form, service=service, base_version=base_version)
    form, focus = apply_action(form, action)
    return _builder(request, session, form, service=service, base_version=base_version,
                    focus=focus)


# --- the list, and the catalog as files --------------------------------------------------


def _list_page(
    request: Request, session: SessionDep, *, import_errors: list[str] | None = None,
    notice: str | None = None, status: int = 200,
) -> Response:
    return render(request, "admin/services.html", {
        "nav": "admin", "lines": service_lines(session), "import_errors": import_errors or [],
        "notice": notice,
    }, status=status)


@router.get("/admin/services", name="admin.services")
def list_services(
    request: Request, session: SessionDep, user: AdminUser,
    created: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    versioned: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    unchanged: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    imported: bool = False,
) -> Response:
    notice = None
    if imported:
        notice = (f"Imported: {created} new service{'s' if created != 1 else ''}, "
                  f"{versioned} new version{'s' if versioned != 1 else ''}, "
                  f"{unchanged} unchanged.")
    return _list_page(request, session, notice=notice)


@router.get("/admin/services/export.zip", name="admin.services.export_all")
def export_services(session: SessionDep, user: AdminUser) -> Response:
    return Response(export_zip(session), media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="catalog.zip"',
    })


def _catalog_file_allowance(_session: SessionDep, user: User, _path_params: dict[str, Any]
                            ) -> int:
    # A catalog file or a .zip of one; nobody but an admin has a use for it.
    return get_settings().max_upload_mb * 1024 * 1024 if user.is_admin else 0


@router.post("/admin/services/import", name="admin.services.import")
@accepts_large_body(_catalog_file_allowance)
async def import_services(request: Request, session: SessionDep, user: AdminUser) -> Response:
    # Async to read the upload; the database work runs in the thread pool (see
    # catalog.submit_service_request).
    upload = (await posted_form(request)).get("catalog_file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await run_in_threadpool(_import, request, session, user, None)
    content = await upload.read()
    return await run_in_threadpool(_import, request, session, user, (upload.filename, content))


def _import(request: Request, session: SessionDep, user: AdminUser,
            upload: tuple[str, bytes] | None) -> Response:
    if upload is None:
        return _list_page(request, session, status=422, import_errors=[
            "Choose a service file (.toml) or a .zip of a catalog folder to import."])
    filename, content = upload
    try:
        report = import_upload(session, filename=filename, content=content, by=user)
    except CatalogFileError as error:
        return _list_page(request, session, import_errors=error.problems, status=422)
    return redirect(
        f"/admin/services?imported=1&created={len(report.services_created)}"
        f"&versioned={len(report.services_versioned)}"
        f"&unchanged={len(report.services_unchanged)}", request)


# --- the builder -------------------------------------------------------------------------


@router.get("/admin/services/new", name="admin.services.new")
def new_service(request: Request, session: SessionDep, user: AdminUser) -> Response:
    return _builder(request, session, empty_form(), service=None)


def _builder_allowance(_session: SessionDep, user: User, _path_params: dict[str, Any]) -> int:
    # A service of many fields and steps, each with help text and instructions, can be
    # more than a small form's worth of text; only an admin builds services.
    return 1024 * 1024 if user.is_admin else 0


@router.post("/admin/services/new", name="admin.services.create")
@accepts_large_body(_builder_allowance)
async def post_new_service(request: Request, session: SessionDep, user: AdminUser) -> Response:
    form, action, _base = await _posted(request)
    return await run_in_threadpool(_act, request, session, user, form, action, service=None,
                                   base_version=None)


@router.post("/admin/services/preview", name="admin.services.preview")
@accepts_large_body(_builder_allowance)
async def preview_service(request: Request, session: SessionDep, user: AdminUser) -> Response:
    form, _action, _base = await _posted(request)
    return await run_in_threadpool(
        lambda: render(request, BUILDER, _preview_context(session, form), block="preview"))


@router.get("/admin/services/{slug}/edit", name="admin.services.edit")
def edit_service(
    request: Request, session: SessionDep, user: AdminUser, service: ServiceForAdmin,
    version: NumberQuery = None,
) -> Response:
    current = current_version(session, service)
    source = _version(session, service, version) if version else current
    notice = None
    if source.id != current.id:
        notice = (f"This is version {source.number}. Saving it makes it version "
                  f"{current.number + 1}; every version stays in the history.")
    return _builder(request, session, form_of(definition_of(source)), service=service,
                    base_version=current.number, notice=notice)


@router.post("/admin/services/{slug}/edit", name="admin.services.update")
@accepts_large_body(_builder_allowance)
async def post_service_edit(
    request: Request, session: SessionDep, user: AdminUser, service: ServiceForAdmin,
) -> Response:
    form, action, base = await _posted(request, slug=service.slug)
    return await run_in_threadpool(_edit, request, session, user, service, form, action, base)


def _edit(request: Request, session: SessionDep, user: AdminUser, service: Service,
          form: BuilderForm, action: str, base: str) -> Response:
    # The version the admin started from; a form without it is taken as up to date.
    base_version = (int(base) if base.isdigit() and len(base) < 10
                    else current_version(session, service).number)
    return _act(request, session, user, form, action, service=service,
                base_version=base_version)


# --- a service's versions ----------------------------------------------------------------


@router.get("/admin/services/{slug}", name="admin.services.show")
def show_service(
    request: Request, session: SessionDep, user: AdminUser, service: ServiceForAdmin,
    from_: Annotated[int | None, Query(alias="from", ge=1, le=MAX_ID)] = None,
    to: NumberQuery = None, saved: NumberQuery = None, unchanged: bool = False,
) -> Response:
    versions = versions_of(session, service)
    current = current_version(session, service)
    diff = None
    if from_ and to:
        diff = diff_definitions(_version(session, service, from_).definition,
                                _version(session, service, to).definition)
    notice = None
    if saved:
        notice = f"Saved as version {saved}."
    elif unchanged:
        notice = (f"No changes: the definition is the same as version {current.number}, "
                  "so no new version was made.")
    return render(request, "admin/service.html", {
        "nav": "admin", "service": service, "current": current, "versions": versions,
        "definition": definition_of(current), "diff": diff, "from_number": from_,
        "to_number": to, "notice": notice, "show": shown_value,
        "team_names": {slug: team.name for slug, team in teams_by_slug(session).items()},
    })


@router.get("/admin/services/{slug}/export", name="admin.services.export")
def export_service(
    session: SessionDep, user: AdminUser, service: ServiceForAdmin, version: NumberQuery = None,
) -> Response:
    """The service's file, named after its slug so that it imports back as it is (an
    older version too: importing that makes it the current one again)."""
    source = _version(session, service, version) if version else current_version(session, service)
    return Response(
        service_to_toml(definition_of(source)), media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{service.slug}.toml"'},
    )
