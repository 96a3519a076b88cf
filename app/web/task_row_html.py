"""A task's row in a list (a team queue, "my work", the overview's drill-down), written
by Python rather than by a template: the one place its markup lives.

Every list page renders fifty of these, and through Jinja a row cost about 85 us (its
~40 attribute lookups, ~25 escapes each making a Markup, an include copying the page's
context): 4.4 ms of a 50-row queue page, most of its rendering. Here the same markup
costs a fraction of that (bench/RESULTS.md, issue 18). Templates call it through two
globals: `task_rows(rows)` for a list's rows, `task_row(row)` for one (after an
action, in a panel's out-of-band update); both read what else the row depends on
(view, bulk, now, error, message, oob, back, here, csrf_token, the viewer, and
actions_column) from the calling template's context, as the include it replaces did.

Every text that comes from data is escaped as markupsafe's `escape` escapes it, as
Jinja's autoescape did (`_escaped`, the same characters and entities, as a plain str);
numbers, states and kinds are the app's own words and ids.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import escape

from app.reads.task_rows import TaskRow
from app.reads.teammates import Teammates
from app.storage.models import utcnow
from app.web.times import age, age_short, clock_now, due_label, exact, iso, viewer_zone
from app.web.viewer import Viewer

try:  # markupsafe's own escaping, without the Markup that `escape` wraps it in
    from markupsafe import _escape_inner as _escape_text
except ImportError:  # pragma: no cover - an older or newer markupsafe
    def _escape_text(text: str, /) -> str:
        return str(escape(text))


def _escaped(value: Any) -> str:
    """`escape(value)` as a str: a row writes about eight texts, fifty rows a page, and
    the Markup each `escape` makes cost more than the escaping (0.47 against 0.08 us).
    Markup passes as is, as `escape` lets it."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return _escape_text(str(value))


STATE_LABELS = {
    "waiting": "Waiting", "open": "Open", "claimed": "Claimed", "done": "Done",
    "approved": "Approved", "rejected": "Rejected", "skipped": "Not needed",
    "cancelled": "Cancelled", "completed": "Completed",
}


class RowSetting:
    """What every row of one list shares: who looks, from which page, how."""

    __slots__ = ("actions_column", "back", "bulk", "csrf_token", "error", "message",
                 "moment_now", "now", "oob", "team_ids", "user_id", "view", "_form_tail",
                 "_panel_query")

    def __init__(self, *, user_id: int | None, team_ids: Iterable[int], view: str,
                 bulk: bool, now: datetime | None, csrf_token: str, back: str,
                 error: str | None = None, message: str | None = None, oob: bool = False,
                 actions_column: bool = True):
        self.user_id = user_id
        self.team_ids = frozenset(team_ids)
        self.view = view
        self.bulk = bulk
        self.now = now
        self.csrf_token = csrf_token
        self.back = back
        self.error = error
        self.message = message
        self.oob = oob
        self.actions_column = actions_column
        # What the rows' ages count from: the page's clock (app.web.times), read once.
        self.moment_now = clock_now()
        # The hidden inputs every row's form repeats, escaped once a list.
        self._form_tail = (
            f'      <input type="hidden" name="csrf_token" value="{escape(csrf_token)}">\n'
            f'      <input type="hidden" name="view" value="{escape(view)}">\n'
            f'      <input type="hidden" name="back" value="{escape(back)}">\n')
        self._panel_query = f"?view={escape(view)}" if view in ("queue", "mywork") else ""


def task_row_html(row: TaskRow, setting: RowSetting) -> str:
    """One row's <tr> (see the module)."""
    t = row.task
    task_id = t.id
    state = t.state
    now = setting.now
    late = bool(t.due_at and now and state in ("open", "claimed") and t.due_at < now)
    mine = t.assignee_id == setting.user_id
    can_act = t.team_id in setting.team_ids
    # Rule 7: an approval of the viewer's own request is decided by someone else, unless
    # its step allows it; nothing here offers to claim or decide it.
    decides = row.may_decide(setting.user_id)
    number = row.request.number
    step = _escaped(t.step_name)
    title = _escaped(row.request.title)
    view = setting.view
    moment_now = setting.moment_now
    parts = [
        f'<tr id="task-{task_id}"', ' hx-swap-oob="true"' if setting.oob else "",
        f' class="task-row state-{state}', " is-overdue" if late else "",
        " has-error" if setting.error else "", '">\n',
    ]
    if setting.bulk:
        parts.append(f'  <td class="pick"><input type="checkbox" name="task" value="{task_id}" '
                     f'form="bulk-form" class="bulk-pick" aria-label="Select {number} {step}">'
                     '</td>\n')
    parts.append(
        f'  <td data-label="Request" class="request-cell"><a href="/requests/{t.request_id}">'
        f'<strong>{number}</strong></a> <span class="title">{title}</span></td>\n'
        f'  <td data-label="Step"><span class="clip">{step}</span>'
        + (' <span class="badge">approval</span>' if t.kind == "approval" else "")
        + (f' <span class="muted team-name">{_escaped(row.team_name)}</span>'
           if view != "queue" else "")
        + f'</td>\n  <td data-label="Requester">{_escaped(row.requester_name)}</td>\n')
    # On a wide screen the age is short ("12d", drawn by baton.css from data-short) and
    # never wraps; the exact age stays the cell's text, for screen readers and phones.
    opened = t.opened_at
    if opened is None:
        parts.append('  <td data-label="Age" class="age">—</td>\n')
    else:
        since = exact(opened)  # Baton's own words and digits, as due_label's
        opened_age = age(opened, moment_now)
        parts.append(
            f'  <td data-label="Age" class="age"><time datetime="{iso(opened)}" '
            f'title="{opened_age}, open since {since}" '
            f'data-short="{age_short(opened, moment_now)}"><span class="age-exact">'
            f'{opened_age}</span><span class="visually-hidden"> (Open since {since})</span>'
            '</time></td>\n')
    parts.append(f'  <td data-label="Due" class="due-cell">{due_label(t, now)}</td>\n')
    if row.assignee_name:
        assignee = _escaped(row.assignee_name)
        if state == "claimed":
            changed = t.state_changed_at
            held = age(changed, moment_now)
            assignee += (
                f' <time class="muted" datetime="{iso(changed)}" title="Claimed {held} ago" '
                f'data-short="(claimed {age_short(changed, moment_now)})">'
                '<span class="age-exact">'
                f'(claimed {held} ago<span class="visually-hidden"> '
                f'({exact(changed)})</span>)</span></time>')
    else:
        assignee = '<span class="muted">—</span>'
    parts.append(
        f'  <td data-label="Assignee">{assignee}</td>\n'
        f'  <td data-label="State"><span class="badge state-{state}">'
        f'{STATE_LABELS.get(state, state)}</span>'
        + (' <span class="badge overdue">Overdue</span>' if late else "") + "</td>\n")
    if setting.actions_column:
        # One line: the task's next step (Claim an open task, Complete one's own; an
        # approval is decided in the panel, beside its answers), and the panel with the
        # rest: Release, Hand to, Assign, the note (app.web.routes.task_panel). The
        # link's name says which task without the request's number, the name of the
        # row's first link.
        parts.append('  <td data-label="Actions" class="actions">\n')
        if setting.error:
            parts.append(f'    <p class="field-error" role="alert" id="task-{task_id}-error">'
                         f'{_escaped(setting.error)}</p>\n')
        elif setting.message:
            parts.append(f'    <p class="ok" role="status">{_escaped(setting.message)}</p>\n')
        if can_act and state in ("open", "claimed"):
            parts.append(f'    <form method="post" class="task-actions" '
                         f'hx-target="#task-{task_id}" hx-swap="outerHTML">\n'
                         + setting._form_tail)
            if state == "open" and decides:
                parts.append(f'      <button formaction="/tasks/{task_id}/claim" '
                             f'hx-post="/tasks/{task_id}/claim">Claim</button>\n')
            if mine and decides and t.kind != "approval":
                parts.append(f'      <button class="primary" formaction="/tasks/{task_id}/'
                             f'complete" hx-post="/tasks/{task_id}/complete">Complete'
                             '</button>\n')
            parts.append("    </form>\n")
        review = (can_act and decides and t.kind == "approval"
                  and (state == "open" or mine))
        query = setting._panel_query
        panel = (f' hx-get="/tasks/{task_id}{query}" hx-target="#task-panel" '
                 'hx-swap="outerHTML"' if query else "")
        parts.append(
            f'    <a href="/tasks/{task_id}{query}" class="button open-panel'
            + (' primary" data-review' if review else '"') + panel + ">"
            + ("Review" if review else "Open")
            + f'<span class="visually-hidden"> {step}: {title}</span></a>\n  </td>\n')
    parts.append("</tr>\n")
    return "".join(parts)


def _setting(context: Context) -> RowSetting:
    """The row's setting from a template's context, as the include it replaces saw it."""
    def value(name: str, default: Any = None) -> Any:
        found = context.get(name, default)
        return default if found is None or _undefined(found) else found

    viewer = value("viewer")
    user = value("user")
    actions_column = context.get("actions_column")
    return RowSetting(
        user_id=user.id if user is not None else None,
        team_ids=viewer.team_ids if viewer is not None else (),
        view=value("view", ""), bulk=bool(value("bulk", False)), now=value("now"),
        csrf_token=value("csrf_token", ""), back=value("back") or value("here", ""),
        error=value("error"), message=value("message"), oob=bool(value("oob", False)),
        actions_column=(actions_column is None or _undefined(actions_column)
                        or bool(actions_column)),
    )


def _undefined(value: Any) -> bool:
    from jinja2 import Undefined
    return isinstance(value, Undefined)


class WrittenHtml:
    """HTML written here, handed to a template as what it is (`__html__`), not as a
    Markup: Jinja's autoescape makes a Markup of whatever `__html__` returns, and from a
    str that is a plain copy (6 us for a queue page's rows), where from a Markup it went
    through str's own path for a subclass, which scans the text again when it is not
    all ASCII (an em dash is enough): 170 us a queue page.

    Invariant: the text is markup as it stands; every text from data in it was escaped
    where it was written (`_escaped`)."""

    __slots__ = ("_text",)

    def __init__(self, text: str):
        self._text = text

    def __html__(self) -> str:
        return self._text

    def __str__(self) -> str:
        return self._text


@pass_context
def task_rows(context: Context, rows: Iterable[TaskRow]) -> WrittenHtml:
    """The rows of a list, for a template (`{{ task_rows(page.rows) }}`)."""
    setting = _setting(context)
    return WrittenHtml("".join([task_row_html(row, setting) for row in rows]))


def teammate_lists(teammates: Teammates) -> WrittenHtml:
    """The "Hand to" suggestions: a <datalist> of each team's active members, once a
    page (`{{ teammate_lists(teammates) }}`). Python, not a template loop: a team of
    sixty cost a quarter of a millisecond of a queue page through Jinja."""
    return WrittenHtml("".join([
        f'<datalist id="teammates-{team_id}">'
        + "".join([f'<option value="{_escaped(person.email)}">{_escaped(person.name)}</option>'
                   for person in people])
        + "</datalist>\n"
        for team_id, people in teammates.lists()]))


def row_answered(row: TaskRow, viewer: Viewer, *, view: str, back: str,
                 error: str | None, message: str | None) -> str:
    """One row outside a template (a task action's answer): the setting the row's
    template would read from its context, and the viewer's time zone."""
    user = viewer.user
    setting = RowSetting(
        user_id=user.id if user else None, team_ids=viewer.team_ids, view=view,
        bulk=view == "queue", now=utcnow(), csrf_token=viewer.csrf_token, back=back,
        error=error, message=message)
    with viewer_zone(user.time_zone if user else None):
        return task_row_html(row, setting)


@pass_context
def task_row(context: Context, row: TaskRow) -> WrittenHtml:
    """One row, for a template (`{{ task_row(row) }}`), with the error, message and oob
    of the calling template's context."""
    return WrittenHtml(task_row_html(row, _setting(context)))
