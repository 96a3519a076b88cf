"""Uploaded files: clean names, copied outside the write transaction, moved into place
after the commit, and swept back to "no file without its row" after a crash
(app.rules.attachments)."""

import fcntl
import io
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

import app.rules.submission
from app.format.definitions import parse_service
from app.rules.attachments import (
    PART,
    TMP,
    SweepReport,
    content_disposition,
    locate,
    stage,
    sweep,
)
from app.rules.catalog import current_version, definition_of, save_service
from app.rules.errors import ServiceChanged
from app.rules.intake import IncomingFile, Intake, clean_filename, validate_intake
from app.rules.submission import submit_request
from app.storage.models import Attachment, Service, ServiceRequest, User
from tests.conftest import DATABASE_URL
from tests.factories import Factory

FILE_FIELD = [{"key": "summary", "label": "Summary", "type": "text", "required": True},
              {"key": "quote", "label": "Quote", "type": "file"}]
LONG_AGO = time.time() - 3600


def upload(name: str = "quote.pdf", content: bytes = b"%PDF a quote") -> IncomingFile:
    return IncomingFile(filename=name, content_type="application/pdf", size=len(content),
                        file=io.BytesIO(content))


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if path.is_file())


def intake_for(session: Session, service: Service, *files: IncomingFile) -> Intake:
    return validate_intake(
        session, definition=definition_of(current_version(session, service)),
        values={"summary": ["A quote"]}, uploads={"quote": list(files)}, max_upload_mb=20,
    )


def file_request(session: Session, service: Service, requester: User, folder: Path,
                 *files: IncomingFile) -> ServiceRequest:
    return submit_request(session, service=service, version=current_version(session, service),
                          requester=requester, intake=intake_for(session, service, *files),
                          attachments_dir=folder)


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "kept"), [
    ("quote.pdf", "quote.pdf"),
    ("C:\\Users\\erin\\Desktop\\quote.pdf", "quote.pdf"),
    ("../../etc/passwd", "passwd"),
    ("line\r\nbreak\x00.pdf", "line break.pdf"),
    ("tab\there.txt", "tab here.txt"),
    ("in\u202efdp.exe", "infdp.exe"),
    ("  spaced   out  .pdf ", "spaced out .pdf"),
    ("..", "file"),
    ("a/", "file"),
    ("\x1b[31m", "[31m"),
])
def test_a_file_name_is_cleaned_to_a_base_name_without_controls(sent: str, kept: str):
    assert clean_filename(sent) == kept


def test_a_very_long_file_name_is_cut_keeping_its_extension():
    cleaned = clean_filename("x" * 10_000 + ".pdf")
    assert len(cleaned) == 255
    assert cleaned.endswith("xx.pdf")


def test_a_download_names_the_file_for_old_and_new_browsers():
    assert content_disposition("quote.pdf") == (
        "attachment; filename=\"quote.pdf\"; filename*=UTF-8''quote.pdf")
    assert content_disposition('Devis "été" 100%.pdf') == (
        "attachment; filename=\"Devis _ete_ 100_.pdf\"; "
        "filename*=UTF-8''Devis%20%22%C3%A9t%C3%A9%22%20100%25.pdf")
    assert content_disposition("报价.pdf") == (
        "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7.pdf")
    assert content_disposition("报价") == (
        "attachment; filename=\"download\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7")
    # A name stored by an earlier release, path and line break and all.
    assert content_disposition("a/b\r\nc.txt") == (
        "attachment; filename=\"b c.txt\"; filename*=UTF-8''b%20c.txt")


# --- submitting -------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


def test_files_are_moved_into_place_after_the_commit_and_nothing_stays_temporary(
    session: Session, make: Factory, folder: Path
):
    service = make.service(fields=FILE_FIELD)
    created = file_request(session, service, make.user(), folder, upload("a.pdf", b"one"),
                           upload("b.pdf", b"two"))
    stored = session.exec(select(Attachment).order_by(Attachment.id)).all()  # type: ignore[arg-type]
    assert [(a.filename, a.size) for a in stored] == [("a.pdf", 3), ("b.pdf", 3)]
    assert files_under(folder) == sorted(a.storage_path for a in stored)
    assert all(a.storage_path.startswith(f"{created.id}/") for a in stored)
    assert (folder / stored[0].storage_path).read_bytes() == b"one"


def test_a_refused_submission_deletes_the_files_it_copied(
    session: Session, make: Factory, folder: Path
):
    service = make.service(fields=FILE_FIELD)
    stale = current_version(session, service)
    intake = intake_for(session, service, upload())
    changed = definition_of(stale).to_data()
    changed["name"] = "Renamed"
    save_service(session, definition=parse_service(changed))
    session.commit()
    with pytest.raises(ServiceChanged):
        submit_request(session, service=service, version=stale, requester=make.user(),
                       intake=intake, attachments_dir=folder)
    assert files_under(folder) == []
    assert session.exec(select(func.count()).select_from(ServiceRequest)).one() == 0


@pytest.fixture
def filed_for_real(committed: Engine) -> Iterator[tuple[Session, Service, User]]:
    with Session(committed, expire_on_commit=False) as session:
        make = Factory(session)
        service = make.service(fields=FILE_FIELD)
        requester = make.user()
        session.commit()
        yield session, service, requester


def _write_lock_is_free() -> bool:
    """Whether another connection could begin writing to the SQLite database now."""
    other = sqlite3.connect(DATABASE_URL.removeprefix("sqlite:///"), timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_no_file_is_copied_while_the_write_transaction_is_open(
    filed_for_real: tuple[Session, Service, User], committed: Engine, folder: Path
):
    session, service, requester = filed_for_real
    seen: list[str] = []

    class Watched(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            seen.append("write lock free" if committed.dialect.name != "sqlite"
                        or _write_lock_is_free() else "write lock held")
            return super().read(size)

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("INSERT"):
            seen.append("insert")

    def committing(_conn: Any) -> None:
        seen.append("commit, with files at their final names: "
                    + str([p for p in files_under(folder) if not p.startswith(TMP)]))

    content = b"%PDF " + b"x" * 3_000_000
    intake = intake_for(session, service, IncomingFile("q.pdf", "application/pdf",
                                                       len(content), Watched(content)))
    event.listen(committed, "before_cursor_execute", statement)
    event.listen(committed, "commit", committing)
    try:
        created = submit_request(session, service=service,
                                 version=current_version(session, service),
                                 requester=requester, intake=intake, attachments_dir=folder)
    finally:
        event.remove(committed, "before_cursor_execute", statement)
        event.remove(committed, "commit", committing)

    first_insert = seen.index("insert")
    copying = [step for step in seen if step.startswith("write lock")]
    assert copying and set(copying) == {"write lock free"}
    assert not any(step.startswith("write lock") for step in seen[first_insert:])
    assert seen[-1] == "commit, with files at their final names: []"
    attachment = session.exec(select(Attachment)).one()
    assert files_under(folder) == [f"{created.id}/{attachment.storage_path.split('/')[1]}"]
    assert (folder / attachment.storage_path).read_bytes() == content


# --- the sweep --------------------------------------------------------------------------


def temporary(folder: Path, name: str = "0" * 32, *, age: float = LONG_AGO) -> Path:
    path = folder / TMP / f"{name}{PART}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"bytes")
    os.utime(path, (age, age))
    return path


def final(folder: Path, relative: str, *, age: float = LONG_AGO) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"bytes")
    os.utime(path, (age, age))
    return path


def test_the_sweep_deletes_a_temporary_file_whose_row_never_committed(
    session: Session, folder: Path
):
    path = temporary(folder)
    report = sweep(session, folder)
    assert not path.exists()
    assert report.deleted_temporary == [path.name]


def test_the_sweep_leaves_a_temporary_file_a_live_submission_holds(
    session: Session, folder: Path
):
    path = temporary(folder)
    with path.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert not sweep(session, folder)
    assert path.exists()


def test_the_sweep_leaves_a_temporary_file_just_made(session: Session, folder: Path):
    path = temporary(folder, age=time.time())
    assert not sweep(session, folder)
    assert path.exists()


def test_the_sweep_completes_the_move_of_a_file_whose_row_committed(
    session: Session, make: Factory, folder: Path, monkeypatch
):
    # The process stopped between the commit and the move (its locks went with it).
    monkeypatch.setattr(app.rules.submission, "place",
                        lambda staged, **_: [f.close() for f in staged])
    service = make.service(fields=FILE_FIELD)
    created = file_request(session, service, make.user(), folder, upload("q.pdf", b"kept"))
    attachment = session.exec(select(Attachment)).one()
    [left] = (folder / TMP).iterdir()
    assert locate(folder, attachment.storage_path) == left  # downloads find it meanwhile
    os.utime(left, (LONG_AGO, LONG_AGO))

    report = sweep(session, folder)

    assert report.moved == [attachment.storage_path]
    assert files_under(folder) == [attachment.storage_path]
    assert attachment.storage_path.startswith(f"{created.id}/")
    assert locate(folder, attachment.storage_path) == folder / attachment.storage_path
    assert (folder / attachment.storage_path).read_bytes() == b"kept"


def test_the_sweep_deletes_old_final_files_without_a_row_and_keeps_the_rest(
    session: Session, make: Factory, folder: Path
):
    service = make.service(fields=FILE_FIELD)
    created = file_request(session, service, make.user(), folder, upload())
    kept = session.exec(select(Attachment)).one().storage_path
    os.utime(folder / kept, (LONG_AGO, LONG_AGO))
    orphan = final(folder, f"{created.id}/{'a' * 32}")
    of_no_request = final(folder, f"{created.id + 1000}/{'b' * 32}")
    recent = final(folder, f"{created.id + 1001}/{'c' * 32}", age=time.time())
    not_ours = final(folder, "backups/notes.txt")

    report = sweep(session, folder)

    assert sorted(report.deleted_orphans) == sorted(
        str(path.relative_to(folder)) for path in (orphan, of_no_request))
    assert files_under(folder) == sorted([kept, str(recent.relative_to(folder)),
                                          str(not_ours.relative_to(folder))])


# --- a real crash: kill -9 --------------------------------------------------------------

_CRASHING_SUBMISSION = """
import io, os, signal, sys
from sqlmodel import Session
import app.rules.submission
from app.rules.catalog import current_version, definition_of
from app.storage.db import get_engine
from app.rules.intake import IncomingFile, validate_intake
from app.storage.models import Service, User

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

when, service_id, requester_id, folder = sys.argv[1:]
if when == "before the commit":
    app.rules.submission._file_request = die
else:
    app.rules.submission.place = die
with Session(get_engine(), expire_on_commit=False) as session:
    service = session.get(Service, int(service_id))
    version = current_version(session, service)
    intake = validate_intake(
        session, definition=definition_of(version), values={"summary": ["A quote"]},
        uploads={"quote": [IncomingFile("q.pdf", "application/pdf", 5, io.BytesIO(b"%PDF!"))]},
        max_upload_mb=20)
    app.rules.submission.submit_request(session, service=service, version=version,
                                requester=session.get(User, int(requester_id)),
                                intake=intake, attachments_dir=__import__("pathlib").Path(folder))
"""


@pytest.mark.parametrize("when", ["before the commit", "after the commit"])
def test_after_a_kill_9_the_sweep_leaves_no_file_without_its_row(
    filed_for_real: tuple[Session, Service, User], folder: Path, when: str
):
    session, service, requester = filed_for_real
    crashed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CRASHING_SUBMISSION), when, str(service.id),
         str(requester.id), str(folder)],
        env={**os.environ, "BATON_DATABASE_URL": DATABASE_URL}, capture_output=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stderr.decode()
    [left] = (folder / TMP).iterdir()
    os.utime(left, (LONG_AGO, LONG_AGO))  # as if the server started again a while later

    report = sweep(session, folder)

    rows = session.exec(select(Attachment)).all()
    assert files_under(folder) == [row.storage_path for row in rows]
    if when == "before the commit":
        assert rows == [] and report.deleted_temporary == [left.name]
    else:
        assert report.moved == [rows[0].storage_path]
        assert (folder / rows[0].storage_path).read_bytes() == b"%PDF!"


def test_baton_serve_sweeps_before_it_serves(committed: Engine, monkeypatch):
    import uvicorn

    from app.cli import main
    from app.config import get_settings

    folder = get_settings().attachments_dir
    left = temporary(folder, "f" * 32)
    swept: list[bool] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: swept.append(not left.exists()))
    main(["serve"])
    assert swept == [True]


def test_a_sweep_report_is_empty_when_nothing_was_done():
    assert not SweepReport()
    assert SweepReport(moved=["1/x"])


def test_staging_nothing_makes_no_folder(folder: Path):
    assert stage({}, folder) == []
    assert not folder.exists()
