"""A pooled PostgreSQL connection that the server has ended is never handed out
(app.storage.pooled_connections): the request that would have had it gets a new one.
tests/production/test_pg_restart.py restarts a whole private server under load; this
ends one backend of the test database's own pool, which is all it touches."""

import os
import resource

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
            # With a timeout the server answers once the backend has gone, having told
            # its client so: a wait on the server, not on pg_stat_activity, whose rows
            # are a snapshot kept for the rest of the transaction that first reads them.
            assert other.execute(text("SELECT pg_terminate_backend(:pid, 30000)"),
                                 {"pid": ended}).scalar_one()
        with pooled.connect() as connection:
            # Without the check this is the dead connection, and the statement fails.
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != ended
    finally:
        pooled.dispose()


def test_the_check_works_on_a_socket_numbered_past_1024(engine: Engine):
    # A busy worker's sockets are numbered past 1024, which select() refuses (a 500 at
    # every checkout); poll() does not.
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to end a connection")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open only {hard} files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    taken = []
    pooled = make_engine(engine.url.render_as_string(hide_password=False),
                         pool_size=1, max_overflow=0)
    try:
        while not taken or taken[-1] < 1100:
            taken.append(os.open(os.devnull, os.O_RDONLY))
        with pooled.connect() as connection:
            assert connection.connection.dbapi_connection.fileno() > 1024  # type: ignore[union-attr]
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        with pooled.connect() as connection:  # checked as it leaves the pool
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        pooled.dispose()
        for descriptor in taken:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
