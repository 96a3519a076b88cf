# ruff: noqa: E501  (the reference macro is kept as it was written, long lines and all)
"""A request's steps as markup in Python (app.web.step_markup.step_html) are the bytes
the Jinja macro made before (kept here as the reference, its text unchanged), for every
state and kind of step, on the viewer's team or not, as the requester or not, with and
without an assignee, a skip reason, instructions, a due time, an expectation, and text
that must be escaped."""

from datetime import UTC, datetime, timedelta
from itertools import product
from types import SimpleNamespace

from app.storage.clock import frozen_at
from app.web.render import templates
from app.web.step_markup import step_html
from app.web.times import viewer_zone

REFERENCE = """{% from "_macros.html" import state_badge, due, overdue_badge, is_overdue %}
{% macro step_item(step, now, detail, viewer, access, user, csrf_token) -%}
{% set t = step.task %}
<li class="step state-{{ t.state }}{% if is_overdue(t, now) %} is-overdue{% endif %}" id="step-{{ t.id }}">
  <div class="line-head"><strong>{{ t.position + 1 }}. {{ t.step_name }}</strong>{% if t.kind == 'approval' %} <span class="badge">approval</span>{% endif %} <span class="badges">{{ state_badge(t.state) }}{% if is_overdue(t, now) %} {{ overdue_badge(t, now) }}{% endif %}</span></div>
  {% if t.state == 'skipped' %}
  <p class="skip-reason">Not needed{% if step.skip_reason %}: {{ step.skip_reason }}{% else %} for this request{% endif %}</p>
  {% else %}
  <p class="muted">{{ step.team_name }}{% if step.assignee_name %} · {{ step.assignee_name }}{% endif %}
    {% if t.state in ('open', 'claimed') %} · for {{ t.state_changed_at | moment("age", "Since") }}{% elif t.closed_at %} · {{ t.closed_at | moment }}{% endif %}{% if t.due_at and t.state in ('open', 'claimed') %} · {{ due(t, now) }}{% endif %}</p>
  {% endif %}
  {% if detail.expected and t.id in detail.expected.steps %}<p class="muted expected-step">{{ detail.expected.steps[t.id] }}</p>{% endif %}
  {% if t.team_id in viewer.team_ids and t.state != 'skipped' %}
    {% if step.instructions %}<details><summary>Instructions</summary>{{ step.instructions | paragraphs }}</details>{% endif %}
    {% if t.state in ('open', 'claimed') %}
    {# Rule 7: the requester decides an approval of their own request only when its step
       allows it; otherwise nothing here offers to claim or decide it. #}
    {% set decides = t.kind != 'approval' or not access.is_requester or step.requester_may_approve %}
    <form method="post" class="task-actions">
      <input type="hidden" name="csrf_token" value="{{ csrf_token }}"><input type="hidden" name="back" value="/requests/{{ t.request_id }}">
      {% if t.state == 'open' and decides %}<button formaction="/tasks/{{ t.id }}/claim">Claim</button>{% endif %}
      {% if t.state == 'claimed' %}<button formaction="/tasks/{{ t.id }}/release">Release</button>{% endif %}
      {% if not decides %}
      <p class="muted own-approval">Your own request: a teammate approves or rejects it.</p>
      {% elif t.state == 'open' or t.assignee_id == user.id %}
      <label for="note-{{ t.id }}" class="visually-hidden">{% if t.kind == 'approval' %}Reason for the requester (required to reject){% else %}Note for the requester (optional){% endif %}</label>
      <input type="text" id="note-{{ t.id }}" name="note" placeholder="{% if t.kind == 'approval' %}Reason, shown to the requester{% else %}Note to the requester (optional){% endif %}">
      {% if t.kind == 'approval' %}
      <button class="primary" formaction="/tasks/{{ t.id }}/approve">Approve</button>
      <button class="danger" formaction="/tasks/{{ t.id }}/reject">Reject</button>
      {% else %}
      <button class="primary" formaction="/tasks/{{ t.id }}/complete">Complete</button>
      {% endif %}
      {% endif %}
    </form>
    {% endif %}
  {% endif %}
</li>
{%- endmacro %}"""

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
STATES = ("waiting", "open", "claimed", "done", "approved", "rejected", "skipped", "cancelled")


def _step(state: str, kind: str, *, assignee: int | None, due: timedelta | None,
          extras: bool) -> SimpleNamespace:
    task = SimpleNamespace(
        id=7, request_id=3, team_id=1, position=2, stage=1, step_name='Check <the> "kit"',
        kind=kind, state=state, assignee_id=assignee, opened_at=NOW - timedelta(hours=3),
        due_at=NOW + due if due is not None else None,
        state_changed_at=NOW - timedelta(hours=2),
        closed_at=NOW - timedelta(hours=1) if state not in ("open", "claimed", "waiting")
        else None)
    return SimpleNamespace(
        task=task, team_name="IT & <Ops>", assignee_name="Ann <A>" if assignee else None,
        instructions="Check it.\n\nThen <this>." if extras else "",
        skip_reason="only when <remote>" if extras else None,
        requester_may_approve=extras)


def test_every_step_is_the_markup_the_macro_made():
    macro = templates.env.from_string(REFERENCE).module.step_item  # type: ignore[attr-defined]
    cases = 0
    for (state, kind, assignee, due, extras, on_team, requester, expected) in product(
            STATES, ("task", "approval"), (None, 5, 9), (None, timedelta(hours=5),
                                                          timedelta(hours=-5)),
            (True, False), (True, False), (True, False), (True, False)):
        step = _step(state, kind, assignee=assignee, due=due, extras=extras)
        detail = SimpleNamespace(expected=SimpleNamespace(
            steps={7: "Usually <done> in 2 h"}) if expected else None)
        viewer = SimpleNamespace(team_ids={1} if on_team else {2})
        access = SimpleNamespace(is_requester=requester)
        user = SimpleNamespace(id=5)
        with frozen_at(NOW), viewer_zone("Europe/Paris"):  # ages that cannot move
            made = str(macro(step, NOW, detail, viewer, access, user, 'tok"<'))
            assert str(step_html(step, NOW, detail, viewer, access, user, 'tok"<')) == made, (
                state, kind, assignee, due, extras, on_team, requester, expected)
        cases += 1
    assert cases == 8 * 2 * 3 * 3 * 2 * 2 * 2 * 2
