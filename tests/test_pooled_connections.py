"""A pooled PostgreSQL connection that the server has ended is never handed out
(app.storage.db._check_on_checkout): the request that would have had it gets a new one.
tests/production/test_pg_restart.py restarts a whole private server under load; this
ends one backend of the test database's own pool, which is all it touches."""

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.storage.db import make_engine


def test_a_connection_the_server_ended_is_replaced_as_it_is_handed_out(engine: Engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to end a connection")
    pooled = make_engine(engine.url.render_as_string(hide_password=False),
                         pool_size=1, max_overflow=0)
    try:
        with pooled.connect() as connection:
            ended = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended})
            # Ended once its backend has gone (the signal is sent, not waited for).
            gone = False
            for _ in range(10_000):
                gone = not other.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": ended}).scalar_one()
                if gone:
                    break
            assert gone
        with pooled.connect() as connection:
            # Without the check this is the dead connection, and the statement fails.
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != ended
    finally:
        pooled.dispose()
