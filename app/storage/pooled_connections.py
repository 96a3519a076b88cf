"""How a pooled PostgreSQL connection is known to be alive as a request takes it: the
pool's checks, and the keepalives that make a silently dropped connection look ended."""

import select
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

# TCP keepalives on PostgreSQL connections: a connection that a firewall, a load
# balancer or a lost host dropped without a word is found dead within about a minute of
# idling (the probes go unanswered, or are answered with a reset), so that its socket
# reads as ended and check_on_checkout replaces it before a request gets it.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}


def keepalives_for(url: str) -> dict[str, int]:
    """KEEPALIVES, but for what the database URL sets itself (its own wins). Settings of
    libpq's environment (PGKEEPALIVES...) are overridden: name them in the URL."""
    own = make_url(url).query
    return {name: value for name, value in KEEPALIVES.items() if name not in own}


def check_on_checkout(engine: Engine) -> None:
    """A pooled PostgreSQL connection is checked as it is handed out, so a database
    restart needs no restart of Baton: the first request after it gets a new connection,
    not a dead one. Checked without a round trip (SQLAlchemy's pool_pre_ping sends a
    SELECT at every checkout, a round trip a request): a server that ends a connection
    (a restart, a backend killed, an idle timeout) tells the client and closes its end,
    so the socket of an idle connection that has anything to read is a dead one. A
    healthy idle connection has nothing to read (Baton does not LISTEN). One dropped
    without a word is found by the keepalives (KEEPALIVES) after a minute of idling;
    used before that, it fails at its first statement: a 503, and the pool drops it
    (DATABASE_UNAVAILABLE). poll, not select: select refuses a socket numbered from
    1024, which a busy worker's are."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            ended = dbapi_connection.closed or _readable(dbapi_connection.fileno())
        except (OSError, ValueError):  # no socket to ask: as good as ended
            ended = True
        if ended:
            # The pool drops it and hands out another (a new one, at worst).
            raise DisconnectionError("the server has ended this connection")


def _readable(socket: int) -> bool:
    poller = select.poll()
    poller.register(socket, select.POLLIN)
    return bool(poller.poll(0))
