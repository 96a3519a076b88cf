"""How a change was made, when not by a person's own hand in the pages: the one hook
the rules receive for it (issue 15). The JSON API runs a rule inside `acting_via`, and
app.rules.progress.record_event writes the label on every timeline event the rule
records ("via API token <name>"), so no rule takes a new argument or is written twice.

A context variable, so it never leaks between requests or threads (as
app.storage.clock.frozen_at). The API also hangs on it what its Idempotency-Key needs
from the rule's transaction (`events`, `on_commit`: app.web.api.idempotency)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

MAX_VIA = 80


@dataclass
class Acting:
    via: str
    # The events the rule recorded in its transaction (how many, and the first one and
    # its request), so that what is kept with its commit can say what it made.
    events: int = 0
    first: dict[str, Any] = field(default_factory=dict)
    on_commit: Callable[["Acting"], None] | None = None


_acting: ContextVar[Acting | None] = ContextVar("baton_acting", default=None)


def current() -> Acting | None:
    return _acting.get()


def token_label(name: str) -> str:
    return f"API token {name}"[:MAX_VIA]


@contextmanager
def acting_via(acting: Acting) -> Iterator[Acting]:
    token = _acting.set(acting)
    try:
        yield acting
    finally:
        _acting.reset(token)
