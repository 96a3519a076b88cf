"""Rendering pages and HTMX fragments.

One URL serves the whole page, or, for an HTMX request, one named block of the same
template. Responses say `Vary: HX-Request` so caches keep the two apart.

HTMX 2 does not swap 4xx responses by default; base.html configures it to swap 409 and
422 (a refused action, an invalid form) the way it swaps a 200, so that the message the
server rendered lands where the user is looking.
"""

import json
from datetime import datetime
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
from app.storage.models import utcnow
from app.web.auth import Viewer
from app.web.times import exact, moment, span, viewer_zone

templates = Jinja2Blocks(directory=str(ROOT / "templates"))
# Templates are read once per process: checking every file's time on each render cost
# about a tenth of a queue page. Restart the server to see an edited template.
templates.env.auto_reload = False

STATE_LABELS = {
    "waiting": "Waiting", "open": "Open", "claimed": "Claimed", "done": "Done",
    "approved": "Approved", "rejected": "Rejected", "skipped": "Not needed",
    "cancelled": "Cancelled", "completed": "Completed",
}


def age(since: datetime | None, now: datetime | None = None) -> str:
    """A short, exact-enough age: 45 s, 12 min, 5 h, 3 d 4 h, 6 w."""
    if since is None:
        return "—"
    return span(max(0, int(((now or utcnow()) - since).total_seconds())))


def age_short(since: datetime | None, now: datetime | None = None) -> str:
    """An age for a narrow column, one unit and no space: 45s, 12m, 5h, 12d, 6w (a queue
    row shows it with the exact age beside it for hover and screen readers)."""
    if since is None:
        return "—"
    seconds = max(0, int(((now or utcnow()) - since).total_seconds()))
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit == "w" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


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


def is_late(task: Any, now: datetime | None) -> bool:
    """Whether an open or claimed task is past its due time (display only: Baton tells
    no one, it shows it)."""
    return bool(task.due_at and now and task.state in ("open", "claimed")
                and task.due_at < now)


def due_label(task: Any, now: datetime | None) -> Markup:
    """An open or claimed task's due time: "due in 3 h" or "overdue by 2 d", the exact
    time in the <time> element; nothing for a task without a target or out of a queue.
    Python, not a macro: it is called for every row of every list of tasks (and an
    f-string, not Markup.format, which cost a tenth of a 50-row list's rendering)."""
    due = task.due_at
    if not (due and now and task.state in ("open", "claimed")):
        return Markup("")
    if due < now:
        return Markup(f'<time class="due is-overdue" datetime="{escape(iso(due))}" '
                      f'title="Was due {escape(exact(due))}">overdue by '
                      f'{escape(age(due, now))}</time>')
    return Markup(f'<time class="due" datetime="{escape(iso(due))}" title="Due '
                  f'{escape(exact(due))}">due in {escape(age(now, due))}</time>')


templates.env.globals["is_late"] = is_late
templates.env.filters["bell_text"] = bell_text
templates.env.globals["due_label"] = due_label
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
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
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
