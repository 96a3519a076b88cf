"""What is measured on one running server: the pages (latency and throughput) and the
form posts (submit, claim, complete), each refused loudly on any unexpected answer."""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from urllib.parse import urlencode

from bench.client import BenchError, Browser, Latency, more_link, summarise, time_calls
from bench.load import Load, fresh_address, requests_per_second
from bench.subjects import Subjects

HTMX = {"HX-Request": "true"}


@dataclass
class Page:
    name: str
    who: str  # the key of the signed-in Browser that looks at it
    path: str
    htmx: bool = False
    size: int = 0  # body bytes, for the baseline page of the same size
    # Rendered at every request: each one at an address of its own, so that a page
    # Baton would serve again from memory (app.web.page_cache) is measured as rendered.
    fresh: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return dict(HTMX) if self.htmx else {}


@dataclass
class Row:
    """One line of the results table."""

    name: str
    size: int
    sequential: bool = False  # req/s from one client, one request at a time
    latency: Latency | None = None
    cpu_ms: float | None = None  # the server's CPU time per request, one worker
    rps: dict[int, float] = field(default_factory=dict)  # by number of workers
    baseline: dict[int, float] = field(default_factory=dict)


def yardstick_ms() -> float:
    """The same pure-Python work on every run (the best of three), timed in the runner:
    how fast this virtual machine's CPU was at that moment, which drifts by up to 2x
    (see bench/RESULTS.md). Tables measured at different speeds compare by it."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for number in range(1_000_000):
            total += number % 7
        best = min(best, time.process_time() - start)
    return best * 1000


def deep_queue_page(member: Browser, first: str, pages: int) -> tuple[str, int]:
    """Follows the queue's "show older tasks" link up to `pages` times, as the button
    does (an htmx request for more rows); the last address reached, and its depth."""
    page = member.expect("GET", first, 200).text
    path, depth = first, 1
    while depth <= pages:
        link = more_link(page)
        if link is None:
            break
        path, depth = link, depth + 1
        page = member.expect("GET", path, 200, headers=HTMX).text
    return path, depth


def pages_of(subjects: Subjects, people: dict[str, Browser], deep_pages: int) -> list[Page]:
    first = f"/queues/{subjects.team_slug}"
    deep, depth = deep_queue_page(people["member"], first, deep_pages)
    # The live queue asks what changed since its page was rendered: a minute ago.
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    pages = [
        Page("Queue, first page", "member", first, fresh=True),
        # The same page asked again while the queue is unchanged: served from memory.
        Page("Queue, first page, unchanged since last asked", "member", first),
        Page(f"Queue, page {depth} (htmx “show older”)" if depth > 1
             else "Queue, deep page (there is only one)", "member", deep, htmx=depth > 1,
             fresh=True),
        Page("Queue, search a title word (htmx)", "member",
             f"{first}?{urlencode({'q': subjects.search_word})}", htmx=True, fresh=True),
        Page("Live queue poll (htmx, every 15 s)", "member",
             f"{first}/changes?{urlencode({'since': since})}", htmx=True),
        Page("My work", "member", "/my-work"),
        Page("Request page", "requester", f"/requests/{subjects.request_id}"),
        Page("My requests", "requester", "/requests"),
        Page("Catalog", "requester", "/catalog"),
        Page("Manager overview", "manager", "/overview"),
        Page("Typed-answer report, first page, exact count", "manager", subjects.report_path),
        # Not a page: the least any answer that reads the database costs (no login, no
        # template, one `SELECT 1`), the floor under every page's share of the baseline.
        Page("Floor: /healthz (SELECT 1, no page)", "load balancer", "/healthz"),
    ]
    for page in pages:
        page.size = len(people[page.who].expect("GET", page.path, 200,
                                                headers=page.headers).body)
    return pages


def page_latency(page: Page, people: dict[str, Browser], *, rounds: int,
                 warmup: int) -> Latency:
    browser = people[page.who]
    serials = count(1)

    def ask() -> None:
        path = fresh_address(page.path, next(serials)) if page.fresh else page.path
        browser.expect("GET", path, 200, headers=page.headers)

    return time_calls(ask, rounds=rounds, warmup=warmup)


def page_throughput(page: Page, people: dict[str, Browser], load: Load, port: int) -> float:
    browser = people[page.who]
    # wrk counts only answers of 400 and above as errors: a redirect (to the login page,
    # say) would pass unseen, so the exact status is checked before and after the load.
    browser.expect("GET", page.path, 200, headers=page.headers)
    cookie = {"Cookie": browser.cookie_header()} if browser.cookies else {}
    rps = requests_per_second(load, f"http://127.0.0.1:{port}{page.path}",
                              {**cookie, **page.headers}, fresh=page.fresh)
    browser.expect("GET", page.path, 200, headers=page.headers)
    return rps


def baseline_throughput(size: int, load: Load, port: int) -> float:
    return requests_per_second(load, f"http://127.0.0.1:{port}/bytes/{size}", {})


def submit_latency(subjects: Subjects, person: Browser, *, rounds: int,
                   warmup: int) -> Latency:
    """Sends the service's form as the browser does (multipart when it has a file field,
    no htmx): 303 to the new request's page."""
    path = f"/services/{subjects.service_slug}/requests"
    form = {**subjects.form, "csrf_token": person.csrf_token}

    def submit() -> None:
        reply = person.expect("POST", path, 303, form=form,
                               multipart=subjects.form_has_files)
        if not reply.headers.get("location", "").startswith("/requests/"):
            raise BenchError(f"POST {path} did not lead to a new request: "
                             f"{reply.headers.get('location')}")

    return time_calls(submit, rounds=rounds, warmup=warmup)


def claim_complete_latency(subjects: Subjects, member: Browser, tasks: Iterator[int], *,
                           rounds: int, warmup: int) -> tuple[Latency, Latency, int, int]:
    """Claims an open task from the queue, then completes it, as the row's buttons do
    (htmx posts answered with the updated row); each round uses up one task."""
    form = {"csrf_token": member.csrf_token, "view": "queue",
            "back": f"/queues/{subjects.team_slug}", "note": ""}
    headers = {**HTMX, "X-CSRF-Token": member.csrf_token}
    claims: list[float] = []
    completions: list[float] = []
    sizes = [0, 0]
    for round_ in range(warmup + rounds):
        task_id = next(tasks)
        for action, times, index in (("claim", claims, 0), ("complete", completions, 1)):
            started = time.perf_counter()
            reply = member.expect("POST", f"/tasks/{task_id}/{action}", 200, form=form,
                                  headers=headers)
            if round_ >= warmup:
                times.append((time.perf_counter() - started) * 1000)
            sizes[index] = len(reply.body)
    return summarise(claims), summarise(completions), sizes[0], sizes[1]


def baseline_post_latency(browser: Browser, size: int, *, rounds: int, warmup: int) -> Latency:
    """The same sequential client posting to the baseline's page of the same size."""
    return time_calls(lambda: browser.expect("POST", f"/bytes/{size}", 200, form={"x": "1"}),
                      rounds=rounds, warmup=warmup)
