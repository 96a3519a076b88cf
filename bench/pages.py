"""The pages people open most, one at a time, at a database bench.seed filled (issue 18:
a request page opened at random, median <= 3 ms and p95 <= 6 ms; the API's request with
its timeline <= 10 ms; the live request page's poll p95 <= 3 ms when nothing changed).

    python -m bench.pages --database-url sqlite:////tmp/b1m/baton.db
    python -m bench.pages --database-url URL --only floor,request-manager --rounds 500

One uvicorn worker (`baton serve`) serves the database; one sequential client on one
keep-alive connection per person (signed in through the login form; the API with a
personal access token made for the run and deleted after it). Each subject is timed
`--rounds` times after `--warmup` requests, and printed with p50/p95/p99 of the round
trip as the client sees it and the worker's CPU time per request over the timed rounds
(user + system from /proc: the steady figure on a shared machine, where wall times move
by 2x on their own). `GET /healthz` (SELECT 1, nobody signed in) is the floor: any
answer that asks the database anything costs at least that, on this machine, now.

Pages of a request are opened at random over many request ids, each id at most once a
subject while the pool lasts (a page the database just read is the cheap case):
`--pool` ids drawn at random from all the requests the person may see.

A subject is a name and a function that, given the run's Context, returns the call to
time (or None when the data has nothing to time it on); SUBJECTS lists them in the
order they run. To add one: write its function and append it to SUBJECTS.

Three subjects write (`file`, `claim`, `complete`): run them on a database of your own,
never the shared 1M ones. `file` posts the service form bench.subjects finds (the one
with the most fields) as the browser does, each time with a fresh one-time key (as each
form page carries one): 303 to the new request. `claim` claims the open tasks (not
approvals) of the team with the most, as its first active member, newest first, as the
queue row's button does (an htmx post answered with the row); `complete` then completes
the tasks `claim` claimed, in the same order (when `claim` did not run first, it claims
them itself, untimed). Each run uses up tasks: measure A/B on copies of one seed.
"""

import argparse
import os
import random
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlmodel import Session

from app.storage.db import make_engine
from app.storage.models import Team
from bench.api import tokens_for
from bench.client import BenchError, Browser, Reply, sign_in, summarise
from bench.load import Server, fresh_address, server_env, serving
from bench.seed import PASSWORD
from bench.subjects import Subjects, discover, open_task_ids

ROUNDS = 300
WARMUP = 20
POOL = 2000
_POLL = re.compile(r'hx-get="(/requests/\d+/changes\?since=\d+)"')


@dataclass
class Context:
    """What subjects are made from: the server, the people signed in to it, and the
    request ids each may see (drawn at random, in random order)."""

    url: str
    server: Server
    subjects: Subjects
    pool: int
    seed: int
    _people: dict[str, Browser] = field(default_factory=dict)
    _ids: dict[str, list[int]] = field(default_factory=dict)
    api_headers: dict[str, str] = field(default_factory=dict)
    rounds: int = ROUNDS
    warmup: int = WARMUP
    claimed: list[int] = field(default_factory=list)
    worker: tuple[str, str] = ("", "")  # who claims (e-mail) and their team (slug)
    # How many of the newest open tasks `claim` leaves to others (bench.pages_ab's other
    # side, claiming the same team's tasks on the same database).
    tasks_skipped: int = 0

    def person(self, email: str) -> Browser:
        if email not in self._people:
            self._people[email] = sign_in("127.0.0.1", self.server.port, email, PASSWORD)
        return self._people[email]

    def request_ids(self, who: str) -> list[int]:
        """A random sample of the requests `who` ("manager": any; "member": those with a
        task of the busiest team, as its member; "requester": the requester's own)."""
        if who not in self._ids:
            self._ids[who] = _request_ids(self.url, who, self.subjects, self.pool,
                                          random.Random(f"{self.seed}-{who}"))
        return self._ids[who]

    def close(self) -> None:
        for browser in self._people.values():
            browser.close()


def _request_ids(url: str, who: str, subjects: Subjects, pool: int,
                 rng: random.Random) -> list[int]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            if who == "manager":
                low, high = session.execute(text(
                    "SELECT min(id), max(id) FROM service_request")).one()
                drawn = rng.sample(range(low, high + 1), min(pool * 2, high - low + 1))
                found = set(session.execute(text(
                    "SELECT id FROM service_request WHERE id IN ("
                    + ",".join(map(str, drawn)) + ")")).scalars())
                ids = [i for i in drawn if i in found]
            elif who == "member":
                ids = list(session.execute(text(
                    "SELECT DISTINCT t.request_id FROM task t JOIN team ON team.id = t.team_id "
                    "WHERE team.slug = :slug"), {"slug": subjects.team_slug}).scalars())
            else:
                ids = list(session.execute(text(
                    "SELECT r.id FROM service_request r JOIN \"user\" u "
                    "ON u.id = r.requester_id WHERE u.email = :email"),
                    {"email": subjects.requester_email}).scalars())
    finally:
        engine.dispose()
    ids.sort()
    rng.shuffle(ids)
    return ids[:pool]


def at_random(ids: list[int], call: Callable[[int], Reply]) -> Callable[[], Reply]:
    """Calls `call` with the next id of the (shuffled) pool; when it runs out it starts
    again, never with the id just asked."""
    if len(ids) < 2:
        raise BenchError("fewer than two requests to open at random")
    state = {"next": 0, "last": -1}

    def one() -> Reply:
        index = state["next"] % len(ids)
        if ids[index] == state["last"]:
            index = (index + 1) % len(ids)
        state["next"], state["last"] = index + 1, ids[index]
        return call(ids[index])
    return one


Call = Callable[[], Reply]


def floor(ctx: Context) -> Call:
    anyone = Browser("127.0.0.1", ctx.server.port)
    return lambda: anyone.expect("GET", "/healthz", 200)


def _request_page(who: str) -> Callable[[Context], Call]:
    def make(ctx: Context) -> Call:
        email = {"manager": ctx.subjects.manager_email, "member": ctx.subjects.member_email,
                 "requester": ctx.subjects.requester_email}[who]
        browser = ctx.person(email)
        return at_random(ctx.request_ids(who),
                         lambda i: browser.expect("GET", f"/requests/{i}", 200))
    return make


def api_request(ctx: Context) -> Call:
    """As the manager (who sees every request), with a token."""
    client = Browser("127.0.0.1", ctx.server.port)
    return at_random(ctx.request_ids("manager"), lambda i: client.expect(
        "GET", f"/api/v1/requests/{i}", 200, headers=ctx.api_headers))


def poll(ctx: Context) -> Call | None:
    """The live request page's poll of open requests, nothing changed (204), as the
    busiest team's member: the poll address each page carries, read from the pages of
    up to 200 open requests of the pool before timing (so those pages were read once)."""
    browser = ctx.person(ctx.subjects.member_email)
    polls = []
    for request_id in ctx.request_ids("member"):
        found = _POLL.search(browser.expect("GET", f"/requests/{request_id}", 200).text)
        if found:
            polls.append(found.group(1).replace("&amp;", "&"))
        if len(polls) == 200:
            break
    if len(polls) < 2:
        return None
    return at_random(list(range(len(polls))), lambda n: browser.expect(
        "GET", polls[n], 204, headers={"HX-Request": "true"}))


def queue_page(ctx: Context) -> Call:
    """The busiest team's queue page as its member, rendered at every request: each at
    an address of its own (`render=N`, which the page ignores), so the kept page
    (app.web.page_cache) never answers it."""
    browser = ctx.person(ctx.subjects.member_email)
    path = f"/queues/{ctx.subjects.team_slug}"
    serial = iter(range(1, 10**9))
    return lambda: browser.expect("GET", fresh_address(path, next(serial)), 200)


def queue_search(ctx: Context) -> Call:
    """The busiest team's queue searched for a word of a title (bench.subjects'
    search_word, which matches about half of the team's queued tasks at 1M), as its
    member, rendered at every request: issue 18's growth from 10k to 1M."""
    browser = ctx.person(ctx.subjects.member_email)
    path = f"/queues/{ctx.subjects.team_slug}?q={quote(ctx.subjects.search_word)}"
    serial = iter(range(1, 10**9))
    return lambda: browser.expect("GET", fresh_address(path, next(serial)), 200)


HTMX = {"HX-Request": "true"}


def file_request(ctx: Context) -> Call:
    """The requester files the busiest form (encoded as the browser sends it: multipart
    when it has a file field), with a fresh one-time key each time: 303 to the new
    request's page."""
    browser = ctx.person(ctx.subjects.requester_email)
    path = f"/services/{ctx.subjects.service_slug}/requests"
    form = {**ctx.subjects.form, "csrf_token": browser.csrf_token}

    def one() -> Reply:
        reply = browser.expect("POST", path, 303, multipart=ctx.subjects.form_has_files,
                               form={**form, "submission_key": secrets.token_urlsafe(24)})
        if not reply.headers.get("location", "").startswith("/requests/"):
            raise BenchError(f"POST {path} did not lead to a new request: "
                             f"{reply.headers.get('location')}")
        return reply
    return one


def _worker(ctx: Context, count: int) -> tuple[str, str, list[int]]:
    """The team with the most open tasks (not approvals), its first active member, and
    `count` of those tasks, newest first: claiming and completing uses them up, so the
    busiest team by open and claimed tasks may have none left to claim."""
    engine = make_engine(ctx.url)
    try:
        with Session(engine) as session:
            team_id = session.execute(text(
                "SELECT team_id FROM task WHERE state = 'open' AND kind = 'task' "
                "GROUP BY team_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
            team = session.get_one(Team, team_id)
            email = session.execute(text(
                "SELECT u.email FROM membership m JOIN \"user\" u ON u.id = m.user_id "
                "WHERE m.team_id = :team AND u.is_active ORDER BY u.id LIMIT 1"),
                {"team": team_id}).scalar_one()
            ids = open_task_ids(session, team, ctx.tasks_skipped + count)[ctx.tasks_skipped:]
    finally:
        engine.dispose()
    if len(ids) < count:
        raise BenchError(f"{len(ids)} open tasks in the team with the most; {count} needed")
    return email, team.slug, ids


def _task_action(ctx: Context, email: str, slug: str, action: str) -> Callable[[int], Reply]:
    browser = ctx.person(email)
    form = {"csrf_token": browser.csrf_token, "view": "queue", "back": f"/queues/{slug}",
            "note": ""}
    headers = {**HTMX, "X-CSRF-Token": browser.csrf_token}
    return lambda task_id: browser.expect("POST", f"/tasks/{task_id}/{action}", 200,
                                          form=form, headers=headers)


def claim(ctx: Context) -> Call:
    """A member of the team with the most open tasks claims them in turn (newest first)."""
    email, slug, ids = _worker(ctx, ctx.warmup + ctx.rounds)
    ctx.worker = (email, slug)
    post = _task_action(ctx, email, slug, "claim")
    tasks = iter(ids)

    def one() -> Reply:
        task_id = next(tasks)
        reply = post(task_id)
        ctx.claimed.append(task_id)
        return reply
    return one


def complete(ctx: Context) -> Call:
    """The member completes the tasks `claim` claimed, in turn (claiming them first,
    untimed, when `claim` did not run)."""
    if len(ctx.claimed) < ctx.warmup + ctx.rounds:
        claim_one = claim(ctx)
        while len(ctx.claimed) < ctx.warmup + ctx.rounds:
            claim_one()
    post = _task_action(ctx, *ctx.worker, "complete")
    tasks = iter(list(ctx.claimed))
    return lambda: post(next(tasks))


# (name, what it is, how to make its call), in the order they run.
SUBJECTS: list[tuple[str, str, Callable[[Context], Call | None]]] = [
    ("floor", "GET /healthz (the floor: SELECT 1, nobody signed in)", floor),
    ("request-manager", "GET /requests/<id> as a manager, at random", _request_page("manager")),
    ("request-member", "GET /requests/<id> as a member of the busiest team, at random "
     "among its requests", _request_page("member")),
    ("request-requester", "GET /requests/<id> as the person with the most requests, at "
     "random among them", _request_page("requester")),
    ("api-request", "GET /api/v1/requests/<id> (with its timeline) as a manager, token, "
     "at random", api_request),
    ("poll", "GET /requests/<id>/changes, nothing changed (204), member, at random among "
     "open requests", poll),
    ("queue-rendered", "GET /queues/<busiest team>, 50 rows, as its member, rendered at "
     "every request (the kept page bypassed)", queue_page),
    ("queue-search", "GET /queues/<busiest team>?q=<a word of a title>, as its member, "
     "rendered at every request", queue_search),
    ("file", "POST /services/<busiest form>/requests as the requester (WRITES)", file_request),
    ("claim", "POST /tasks/<id>/claim, htmx, as a member of the team with the most open "
     "tasks (WRITES)", claim),
    ("complete", "POST /tasks/<id>/complete, htmx, the tasks claimed (WRITES)", complete),
]


@dataclass
class Figure:
    name: str
    rounds: int
    p50: float
    p95: float
    p99: float
    cpu_ms: float
    body_bytes: int

    def row(self) -> str:
        return (f"| {self.name} | {self.rounds} | {self.p50:.2f} | {self.p95:.2f} | "
                f"{self.p99:.2f} | {self.cpu_ms:.2f} | {self.body_bytes} |")


def time_subject(name: str, call: Call, server: Server, *, rounds: int,
                 warmup: int) -> Figure:
    for _ in range(warmup):
        call()
    times, size = [], 0
    cpu = server.cpu_seconds()
    for _ in range(rounds):
        started = time.perf_counter()
        reply = call()
        times.append((time.perf_counter() - started) * 1000)
        size += len(reply.body)
    cpu = server.cpu_seconds() - cpu
    latency = summarise(times)
    return Figure(name, rounds, latency.p50, latency.p95, latency.p99,
                  cpu * 1000 / rounds, size // rounds)


def measure(url: str, *, only: list[str] | None, rounds: int, warmup: int, pool: int,
            seed: int, settings: Sequence[str] = ()) -> Iterator[Figure]:
    chosen = [s for s in SUBJECTS if only is None or s[0] in only]
    subjects = discover(url, tasks_needed=0)
    with tokens_for(url, [subjects.manager_email]) as (token,), \
            tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        env = {**server_env(database_url=url, data_dir=Path(tmp), secret="b" * 40,
                            access_log=False), "BATON_API_REQUESTS_PER_MINUTE": "100000000"}
        env.update(setting.split("=", 1) for setting in settings)
        with serving([sys.executable, "-m", "app.cli", "serve"], workers=1, env=env,
                     log=Path(tmp) / "server.log") as server:
            ctx = Context(url, server, subjects, pool, seed,
                          api_headers={"Authorization": f"Bearer {token}"},
                          rounds=rounds, warmup=warmup)
            try:
                for name, _what, make in chosen:
                    call = make(ctx)
                    if call is None:
                        print(f"(skipped {name}: nothing to time it on)", file=sys.stderr)
                        continue
                    yield time_subject(name, call, server, rounds=rounds, warmup=warmup)
            finally:
                ctx.close()


def main(argv: list[str] | None = None) -> None:
    names = [name for name, _what, _make in SUBJECTS]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="subjects: " + "; ".join(f"{n}: {w}" for n, w, _m in SUBJECTS))
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--only", help=f"comma-separated subjects of {','.join(names)}")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--pool", type=int, default=POOL,
                        help="request ids drawn at random per kind of viewer")
    parser.add_argument("--seed", type=int, default=18, help="random seed of the draws")
    parser.add_argument("--setting", action="append", default=[], metavar="BATON_X=VALUE",
                        help="a setting for the server (an A/B of a switch)")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    if bad := [setting for setting in args.setting if "=" not in setting]:
        parser.error(f"--setting wants BATON_X=VALUE, not {', '.join(bad)}")
    if only and (unknown := set(only) - set(names)):
        parser.error(f"unknown subjects: {', '.join(sorted(unknown))}")
    print(f"{args.database_url.split(':')[0]}; {os.cpu_count()} CPUs; one worker; "
          f"sequential client; load average {os.getloadavg()[0]:.2f}; "
          f"{time.strftime('%H:%M UTC', time.gmtime())}; settings {args.setting or 'the defaults'}")
    print("| subject | requests | p50 ms | p95 ms | p99 ms | server CPU ms | body bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|", flush=True)
    for figure in measure(args.database_url, only=only, rounds=args.rounds,
                          warmup=args.warmup, pool=args.pool, seed=args.seed,
                          settings=args.setting):
        print(figure.row(), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
