# ruff: noqa: E501  (the reference macro is kept as it was written, long lines and all)
"""The timeline's events as markup in Python (app.web.event_markup.event_html) are the
bytes the Jinja macro made before (kept here as the reference, its text unchanged), for
every kind of event, with and without a via, a note, an internal flag, a skip reason,
and text that must be escaped."""

from datetime import UTC, datetime
from itertools import product
from types import SimpleNamespace

from app.storage.models import EventKind
from app.web.event_markup import event_html
from app.web.render import templates
from app.web.times import viewer_zone

REFERENCE = """{% macro event_item(line) -%}
    {% set e = line.event %}
    {% if e.kind in ('task_opened', 'task_skipped', 'task_cancelled', 'request_completed', 'request_rejected') %}
    {# Consequences of the action just above, recorded as that person's action. #}
    <li class="event consequence kind-{{ e.kind }}" id="event-{{ e.id }}">
      <p title="Recorded as {{ line.actor_name }}'s action{% if e.via %} via {{ e.via }}{% endif %}">
      {% if e.kind == 'task_opened' %}<em>{{ line.step_name }}</em> opened for its team
      {% elif e.kind == 'task_skipped' %}<em>{{ line.step_name }}</em> is not needed{% if line.skip_reason %}: {{ line.skip_reason }}{% endif %}
      {% elif e.kind == 'task_cancelled' %}<em>{{ line.step_name }}</em> cancelled
      {% elif e.kind == 'request_completed' %}Every step is finished: the request is complete
      {% else %}The request is rejected{% endif %}
      <span class="muted">{{ e.created_at | moment }}</span></p>
    </li>
    {% else %}
    <li class="event kind-{{ e.kind }}{% if e.is_internal %} internal{% endif %}" id="event-{{ e.id }}">
      <p><strong>{{ line.actor_name }}</strong>
      {% if e.kind == 'submitted' %}asked for this
      {% elif e.kind == 'claimed' %}claimed <em>{{ line.step_name }}</em>
      {% elif e.kind == 'released' %}released <em>{{ line.step_name }}</em> to the team
      {% elif e.kind == 'handed' %}handed <em>{{ line.step_name }}</em> on
      {% elif e.kind == 'assigned' %}assigned <em>{{ line.step_name }}</em> as the team's lead
      {% elif e.kind == 'completed' %}completed <em>{{ line.step_name }}</em>
      {% elif e.kind == 'approved' %}approved <em>{{ line.step_name }}</em>
      {% elif e.kind == 'rejected' %}rejected <em>{{ line.step_name }}</em>
      {% elif e.kind == 'request_cancelled' %}cancelled the request
      {% elif e.kind == 'comment' %}commented
      {% elif e.kind == 'note' %}added an internal note <span class="badge">internal</span>
      {% else %}{{ e.kind }}{% endif %}
      {% if e.via %}<span class="muted via">via {{ e.via }}</span>{% endif %}
      <span class="muted">{{ e.created_at | moment }}</span></p>
      {% if e.note %}<div class="prose note">{{ e.note }}</div>{% endif %}
    </li>
    {% endif %}
{%- endmacro %}
"""


def test_every_kind_of_event_is_the_macro_s_markup():
    macro = templates.env.from_string(REFERENCE).module.event_item  # type: ignore[attr-defined]
    at = datetime(2026, 12, 1, 3, 4, tzinfo=UTC)
    kinds = [*EventKind, "something_new"]
    seen = 0
    for kind, via, note, internal, step, reason in product(
            kinds, [None, "e-mail <x>"], ["", "A note & <b>"], [False, True],
            ["Laptop <setup>", None], ["", "not needed: “fast”"]):
        event = SimpleNamespace(id=41, kind=kind, via=via, note=note, is_internal=internal,
                                created_at=at)
        line = SimpleNamespace(event=event, actor_name="Ann & <Bo>", step_name=step,
                               skip_reason=reason)
        for zone in (None, "Europe/Berlin"):
            with viewer_zone(zone):
                assert str(event_html(line)) == str(macro(line)), (kind, via, note)
                seen += 1
    assert seen > 1000
