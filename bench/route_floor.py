"""The floor under each kind of route (issue 18's measured limits): what a request costs
on this stack before Baton's own work for it, timed beside the real route, in one run,
by one worker and a sequential client, as bench.pages times them.

    python -m bench.route_floor --database-url sqlite:////tmp/b20k/copy.db  # writes

The server is Baton's own application (app.main.create_app) under `baton serve`'s own
settings (app.cli.serve), with three routes added for the run: each takes the
parameters of a real route and does none of its work.

- GET /bench/floor/page: a signed-in page (every page opens the request's session and
  reads who is asking: app.web.session), answering 8 KB of fixed HTML.
- POST /bench/floor/tasks/{task_id}/claim: the claim's route (app.web.routes.
  task_actions) without the task, the rule or the answer's read: its session, viewer,
  CSRF check and form fields, answering the row's size of fixed HTML with its headers.
- POST /bench/floor/services/{slug}/requests: the filing's route (app.web.routes.
  catalog) without the filing: the same form read in full, answered with a redirect.

Subjects, in order: `healthz` (GET /healthz: SELECT 1, nobody signed in), `page-floor`,
`request-page` (a request page at random, as the busiest team's member),
`claim-floor-on-loop` (the claim's floor as an async route: no trip to the thread pool
for the route's own body), `claim-floor`,
`claim`, `complete`, `file-floor`, `file`. What a real route costs above its floor is
its own work: statements, rules and rendering, which bench.rules times in process.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bench import pages
from bench.load import server_env, serving
from bench.subjects import discover

FACTORY = "bench.route_floor:app_with_floors"
PAGE_BYTES = 8192
ROW_BYTES = 2152  # the claim's answer (bench.pages: the claim's body bytes)


def app_with_floors() -> FastAPI:
    """Baton's application with the floor routes; the application's own dependencies
    (the CSRF check of app.main) apply to them as to every route."""
    from app.main import create_app
    from app.web.access import IdPath
    from app.web.auth import CurrentUser, ViewerDep
    from app.web.request_body import posted_form
    from app.web.routes.task_actions import BackField, KeptNoteField, ViewField
    from app.web.session import SessionDep

    app = create_app()
    page = "<p>" + "x" * (PAGE_BYTES - 7) + "</p>"
    row = "<tr>" + "x" * (ROW_BYTES - 9) + "</tr>"

    @app.get("/bench/floor/page")
    def page_floor_route(session: SessionDep, user: CurrentUser) -> HTMLResponse:
        return HTMLResponse(page)

    @app.post("/bench/floor/tasks/{task_id}/claim")
    def claim_floor_route(request: Request, session: SessionDep, user: CurrentUser,
                          viewer: ViewerDep, task_id: IdPath, view: ViewField = "queue",
                          back: BackField = "", note: KeptNoteField = "") -> HTMLResponse:
        return HTMLResponse(row, headers={"HX-Trigger": "task-changed", "Vary": "HX-Request"})

    # The same, answered on the event loop: the difference is one trip to the thread
    # pool and back, which a sync route (every rule's) takes.
    @app.post("/bench/floor/tasks/{task_id}/claim-on-loop")
    async def claim_floor_on_loop_route(
            request: Request, session: SessionDep, user: CurrentUser, viewer: ViewerDep,
            task_id: IdPath, view: ViewField = "queue", back: BackField = "",
            note: KeptNoteField = "") -> HTMLResponse:
        return HTMLResponse(row, headers={"HX-Trigger": "task-changed", "Vary": "HX-Request"})

    @app.post("/bench/floor/services/{slug}/requests")
    async def file_floor_route(request: Request, session: SessionDep, user: CurrentUser,
                               slug: str) -> RedirectResponse:
        items = list((await posted_form(request)).multi_items())
        return RedirectResponse(f"/requests/{len(items)}", status_code=303)

    return app


def serve(argv: list[str]) -> None:
    """`python -m bench.route_floor serve --host H --port P --workers N`: as `baton
    serve`, the application made by app_with_floors."""
    from app.cli import serve as baton_serve

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    args.startup_timeout = None
    baton_serve(args, factory=FACTORY)


def page_floor(ctx: pages.Context) -> pages.Call:
    browser = ctx.person(ctx.subjects.member_email)
    return lambda: browser.expect("GET", "/bench/floor/page", 200)


def _claim_floor(path: str) -> Callable[[pages.Context], pages.Call]:
    def make(ctx: pages.Context) -> pages.Call:
        browser = ctx.person(ctx.subjects.member_email)
        form = {"csrf_token": browser.csrf_token, "view": "queue", "back": "/queues/x",
                "note": ""}
        headers = {**pages.HTMX, "X-CSRF-Token": browser.csrf_token}
        return lambda: browser.expect("POST", path, 200, form=form, headers=headers)
    return make


def file_floor(ctx: pages.Context) -> pages.Call:
    browser = ctx.person(ctx.subjects.requester_email)
    path = f"/bench/floor/services/{ctx.subjects.service_slug}/requests"
    form = {**ctx.subjects.form, "csrf_token": browser.csrf_token, "submission_key": "k"}
    return lambda: browser.expect("POST", path, 303, form=form,
                                  multipart=ctx.subjects.form_has_files)


_REAL = {name: make for name, _what, make in pages.SUBJECTS}
SUBJECTS: list[tuple[str, Callable[[pages.Context], pages.Call | None]]] = [
    ("healthz", _REAL["floor"]),
    ("page-floor", page_floor),
    ("request-page", _REAL["request-member"]),
    ("claim-floor-on-loop", _claim_floor("/bench/floor/tasks/1/claim-on-loop")),
    ("claim-floor", _claim_floor("/bench/floor/tasks/1/claim")),
    ("claim", _REAL["claim"]),
    ("complete", _REAL["complete"]),
    ("file-floor", file_floor),
    ("file", _REAL["file"]),
]


def measure(url: str, *, rounds: int, warmup: int, only: list[str] | None) -> None:
    subjects = discover(url, tasks_needed=0)
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        env = server_env(database_url=url, data_dir=Path(tmp), secret="b" * 40,
                         access_log=False)
        with serving([sys.executable, "-m", "bench.route_floor", "serve"], workers=1,
                     env=env, log=Path(tmp) / "server.log") as server:
            ctx = pages.Context(url, server, subjects, pages.POOL, 18, rounds=rounds,
                                warmup=warmup)
            try:
                for name, make in SUBJECTS:
                    if only and name not in only:
                        continue
                    call = make(ctx)
                    if call is None:
                        print(f"(skipped {name}: nothing to time it on)", file=sys.stderr)
                        continue
                    figure = pages.time_subject(name, call, server, rounds=rounds,
                                                warmup=warmup)
                    print(figure.row(), flush=True)
            finally:
                ctx.close()


def main(argv: list[str]) -> None:
    if argv[:1] == ["serve"]:
        serve(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--only", help="comma-separated subjects of "
                        + ",".join(name for name, _make in SUBJECTS))
    args = parser.parse_args(argv)
    print(f"{args.database_url.split(':')[0]}; {os.cpu_count()} CPUs; one worker; "
          f"sequential client; load average {os.getloadavg()[0]:.2f}; "
          f"{time.strftime('%H:%M UTC', time.gmtime())}")
    print("| subject | requests | p50 ms | p95 ms | p99 ms | server CPU ms | body bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|", flush=True)
    measure(args.database_url, rounds=args.rounds, warmup=args.warmup,
            only=args.only.split(",") if args.only else None)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
