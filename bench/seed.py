"""Fill an empty database with a benchmark organisation and N requests.

    python -m bench.seed --requests 1000000 --database-url sqlite:///bench.db
    python -m bench.seed --requests 1000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/baton_bench

The schema is Baton's own (migrated here), the catalog goes through Baton's rules, and
the history of requests is generated in the states the rules leave (bench/history.py)
and loaded in bulk (bench/bulk.py). Every person's password is PASSWORD.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import func, text
from sqlmodel import Session, select

from app.rules.sign_in import hash_password
from app.storage import flow_figures, search_index
from app.storage.db import make_engine
from app.storage.migrate import upgrade
from app.storage.models import ServiceRequest, Task, Team, TimelineEvent, User
from app.storage.work_counts import recount
from bench.bulk import Loader, PostgresLoader, SqliteLoader
from bench.catalog import APPROVERS, FIRST_NAMES, HOT_TEAM, LAST_NAMES, save_catalog
from bench.history import (
    EVENT_COLUMNS,
    REQUEST_COLUMNS,
    TASK_COLUMNS,
    History,
    Organisation,
)

PASSWORD = "baton-bench"
PEOPLE = 20_000
STAFF = 2_000  # the people teams are made of; everyone files requests
MANAGERS = 100
ADMINS = 5
HEAVY_REQUESTERS = 20  # each files about a hundred times the usual share


def _loader(url: str) -> Loader:
    if url.startswith("sqlite:///"):
        return SqliteLoader(url.removeprefix("sqlite:///"))
    return PostgresLoader(url)


def _people(loader: Loader, rng: random.Random, now: datetime) -> list[int]:
    password_hash = hash_password(PASSWORD)  # one hash: argon2 is slow by design
    joined = loader.stamp(now - timedelta(days=4 * 365))
    rows = []
    for person_id in range(1, PEOPLE + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        manager = STAFF < person_id <= STAFF + MANAGERS
        admin = STAFF + MANAGERS < person_id <= STAFF + MANAGERS + ADMINS
        rows.append((person_id, f"{first}.{last}.{person_id}@bench.example".lower(),
                     f"{first} {last}", password_hash, manager, admin, True, joined))
    loader.write("user", ("id", "email", "name", "password_hash", "is_manager", "is_admin",
                          "is_active", "created_at"), rows)
    return [row[0] for row in rows]


def _memberships(loader: Loader, rng: random.Random, team_ids: dict[str, int]
                 ) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for slug, team_id in team_ids.items():
        size = 60 if slug == HOT_TEAM else 30 if slug == APPROVERS else rng.randint(8, 25)
        members[team_id] = rng.sample(range(1, STAFF + 1), size)
    loader.write("membership", ("team_id", "user_id", "is_lead"), [
        (team_id, user_id, index == 0)
        for team_id, people in members.items() for index, user_id in enumerate(people)
    ])
    return members


def seed(url: str, requests: int, *, seed_value: int = 1, out=sys.stdout) -> dict:
    started = time.perf_counter()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        if (session.exec(select(func.count()).select_from(User)).one()
                or session.exec(select(func.count()).select_from(Team)).one()):
            raise SystemExit("The database already has people or teams in it: "
                             "seed an empty one.")
    rng = random.Random(seed_value)
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(engine, expire_on_commit=False) as session:
        team_ids, services = save_catalog(session, rng)
    engine.dispose()

    loader = _loader(url)
    people = _people(loader, rng, now)
    members = _memberships(loader, rng, team_ids)
    heavy = people[STAFF + MANAGERS + ADMINS:][:HEAVY_REQUESTERS]
    organisation = Organisation(team_ids, members, people + heavy * 100, services)
    big_tables = [ServiceRequest.__table__, Task.__table__, TimelineEvent.__table__]
    indexes = loader.drop_indexes(big_tables)  # type: ignore[arg-type]
    history = History(organisation, count=requests, now=now, stamp=loader.stamp,
                      seed=seed_value)
    counts = {"requests": 0, "tasks": 0, "events": 0}
    for rows in history.batches():
        loader.write("service_request", REQUEST_COLUMNS, rows.requests)
        loader.write("task", TASK_COLUMNS, rows.tasks)
        loader.write("timeline_event", EVENT_COLUMNS, rows.events)
        counts["requests"] += len(rows.requests)
        counts["tasks"] += len(rows.tasks)
        counts["events"] += len(rows.events)
        elapsed = time.perf_counter() - started
        print(f"  {counts['requests']:>9,} requests  {counts['requests'] / elapsed:>8,.0f}/s",
              file=out, flush=True)
    loaded = time.perf_counter() - started
    loader.create_indexes(indexes)
    if isinstance(loader, PostgresLoader):
        loader.set_sequences(["user", "service_request", "task", "timeline_event"])
    loader.finish()
    indexed = time.perf_counter() - started

    engine = make_engine(url)
    with Session(engine) as session:
        recount(session)
        flow_figures.recount(session)
        search_index.rebuild(session)
        session.commit()
        hot_open = session.exec(text(  # type: ignore[call-overload]
            "SELECT count(*) FROM task JOIN team ON team.id = task.team_id "
            "WHERE team.slug = :slug AND task.state IN ('open', 'claimed')"
        ), params={"slug": HOT_TEAM}).one()[0]
        open_requests = session.exec(
            select(func.count()).select_from(ServiceRequest)
            .where(ServiceRequest.state == "open")).one()
    engine.dispose()
    if isinstance(loader, PostgresLoader):
        # The recounts wrote their tables after the loader's VACUUM ANALYZE: without
        # theirs, the insights' index-only scans fetched every row from the heap.
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    # The same for the files the operating system still holds dirty in memory.
    os.sync()
    total = time.perf_counter() - started
    rows_written = sum(counts.values()) + PEOPLE + sum(len(m) for m in members.values())
    summary = {**counts, "open_requests": open_requests, "hot_team_open_tasks": hot_open,
               "seconds": round(total, 1), "requests_per_second": round(requests / total)}
    print(f"Seeded {requests:,} requests ({open_requests:,} open), {counts['tasks']:,} tasks, "
          f"{counts['events']:,} timeline events, {PEOPLE:,} people, {len(team_ids)} teams, "
          f"{len(services)} services; hot team '{HOT_TEAM}' has {hot_open:,} open tasks.",
          file=out)
    print(f"Rows {loaded:.1f} s, indexes {indexed - loaded:.1f} s, total {total:.1f} s: "
          f"{requests / total:,.0f} requests/s, {rows_written / total:,.0f} rows/s.", file=out)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    args = parser.parse_args(argv)
    seed(args.database_url, args.requests, seed_value=args.seed)


if __name__ == "__main__":
    main()
