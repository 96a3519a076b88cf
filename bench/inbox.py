"""The inbox at a database bench.seed filled (issue 14's targets: the unread count adds
≤ 1 ms to any page; the inbox page p95 ≤ 20 ms), one worker, in process: the statement
each page adds for the bell, and the inbox page's reads plus its template.

The seed files requests with Core rows, not through the rules, so its inbox is empty.
This fills one that the database never keeps (PostgreSQL: in a transaction rolled back at
the end; SQLite: in the connection's TEMP tables, see SQLITE_TEMP_TABLES): for each person
measured, ITEMS items pointing at real events of requests they may see (UNREAD of them
unread), FILLER items for other people so the indexes have a realistic depth, and a few
notices for the busiest team. Then, per person (a heavy requester, a member of the
busiest team, who never looked at it, and a manager):

- the bell: app.reads.inbox.unread_count, the one statement a page adds;
- the inbox page: app.reads.inbox.inbox_page and the rendered template, unread and all.

    python -m bench.inbox --database-url sqlite:////tmp/b1m/bench.db
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, inspect, text
from sqlmodel import Session

from app.reads.inbox import inbox_page, unread_count
from app.storage.db import make_engine
from app.storage.models import InboxItem, TeamNotice, User, utcnow
from app.web.auth import Viewer
from app.web.render import templates

ITEMS = 3000
UNREAD = 400
FILLER = 300_000


def _timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    run()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def _events_for(session: Session, where: str, params: dict[str, Any], limit: int
                ) -> list[tuple[int, int]]:
    return [(row[0], row[1]) for row in session.execute(text(
        f"SELECT e.id, e.request_id FROM timeline_event e WHERE {where} "
        f"ORDER BY e.id DESC LIMIT {limit}"), params)]


# SQLite: the filled tables are the connection's own TEMP tables, which shadow the main
# database's (a name is looked up in temp first): nothing is written to the database file,
# and no write lock is taken that would hold up others using it meanwhile.
SQLITE_TEMP_TABLES = (
    "CREATE TEMP TABLE inbox_item (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, "
    "event_id INTEGER NOT NULL, request_id INTEGER NOT NULL, reason VARCHAR(16) NOT NULL, "
    "created_at DATETIME NOT NULL, read_at DATETIME)",
    "CREATE INDEX temp.ix_inbox_item_user ON inbox_item (user_id, id)",
    "CREATE INDEX temp.ix_inbox_item_unread ON inbox_item (user_id, id) WHERE read_at IS NULL",
    "CREATE TEMP TABLE team_notice (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL, "
    "event_id INTEGER NOT NULL, request_id INTEGER NOT NULL, created_at DATETIME NOT NULL)",
    "CREATE INDEX temp.ix_team_notice_team ON team_notice (team_id, created_at)",
)


def _fill(session: Session, people: dict[str, int], hot_team: int) -> None:
    if session.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TEMP_TABLES:
            session.execute(text(statement))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for role, user_id in people.items():
        if role == "requester":
            events = _events_for(session, "e.request_id IN (SELECT id FROM service_request "
                                 "WHERE requester_id = :u) AND NOT e.is_internal",
                                 {"u": user_id}, ITEMS)
        elif role == "team member":
            events = _events_for(session, "e.request_id IN (SELECT request_id FROM task "
                                 "WHERE team_id = :t ORDER BY id DESC LIMIT 5000)",
                                 {"t": hot_team}, ITEMS)
        else:
            events = _events_for(session, "e.id > (SELECT max(id) - 100000 FROM "
                                 "timeline_event)", {}, ITEMS)
        for index, (event_id, request_id) in enumerate(reversed(events)):
            rows.append({"user_id": user_id, "event_id": event_id, "request_id": request_id,
                         "reason": "comment", "created_at": now - timedelta(minutes=ITEMS - index),
                         "read_at": None if index >= len(events) - UNREAD else now})
    rng = random.Random(14)
    others = [row[0] for row in session.execute(text('SELECT id FROM "user"'))
              if row[0] not in people.values()]
    spread = _events_for(session, "1 = 1", {}, 50_000)
    for _ in range(FILLER):
        event_id, request_id = rng.choice(spread)
        rows.append({"user_id": rng.choice(others), "event_id": event_id,
                     "request_id": request_id, "reason": "comment", "created_at": now,
                     "read_at": now if rng.random() < 0.8 else None})
    for start in range(0, len(rows), 10_000):
        session.execute(insert(InboxItem), rows[start:start + 10_000])
    notices = _events_for(session, "e.request_id IN (SELECT request_id FROM task WHERE "
                          "team_id = :t AND state = 'open' ORDER BY id DESC LIMIT 20)",
                          {"t": hot_team}, 10)
    session.execute(insert(TeamNotice), [
        {"team_id": hot_team, "event_id": event_id, "request_id": request_id,
         "created_at": now} for event_id, request_id in notices])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE inbox_item"))
        session.execute(text("ANALYZE team_notice"))
    else:
        session.execute(text("ANALYZE temp"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    if not inspect(engine).has_table("inbox_item"):
        raise SystemExit("No inbox tables: run the migrations (0016) on this database.")
    template = templates.env.get_template("inbox/inbox.html")
    with Session(engine) as session:
        hot_team, hot_member = session.execute(text(
            "SELECT m.team_id, m.user_id FROM membership m JOIN team t ON t.id = m.team_id "
            "ORDER BY (SELECT count(*) FROM task x WHERE x.team_id = t.id "
            "AND x.state = 'open') DESC, m.user_id LIMIT 1")).one()
        heavy = session.execute(text(
            "SELECT requester_id FROM service_request WHERE id > (SELECT max(id) - 20000 "
            "FROM service_request) GROUP BY requester_id ORDER BY count(*) DESC "
            "LIMIT 1")).scalar_one()
        manager = session.execute(text(
            'SELECT id FROM "user" WHERE is_manager ORDER BY id LIMIT 1')).scalar_one()
        people = {"requester": heavy, "team member": hot_member, "manager": manager}
        started = time.perf_counter()
        _fill(session, people, hot_team)
        session.flush()
        filled = time.perf_counter() - started
        total = session.execute(text("SELECT count(*) FROM inbox_item")).scalar_one()
        requests = session.execute(text("SELECT max(id) FROM service_request")).scalar_one()
        print(f"{args.database_url.split('://')[0]}: {requests:,} requests; {total:,} inbox "
              f"items filled in {filled:.1f} s (rolled back at the end); {args.repeat} "
              f"runs each, ms")
        print(f"{'viewer':<12} {'what':<28} {'p50':>7} {'p95':>7}  shown")
        for role, user_id in people.items():
            user = session.get_one(User, user_id)
            team_ids = frozenset(session.execute(text(
                "SELECT team_id FROM membership WHERE user_id = :u"), {"u": user_id}).scalars())
            count: list[int] = []

            def bell(user_id: int = user_id, team_ids: frozenset[int] = team_ids,
                     count: list[int] = count) -> None:
                count[:] = [unread_count(session, user_id=user_id, team_ids=team_ids)]

            p50, p95 = _timed(bell, args.repeat)
            print(f"{role:<12} {'unread count (bell)':<28} {p50:7.3f} {p95:7.3f}  {count[0]}")
            viewer = Viewer(user=user, csrf_token="x" * 43, team_ids=team_ids,
                            unread=count[0])
            for show in ("unread", "all"):
                shown: list[str] = []

                def page(user: User = user, team_ids: frozenset[int] = team_ids,
                         show: str = show, viewer: Viewer = viewer,
                         shown: list[str] = shown) -> None:
                    read = inbox_page(session, user=user, team_ids=team_ids,
                                      unread_only=show == "unread")
                    html = template.render(viewer=viewer, user=user, csrf_token="x",
                                           page=read, show=show, nav="inbox", before=None,
                                           here="/inbox")
                    shown[:] = [f"{len(read.lines)} items, {len(read.teams)} team entries, "
                                f"{len(html) // 1024} KB"]

                p50, p95 = _timed(page, args.repeat)
                print(f"{role:<12} {'inbox page (' + show + ')':<28} {p50:7.3f} {p95:7.3f}  "
                      f"{shown[0]}")
        session.rollback()


if __name__ == "__main__":
    main()
