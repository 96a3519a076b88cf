"""Times as a viewer reads them (issue 16, item 6): in their own time zone, relative
("3 h ago") with the exact local time on hover and for screen readers.

Stored times are UTC (SQLite gives them back naive). A page is rendered in the zone of
the person it is for (User.time_zone, from their browser or their profile; UTC when
unknown): render() opens `viewer_zone` around the render, and the `moment` filter, the
one every template showing a time uses, reads it. A context variable rather than the
template's context, because macros imported without context (templates/_macros.html)
would not see the latter, and a page rendered for one person must never show another's
zone: each request runs in a context of its own.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from app.rules.inputs import time_zone_names
from app.storage.models import utcnow

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Clock:
    """The zone a page is rendered in, and the moment its relative times count from
    (one for the whole page, so that two rows of one list agree)."""

    zone: tzinfo
    now: datetime


_CLOCK: ContextVar[Clock | None] = ContextVar("baton_page_clock", default=None)


def zone_named(name: str | None) -> tzinfo:
    """The zone of that IANA name; UTC for none, or for a name this system does not know
    (a zone stored before the system's tz data dropped it must not break pages)."""
    if name and name in time_zone_names():
        return ZoneInfo(name)
    return UTC


@contextmanager
def viewer_zone(name: str | None, now: datetime | None = None) -> Iterator[Clock]:
    clock = Clock(zone=zone_named(name), now=now or utcnow())
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


def _clock() -> Clock:
    return _CLOCK.get() or Clock(zone=UTC, now=utcnow())


def clock_now() -> datetime:
    """The moment the page's relative times count from (now, outside a page)."""
    return _clock().now


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def exact(moment: datetime, zone: tzinfo | None = None) -> str:
    """"Fri 4 Dec 2026, 10:30 CET" in the page's zone. By hand: strftime costs several
    times more, and this runs for every row of a list."""
    local = _aware(moment).astimezone(zone or _clock().zone)
    return (f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}, "
            f"{local.hour:02d}:{local.minute:02d} {local.tzname()}")


def span(seconds: int) -> str:
    """A short, exact-enough length of time: 45 s, 12 min, 5 h, 3 d 4 h, 6 w."""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    if days < 14:
        hours = (seconds % 86400) // 3600
        return f"{days} d {hours} h" if hours else f"{days} d"
    return f"{days // 7} w"


def relative(moment: datetime, now: datetime) -> str:
    """"3 h ago", or "in 3 h" for a time still to come."""
    seconds = int((_aware(now) - _aware(moment)).total_seconds())
    if seconds >= 0:
        return "just now" if seconds < 10 else f"{span(seconds)} ago"
    return f"in {span(-seconds)}"


def moment(value: datetime | None, shown: str = "ago", label: str = "") -> Markup:
    """The one filter for a time on a page: a <time> element whose text is relative
    ("3 h ago", the default), the age alone ("age": "3 d 4 h", for a column headed Age)
    or the exact local time ("exact"), with the exact local time as its title (hover)
    and, for the relative forms, as hidden text a screen reader reads. `label` starts
    the title ("Open since …"). "—" for no time."""
    if value is None:
        return Markup("—")
    clock = _clock()
    when = exact(value, clock.zone)
    title = f"{label} {when}" if label else when
    stamp = escape(_aware(value).isoformat())
    if shown == "exact":
        return Markup(f'<time datetime="{stamp}">{escape(when)}</time>')
    if shown == "age":
        text = span(max(0, int((_aware(clock.now) - _aware(value)).total_seconds())))
    else:
        text = relative(value, clock.now)
    return Markup(f'<time datetime="{stamp}" title="{escape(title)}">{escape(text)}'
                  f'<span class="visually-hidden"> ({escape(title)})</span></time>')


# The ages and due times of a list of tasks (app.web.task_row_html; filters for the
# templates, app.web.render).


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


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def is_late(task: Any, now: datetime | None) -> bool:
    """Whether an open or claimed task is past its due time (display only: Baton tells
    no one, it shows it)."""
    return bool(task.due_at and now and task.state in ("open", "claimed")
                and task.due_at < now)


def due_label(task: Any, now: datetime | None) -> Markup:
    """An open or claimed task's due time: "due in 3 h" or "overdue by 2 d", the exact
    time in the <time> element; nothing for a task without a target or out of a queue.
    Python, not a macro: it is called for every row of every list of tasks (and an
    f-string, not Markup.format, which cost a tenth of a 50-row list's rendering).
    Nothing in it is escaped: exact, iso and age write only Baton's own words, digits
    and a time zone's abbreviation."""
    due = task.due_at
    if not (due and now and task.state in ("open", "claimed")):
        return Markup("")
    if due < now:
        return Markup(f'<time class="due is-overdue" datetime="{iso(due)}" '
                      f'title="Was due {exact(due)}">overdue by {age(due, now)}</time>')
    return Markup(f'<time class="due" datetime="{iso(due)}" title="Due '
                  f'{exact(due)}">due in {age(now, due)}</time>')
