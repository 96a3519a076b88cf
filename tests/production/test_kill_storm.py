"""kill -9 of every Baton process (the uvicorn parent and both its workers) in the middle
of a storm of 200 submissions with a file each, on SQLite and on PostgreSQL. After the
next start (whose sweep brings the attachments folder back to its invariant,
app.rules.attachments):

- every submission that was answered (303 to its request) exists, with all its tasks,
  its first event and its file, byte for byte;
- no request is half-made, answered or not: each has all its tasks and its file;
- no file without its row, and no temporary file left;
- the overview's counters equal a recount of the tasks.
"""

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from sqlmodel import Session, col, select

from app.rules.attachments import TEMP_GRACE, TMP
from app.storage.models import Attachment, ServiceRequest, Task, TaskState, TimelineEvent
from app.storage.work_counts import counted_from_tasks, counters
from tests.factories import Factory
from tests.production.conftest import FaultDatabase, Server, Visitor, wait_until

pytestmark = pytest.mark.fault

SUBMISSIONS = 200
KILL_AFTER = 80  # answered submissions: the rest of the storm is still coming
CLIENTS = 8
STEPS = [("it", "task"), ("hr", "task"), ("finance", "approval")]
FIELDS = [
    {"key": "summary", "label": "Summary", "type": "text", "required": True},
    {"key": "quote", "label": "Quote", "type": "file", "max_files": 1, "max_size_mb": 1},
]


@dataclass
class Storm:
    visitors: list[Visitor]
    sent: dict[str, str] = field(default_factory=dict)  # summary -> sha256 of its file
    answered: dict[str, int] = field(default_factory=dict)  # summary -> request id
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, number: int, visitor: Visitor) -> bool:
        """One submission; False once the server is gone."""
        summary = f"Storm request {number}"
        content = f"%PDF storm {number} ".encode() * (200 + number)
        with self.lock:
            self.sent[summary] = hashlib.sha256(content).hexdigest()
        try:
            response = visitor.submit("storm", {"summary": summary},
                                      {"quote": (f"quote-{number}.pdf", content,
                                                 "application/pdf")})
        except (httpx.HTTPError, AssertionError):
            return False  # killed mid-request (or mid-form): not answered
        location = response.headers.get("location", "")
        if response.status_code == 303 and location.startswith("/requests/"):
            with self.lock:
                self.answered[summary] = int(location.split("/")[2].split("?")[0])
        else:
            self.unexpected.append(f"{summary}: HTTP {response.status_code}")
        return True


def _storm_until_killed(server: Server, storm: Storm) -> None:
    numbers = iter(range(1, SUBMISSIONS + 1))
    take = threading.Lock()

    def client(visitor: Visitor) -> None:
        while True:
            with take:
                number = next(numbers, None)
            if number is None or not storm.run(number, visitor):
                return

    threads = [threading.Thread(target=client, args=(visitor,), daemon=True)
               for visitor in storm.visitors]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(storm.answered) >= KILL_AFTER or storm.unexpected, seconds=120,
               what=f"{KILL_AFTER} submissions are answered")
    server.kill()
    for thread in threads:
        thread.join(timeout=60)


def test_kill_9_in_a_submission_storm_loses_nothing_answered_and_leaves_nothing_half_made(
    fault_database: FaultDatabase, serve_on: Callable[..., Server],
    visit,  # type: ignore[no-untyped-def]
):
    with Session(fault_database.engine, expire_on_commit=False) as setup:
        make = Factory(setup)
        make.service(slug="storm", steps=STEPS, fields=FIELDS)
        people = [make.user(f"Stormer {n}") for n in range(CLIENTS)]
        setup.commit()
    server = serve_on(fault_database, workers=2)
    storm = Storm([visit(server, person) for person in people])

    _storm_until_killed(server, storm)
    killed_at = time.monotonic()
    assert not storm.unexpected, storm.unexpected[:5]
    assert KILL_AFTER <= len(storm.answered) < SUBMISSIONS, "the kill came after the storm"

    # A temporary file younger than TEMP_GRACE may belong to a live submission: the
    # sweep leaves it alone. Nothing is live any more; start once they are all older.
    time.sleep(max(0.0, TEMP_GRACE.total_seconds() + 0.5 - (time.monotonic() - killed_at)))
    restarted = serve_on(fault_database)  # answers once its start-up sweep has run
    restarted.stop()

    files = fault_database.attachments_dir
    with Session(fault_database.engine) as check:
        requests = {request.answers["summary"]: request
                    for request in check.exec(select(ServiceRequest)).all()}
        # Every answered submission exists, as the request it was answered with.
        for summary, request_id in storm.answered.items():
            assert summary in requests, f"{summary} was answered but is lost"
            assert requests[summary].id == request_id
        assert len(requests) >= len(storm.answered)
        # Every request, answered or cut off before its answer, is whole.
        for summary, request in requests.items():
            tasks = check.exec(select(Task).where(col(Task.request_id) == request.id)
                               .order_by(col(Task.position))).all()
            assert [task.state for task in tasks] == [
                TaskState.open, TaskState.waiting, TaskState.waiting], summary
            assert check.exec(select(TimelineEvent).where(
                col(TimelineEvent.request_id) == request.id)).first() is not None
            [attachment] = check.exec(select(Attachment).where(
                col(Attachment.request_id) == request.id)).all()
            stored = files / attachment.storage_path
            assert stored.is_file(), f"{summary}: its file is missing"
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == storm.sent[summary]
            assert stored.stat().st_size == attachment.size
        # No file without its row, nothing left at a temporary name.
        rows = set(check.exec(select(Attachment.storage_path)).all())
        assert counters(check) == counted_from_tasks(check)
    on_disk = {path.relative_to(files).as_posix() for path in files.rglob("*")
               if path.is_file() and path.relative_to(files).parts[0] != TMP}
    assert on_disk == rows
    left = [path.name for path in (files / TMP).glob("*")] if (files / TMP).exists() else []
    assert not left, f"temporary files left after the sweep: {left[:5]}"
