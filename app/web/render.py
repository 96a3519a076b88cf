"""Rendering pages and HTMX fragments.

One URL serves the whole page, or, for an HTMX request, one named block of the same
template. Responses say `Vary: HX-Request` so caches keep the two apart.

HTMX 2 does not swap 4xx responses by default; base.html configures it to swap 409 and
422 (a refused action, an invalid form) the way it swaps a 200, so that the message the
server rendered lands where the user is looking.
"""

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup, escape

from app.config import ROOT, get_settings
from app.format.conditions import ConditionError
from app.format.conditions import parse as parse_condition
from app.format.conditions import to_data as condition_data
from app.format.definitions import FIELD_TYPE_LABELS, reflowed
from app.format.numbers import number_text
from app.reads.inbox import bell_text
from app.web.auth import Viewer
from app.web.event_markup import event_html
from app.web.task_row_html import STATE_LABELS, task_row, task_rows, teammate_lists
from app.web.times import age, age_short, due_label, exact, is_late, iso, moment, viewer_zone

templates = Jinja2Blocks(directory=str(ROOT / "templates"))
# Templates are read once per process: checking every file's time on each render cost
# about a tenth of a queue page. Restart the server to see an edited template.
templates.env.auto_reload = False



def paragraphs(text: str | None) -> Markup:
    """Catalog files wrap long lines; a blank line is what separates paragraphs."""
    return Markup("".join(f"<p>{escape(block)}</p>"
                          for block in reflowed(text or "").split("\n\n") if block))


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def condition_json(text: str | None) -> str:
    """A condition's tree as JSON for the `field` macro's data-show-if ("" when there is
    none or it does not parse: the field is then always shown, and the server applies
    the rule regardless)."""
    if not text:
        return ""
    try:
        return json.dumps(condition_data(parse_condition(text)), separators=(",", ":"))
    except ConditionError:
        return ""


def service_options(services: Iterable[Any], selected: int | None) -> Markup:
    """A filter's <option>s of services (`{{ service_options(services, chosen_id) }}`):
    Python, not a template loop, which cost two microseconds an option (sixty on a
    queue page)."""
    return Markup("".join([
        f'<option value="{service.id}" {"selected" if service.id == selected else ""}>'
        f"{escape(service.name)}</option>" for service in services]))


templates.env.globals["is_late"] = is_late
templates.env.globals["service_options"] = service_options
templates.env.filters["bell_text"] = bell_text
templates.env.globals["due_label"] = due_label
templates.env.globals["task_row"] = task_row
templates.env.globals["task_rows"] = task_rows
templates.env.globals["teammate_lists"] = teammate_lists
templates.env.globals["event_html"] = event_html
templates.env.filters["condition_json"] = condition_json
templates.env.filters["number"] = number_text
templates.env.filters["paragraphs"] = paragraphs
templates.env.filters["file_size"] = file_size
templates.env.filters["age"] = age
templates.env.filters["age_short"] = age_short
templates.env.filters["moment"] = moment
templates.env.filters["exact"] = exact
templates.env.filters["iso"] = iso
templates.env.filters["state_label"] = lambda state: STATE_LABELS.get(state, state)
templates.env.globals["FIELD_TYPE_LABELS"] = FIELD_TYPE_LABELS
templates.env.globals["urlencode"] = lambda params: urlencode(
    {key: value for key, value in params.items() if value not in (None, "")}
)


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a fragment. A history restore (the Back button, with
    htmx's history cache off) wants the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def here(request: Request) -> str:
    """This page's address (path and query), for the forms that come back to it."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    viewer: Viewer = getattr(request.state, "viewer", None) or Viewer(user=None, csrf_token="")
    page = {
        "viewer": viewer,
        "user": viewer.user,
        "csrf_token": viewer.csrf_token,
        "demo_mode": get_settings().demo_mode,
        # This page's address, for the forms that come back to it (every task row's).
        "here": here(request),
        **(context or {}),
    }
    # Rendered here and now (TemplateResponse renders as it is made), in the viewer's zone.
    with viewer_zone(viewer.user.time_zone if viewer.user else None):
        response: Response = templates.TemplateResponse(
            request, name, page, status_code=status, headers=headers, block_name=block
        )
    response.headers["Vary"] = "HX-Request"
    return response


def safe_next(target: str | None) -> str:
    """Only local paths: never send someone to another site after an action."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def redirect(url: str, request: Request | None = None) -> Response:
    """303 for a plain form post; for HTMX, a client-side redirect it will follow."""
    if request is not None and is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
