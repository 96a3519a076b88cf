"""The yardstick: a bare Starlette app that answers `/bytes/{n}` with n bytes of HTML.

bench/run.py serves it with the same uvicorn settings as `baton serve` and loads it
exactly like each Baton page, asking for as many bytes as that page weighs, so a page's
throughput can be read as a share of what uvicorn and the client manage with no
application work at all.

Run: .venv/bin/python -m bench.baseline --port P --workers N
"""

import argparse
from functools import lru_cache

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.config import get_settings

PREFIX = b"<!doctype html><title>baseline</title>"


@lru_cache(maxsize=64)
def page_of(size: int) -> bytes:
    # Built once per size: the baseline measures serving a page, not making one.
    return (PREFIX + b"x" * size)[:size]


async def send_bytes(request: Request) -> HTMLResponse:
    return HTMLResponse(page_of(request.path_params["n"]))


async def healthz(_request: Request) -> HTMLResponse:
    return HTMLResponse("ok")


app = Starlette(routes=[
    # POST too: the sequential baseline for Baton's form posts.
    Route("/bytes/{n:int}", send_bytes, methods=["GET", "POST"]),
    Route("/healthz", healthz),
])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the baseline app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The same options as app/cli.py `serve`, so only the application differs.
    uvicorn.run("bench.baseline:app", host=args.host, port=args.port, workers=args.workers,
                proxy_headers=True, log_level="info", access_log=get_settings().access_log)


if __name__ == "__main__":
    main()
