"""One event of a request's timeline as markup (the request page, its live poll and the
task page): Python, not a Jinja macro, for the same reason as app.web.render.due_label:
a macro call per event, with its context and its `moment`, was a third of a request
page's rendering (py-spy, 20k). The markup, whitespace included, is the byte-for-byte
output of the macro it replaces (templates/requests/_request_parts.html's event_item,
which now calls this); tests/test_event_markup.py renders every kind both ways."""

from typing import Any

from markupsafe import Markup, escape

from app.web.times import moment

# Consequences of the action just above, recorded as that person's action.
_CONSEQUENCES = frozenset(
    ("task_opened", "task_skipped", "task_cancelled", "request_completed", "request_rejected"))
# What the actor did, before the step's name (a "{}" is the step's name).
_DID = {
    "submitted": "asked for this",
    "claimed": "claimed <em>{}</em>",
    "released": "released <em>{}</em> to the team",
    "handed": "handed <em>{}</em> on",
    "assigned": "assigned <em>{}</em> as the team's lead",
    "completed": "completed <em>{}</em>",
    "approved": "approved <em>{}</em>",
    "rejected": "rejected <em>{}</em>",
    "request_cancelled": "cancelled the request",
    "comment": "commented",
    "note": 'added an internal note <span class="badge">internal</span>',
}
_N = "\n      "


def event_html(line: Any) -> Markup:
    """A TimelineLine (app.reads.request_detail) as its <li>."""
    e = line.event
    kind = e.kind
    when = moment(e.created_at)
    actor = escape(line.actor_name)
    if kind in _CONSEQUENCES:
        step = escape(line.step_name)
        if kind == "task_opened":
            what = f"<em>{step}</em> opened for its team{_N}"
        elif kind == "task_skipped":
            reason = line.skip_reason
            what = (f"<em>{step}</em> is not needed"
                    f"{f': {escape(reason)}' if reason else ''}{_N}")
        elif kind == "task_cancelled":
            what = f"<em>{step}</em> cancelled{_N}"
        elif kind == "request_completed":
            what = f"Every step is finished: the request is complete{_N}"
        else:
            what = "The request is rejected"
        via = f" via {escape(e.via)}" if e.via else ""
        return Markup(
            f'\n    \n    \n    <li class="event consequence kind-{escape(kind)}" '
            f'id="event-{escape(e.id)}">{_N}<p title="Recorded as {actor}\'s action{via}">'
            f'{_N}{what}{_N}<span class="muted">{when}</span></p>\n    </li>\n    ')
    did = _DID.get(kind)
    if did is None:
        text = f"{escape(kind)}"
    else:
        text = did.format(escape(line.step_name)) if "{}" in did else did
        text += _N
    via = f'<span class="muted via">via {escape(e.via)}</span>' if e.via else ""
    note = f'<div class="prose note">{escape(e.note)}</div>' if e.note else ""
    internal = " internal" if e.is_internal else ""
    return Markup(
        f'\n    \n    <li class="event kind-{escape(kind)}{internal}" id="event-{escape(e.id)}">'
        f'{_N}<p><strong>{actor}</strong>{_N}{text}{_N}{via}{_N}'
        f'<span class="muted">{when}</span></p>{_N}{note}\n    </li>\n    ')
