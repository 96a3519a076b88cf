"""Search across requests at a database bench.seed filled: p50/p95 of a rare word, a common
word and a request number, for a manager (sees every request), a member of the busiest
team and a heavy requester, one worker (in process: the read the page makes, not HTTP).

    python -m bench.search --database-url sqlite:////tmp/b1m/bench.db
"""

import argparse
import statistics
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlmodel import Session

from app.reads.search import number_in, request_by_number, search_requests, words_of
from app.rules.teams import teams_of
from app.storage.db import make_engine
from app.storage.models import User


def _timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    run()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    with Session(engine) as session:
        middle = session.execute(text(
            "SELECT id, answers FROM service_request WHERE id = "
            "(SELECT max(id) / 2 FROM service_request)")).one()
        answers = middle[1] if isinstance(middle[1], dict) else __import__("json").loads(
            middle[1])
        rare = answers["summary"]  # adjective noun number: a handful of requests
        hot_member = session.execute(text(
            "SELECT m.user_id FROM membership m JOIN team t ON t.id = m.team_id "
            "ORDER BY (SELECT count(*) FROM membership x WHERE x.team_id = t.id) DESC, "
            "m.user_id LIMIT 1")).scalar_one()
        heavy = session.execute(text(
            "SELECT requester_id FROM service_request WHERE id > (SELECT max(id) - 20000 "
            "FROM service_request) GROUP BY requester_id ORDER BY count(*) DESC "
            "LIMIT 1")).scalar_one()
        manager = session.execute(text(
            'SELECT id FROM "user" WHERE is_manager ORDER BY id LIMIT 1')).scalar_one()
        viewers = {"manager": manager, "team member": hot_member, "requester": heavy}
        queries = {f"rare ({rare})": rare, "common (normal)": "normal",
                   f"number (REQ-{middle[0]})": f"REQ-{middle[0]}"}
        print(f"{args.database_url.split('://')[0]}, {args.repeat} runs each, ms")
        print(f"{'viewer':<12} {'query':<34} {'p50':>7} {'p95':>7} {'results':>8}")
        for role, user_id in viewers.items():
            user = session.get_one(User, user_id)
            team_ids = [team.id for team in teams_of(session, user)]
            for label, query in queries.items():
                number = number_in(query)
                outcome: list[str] = []

                def run(query: str = query, number: int | None = number,
                        user: User = user, team_ids: list[int] = team_ids,
                        outcome: list[str] = outcome) -> None:
                    session.rollback()  # a fresh transaction, as each web request has
                    if number is not None:
                        found = request_by_number(session, user=user, number=number)
                        outcome[:] = ["found" if found else "404"]
                        return
                    page = search_requests(session, user=user, team_ids=team_ids,
                                           words=words_of(query))
                    outcome[:] = [f"{'' if page.count_is_exact else '>'}{page.count}"]

                p50, p95 = _timed(run, args.repeat)
                print(f"{role:<12} {label:<34} {p50:>7.1f} {p95:>7.1f} {outcome[0]:>8}")
    engine.dispose()


if __name__ == "__main__":
    main()
