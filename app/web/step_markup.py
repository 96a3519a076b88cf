"""One step of a request (the request page, its live poll, the task panel) as markup:
Python, not a Jinja macro, for the reason of app.web.event_markup: the macro, with the
five macros and filters it called, was over a quarter of the request page's rendering (py-spy,
SQLite 20k). The markup, whitespace included, is the byte-for-byte output of the macro
it replaces (templates/requests/_request_parts.html's step_item, which now calls this);
tests/test_step_markup.py renders every case both ways."""

from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from app.format.definitions import reflowed
from app.web.task_row_html import STATE_LABELS
from app.web.times import due_label, is_late, moment

_APPROVAL = ' <span class="badge">approval</span>'
_OVERDUE = ' <span class="badge overdue">Overdue</span>'


def paragraphs(text: str | None) -> Markup:
    """Catalog files wrap long lines; a blank line is what separates paragraphs (the
    templates' `paragraphs` filter too)."""
    return Markup("".join(f"<p>{escape(block)}</p>"
                          for block in reflowed(text or "").split("\n\n") if block))


def step_html(step: Any, now: datetime | None, detail: Any, viewer: Any, access: Any,
              user: Any, csrf_token: str) -> Markup:
    """A StepLine (app.reads.request_detail) as its <li>, for `viewer` (their teams act
    on it) with `access` (rule 7: the requester's own approval)."""
    t = step.task
    state, task_id = t.state, escape(t.id)
    late = is_late(t, now)
    label = escape(STATE_LABELS.get(state, state))
    head = (
        f'\n<li class="step state-{escape(state)}{" is-overdue" if late else ""}" '
        f'id="step-{task_id}">\n  <div class="line-head"><strong>{t.position + 1}. '
        f'{escape(t.step_name)}</strong>'
        f'{_APPROVAL if t.kind == "approval" else ""}'
        f' <span class="badges"><span class="badge state-{escape(state)}">{label}</span>'
        f'{_OVERDUE if late else ""}</span></div>\n  ')
    active = state in ("open", "claimed")
    if state == "skipped":
        reason = f": {escape(step.skip_reason)}" if step.skip_reason else " for this request"
        body = f'\n  <p class="skip-reason">Not needed{reason}</p>\n  '
    else:
        assignee = f" · {escape(step.assignee_name)}" if step.assignee_name else ""
        if active:
            when = f" · for {moment(t.state_changed_at, 'age', 'Since')}"
        elif t.closed_at:
            when = f" · {moment(t.closed_at)}"
        else:
            when = ""
        due = f" · {due_label(t, now)}" if t.due_at and active else ""
        body = (f'\n  <p class="muted">{escape(step.team_name)}{assignee}\n    {when}{due}'
                f'</p>\n  ')
    expected = detail.expected
    sentence = (f'<p class="muted expected-step">{escape(expected.steps[t.id])}</p>'
                if expected and t.id in expected.steps else "")
    parts = [head, body, f"\n  {sentence}\n  "]
    if t.team_id in viewer.team_ids and state != "skipped":
        parts.append(_actions(step, t, access, user, csrf_token, active))
    parts.append("\n</li>")
    return Markup("".join(parts))


def _actions(step: Any, t: Any, access: Any, user: Any, csrf_token: str,
             active: bool) -> str:
    """What the step's team sees: the instructions, and the task's buttons."""
    task_id = escape(t.id)
    instructions = (f"<details><summary>Instructions</summary>"
                    f"{paragraphs(step.instructions)}</details>" if step.instructions else "")
    parts = [f"\n    {instructions}\n    "]
    if active:
        open_ = t.state == "open"
        approval = t.kind == "approval"
        # Rule 7: the requester decides an approval of their own request only when its
        # step allows it.
        decides = not approval or not access.is_requester or step.requester_may_approve
        claim = (f'<button formaction="/tasks/{task_id}/claim">Claim</button>'
                 if open_ and decides else "")
        release = (f'<button formaction="/tasks/{task_id}/release">Release</button>'
                   if t.state == "claimed" else "")
        parts.append(
            f'\n    \n    \n    <form method="post" class="task-actions">\n      '
            f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
            f'<input type="hidden" name="back" value="/requests/{escape(t.request_id)}">'
            f'\n      {claim}\n      {release}\n      ')
        if not decides:
            parts.append('\n      <p class="muted own-approval">Your own request: a teammate '
                         'approves or rejects it.</p>\n      ')
        elif open_ or t.assignee_id == user.id:
            label, placeholder = (
                ("Reason for the requester (required to reject)",
                 "Reason, shown to the requester") if approval else
                ("Note for the requester (optional)", "Note to the requester (optional)"))
            buttons = (
                f'\n      <button class="primary" formaction="/tasks/{task_id}/approve">'
                f'Approve</button>\n      <button class="danger" '
                f'formaction="/tasks/{task_id}/reject">Reject</button>\n      '
                if approval else
                f'\n      <button class="primary" formaction="/tasks/{task_id}/complete">'
                f'Complete</button>\n      ')
            parts.append(
                f'\n      <label for="note-{task_id}" class="visually-hidden">{label}</label>'
                f'\n      <input type="text" id="note-{task_id}" name="note" '
                f'placeholder="{placeholder}">\n      {buttons}\n      ')
        parts.append("\n    </form>\n    ")
    parts.append("\n  ")
    return "".join(parts)
