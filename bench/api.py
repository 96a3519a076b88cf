"""The JSON API at a database bench.seed filled (issue 15's targets, one worker: a queue
page of 50 tasks p95 <= 10 ms; a request with its timeline <= 10 ms; filing a request
<= 25 ms).

    python -m bench.api --database-url sqlite:////tmp/b1m/bench.db

Over HTTP, one uvicorn worker serving the database, a sequential client on one
keep-alive connection, a personal access token in the Authorization header:

- GET /api/v1/teams/<busiest team>/tasks: its first page (oldest first), as a member;
- GET /api/v1/requests/<id>, a request with its steps and timeline, as that member,
  at random among the requests of the team's open tasks (never the same one twice in a
  row: a page the database just read is the cheap case);
- POST /api/v1/services/<service>/requests: filing the fillable service with the most
  fields (bench.subjects), as a requester, each with its own Idempotency-Key;
- GET /healthz beside them: the floor of any request that asks the database anything.

The two tokens are made for the run and deleted after it (with their kept answers); the
requests filed stay, as bench.run's do. The server's per-token rate limit is lifted for
the run (BATON_API_REQUESTS_PER_MINUTE): the figures are the API's, not the limiter's.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.rules.api_tokens import create_token
from app.storage.api_tables import ApiToken, IdempotentAnswer
from app.storage.db import make_engine
from app.storage.models import Task, TaskState, Team, User
from bench.client import BenchError, Browser, time_calls
from bench.load import server_env, serving
from bench.subjects import discover

ROUNDS = 300


@contextmanager
def tokens_for(url: str, emails: list[str]) -> Iterator[list[str]]:
    """A read-write token for each person, deleted (with its kept answers) afterwards."""
    engine = make_engine(url)
    made: list[int] = []
    try:
        with Session(engine, expire_on_commit=False) as session:
            secrets = []
            for email in emails:
                owner = session.exec(select(User).where(User.email == email)).one()
                new = create_token(session, owner=owner, name="bench.api", days=7,
                                   read_only=False)
                made.append(new.token.id)  # type: ignore[arg-type]
                secrets.append(new.secret)
        yield secrets
    finally:
        with Session(engine) as session:
            session.exec(delete(IdempotentAnswer).where(  # type: ignore[call-overload]
                col(IdempotentAnswer.token_id).in_(made)))
            session.exec(delete(ApiToken).where(col(ApiToken.id).in_(made)))  # type: ignore[call-overload]
            session.commit()
        engine.dispose()


def team_request_ids(url: str, team_slug: str, limit: int) -> list[int]:
    engine = make_engine(url)
    with Session(engine) as session:
        team = session.exec(select(Team).where(Team.slug == team_slug)).one()
        ids = list(session.exec(
            select(Task.request_id).where(Task.team_id == team.id,
                                          Task.state == TaskState.open)
            .order_by(col(Task.id).desc()).limit(limit)).all())
    engine.dispose()
    return sorted(set(ids))


def _answers(form: dict[str, list[str]]) -> dict[str, object]:
    """The bench form's values as the API takes them: one value, or the list of a
    multiple choice (the form's version_id is the page's, not an answer)."""
    return {key: values if len(values) != 1 else values[0]
            for key, values in form.items() if key != "version_id"}


def measure(url: str, rounds: int) -> list[str]:
    subjects = discover(url, tasks_needed=0)
    request_ids = team_request_ids(url, subjects.team_slug, 2000)
    if len(request_ids) < 2:
        raise BenchError("the busiest team has fewer than two open tasks")
    answers = json.dumps({"answers": _answers(subjects.form)})
    lines = []
    with tokens_for(url, [subjects.member_email, subjects.requester_email]) as (member, asker), \
            tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        env = {**server_env(database_url=url, data_dir=Path(tmp), secret="b" * 40,
                            access_log=False), "BATON_API_REQUESTS_PER_MINUTE": "100000000"}
        with serving([sys.executable, "-m", "app.cli", "serve"], workers=1, env=env,
                     log=Path(tmp) / "server.log") as server:
            client = Browser("127.0.0.1", server.port)
            as_member = {"Authorization": f"Bearer {member}"}
            as_asker = {"Authorization": f"Bearer {asker}",
                        "Content-Type": "application/json"}
            pick = random.Random(7)
            last = [0]

            def a_request() -> object:
                request_id = pick.choice(request_ids)
                while request_id == last[0]:
                    request_id = pick.choice(request_ids)
                last[0] = request_id
                return client.expect("GET", f"/api/v1/requests/{request_id}", 200,
                                     headers=as_member)

            def file_one() -> object:
                headers = {**as_asker, "Idempotency-Key": uuid.uuid4().hex}
                return client.expect("POST", f"/api/v1/services/{subjects.service_slug}"
                                     "/requests", 201, headers=headers,
                                     body=answers.encode())

            queue = f"/api/v1/teams/{subjects.team_slug}/tasks"
            shown = len(json.loads(client.expect("GET", queue, 200,
                                                 headers=as_member).body)["tasks"])
            cases = (
                ("/healthz (the floor)", lambda: client.expect("GET", "/healthz", 200)),
                (f"queue page ({shown} tasks)",
                 lambda: client.expect("GET", queue, 200, headers=as_member)),
                (f"a request with its timeline (random of {len(request_ids)})", a_request),
                (f"file a request ({subjects.service_slug})", file_one),
            )
            for name, call in cases:
                latency = time_calls(call, rounds=rounds, warmup=20)
                lines.append(f"| {name} | {latency.rounds} | {latency.p50:.2f} | "
                             f"{latency.p95:.2f} | {latency.p99:.2f} |")
            client.close()
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    print(f"{args.database_url.split(':')[0]}; {os.cpu_count()} CPUs; one worker; "
          "sequential client with a token")
    print("| /api/v1 | requests | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    print("\n".join(measure(args.database_url, args.rounds)))


if __name__ == "__main__":
    main()
