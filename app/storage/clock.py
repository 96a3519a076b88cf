"""The time Baton records: timezone-aware UTC (SQLModel stores it as such on both
SQLite and PostgreSQL).

`frozen_at` lets the demo seed (and tests) record a past moment without threading a
`now` argument through every rule; it is a context variable, so it never leaks between
requests or threads.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_frozen: ContextVar[datetime | None] = ContextVar("baton_frozen_time", default=None)


def utcnow() -> datetime:
    return _frozen.get() or datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)
