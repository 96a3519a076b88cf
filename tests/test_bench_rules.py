"""The rules' benchmark (bench/rules.py) times what it says: each rule ran and
committed, and the driver's share it reports is part of the call's time."""

import io

from sqlalchemy import text

from app.storage.db import make_engine
from bench.rules import measure
from bench.seed import seed


def test_the_rules_ran_and_the_driver_s_share_is_within_each_call(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    seed(url, 400, out=io.StringIO())
    engine = make_engine(url)
    with engine.connect() as connection:
        before = dict(connection.execute(text(
            "SELECT state, count(*) FROM task GROUP BY state")).all())
        requests_before = connection.execute(text(
            "SELECT count(*) FROM service_request")).scalar_one()

    rows = measure(url, rounds=3, warmup=1, only=["file", "claim", "complete"])

    with engine.connect() as connection:
        after = dict(connection.execute(text(
            "SELECT state, count(*) FROM task GROUP BY state")).all())
        requests_after = connection.execute(text(
            "SELECT count(*) FROM service_request")).scalar_one()
    engine.dispose()
    assert requests_after == requests_before + 4  # filed: 1 warm-up and 3 timed
    # Claimed and then completed: 4 tasks went from open to done (the filings' own
    # first tasks opened, and some completions opened their next steps).
    assert after["done"] == before["done"] + 4
    assert [row.split(" | ")[0] for row in rows] == ["| file", "| claim", "| complete"]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        calls, p50, driver, python = int(cells[1]), *map(float, (cells[2], cells[4], cells[5]))
        assert calls == 3
        assert 0 < driver < p50 + 1e-9 and python > 0
        assert int(cells[6]) > 2  # statements: at least BEGIN, one write, COMMIT
