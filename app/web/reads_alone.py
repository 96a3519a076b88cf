"""The seam "reads alone" (BATON_READS_ALONE, on by default): the routes that only read
and are asked most run their statements without a transaction around them on
PostgreSQL (app.storage.db.request_session, reads_alone). Every open request page asks
its poll every 15 s: no BEGIN and no COMMIT is two round trips of the four it took. The
request page itself, the page every requester opens, is two of six. A team's queue
page and its live poll likewise: the page every member opens, and asks again.

The queue page's one change, a member's "new tasks since you last looked" mark moved
when they open it (app.rules.team_looks), is one statement, which commits by itself
as it is sent (app.storage.db.one_statement_change).

Invariant: a route named here writes nothing but such a one-statement change; any other
write there would commit statement by statement, so it is refused
(tests/test_speed_switches.py checks that each route is a GET).

A task's action (a claim, a completion...) answers with the task's row, read after its
rule committed: that read goes alone too (`answer_alone`), two round trips of the
four it took, and closing the request then waits on nothing.
"""

from sqlalchemy import Connection
from sqlmodel import Session
from starlette.requests import HTTPConnection

from app.config import get_settings
from app.storage.db import statements_alone

READS_ALONE = frozenset({"requests.changes", "requests.show", "queues.changes",
                         "queues.show"})


def reads_alone(request: HTTPConnection) -> bool:
    """Whether the request's statements may go without a transaction."""
    route = request.scope.get("route")
    return get_settings().reads_alone and getattr(route, "name", None) in READS_ALONE


def answer_alone(session: Session) -> None:
    """After a post's rule has committed its change (or rolled it back, refused), what
    the request still reads for its answer goes without a transaction on PostgreSQL.
    The change is over: a write from here on is refused, as on a route named above.
    Nothing changes where the session is inside a transaction of its own (a test's) or
    the switch is off."""
    bind = session.get_bind()
    if (get_settings().reads_alone and isinstance(bind, Connection)
            and not session.in_transaction() and not bind.in_transaction()):
        statements_alone(bind)
