"""Backup and restore (app/rules/backup.py, `baton backup` and `baton restore`): a backup taken
while requests with files are being filed restores to one consistent moment, every row
and every file of it; a damaged backup or a database in use is refused.

On SQLite and on PostgreSQL (pg_dump and pg_restore; the restore goes to a database of
this test's own, created and dropped on the test server)."""

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.cli import main
from app.config import get_settings
from app.rules.backup import MANIFEST, BackupError, backup, read_manifest, restore
from app.rules.intake import IncomingFile
from app.storage.models import Attachment, ServiceRequest, Task, User
from tests.factories import Factory
from tests.production.conftest import wait_until

QUOTE = {"key": "quote", "label": "Quote", "type": "file", "max_files": 3, "max_size_mb": 1}
SUMMARY = {"key": "summary", "label": "Summary", "type": "text", "required": True}
STEPS = [("it", "task"), ("finance", "approval")]


@dataclass
class Filed:
    request_id: int
    began: float
    ended: float
    files: dict[str, str]  # file name -> sha256 of what was uploaded


def _upload(name: str, content: bytes) -> IncomingFile:
    return IncomingFile(filename=name, content_type="application/pdf", size=len(content),
                        file=io.BytesIO(content))


class Filing:
    """A thread filing requests with two files each, through the domain rules, on its
    own connection, until stopped."""

    def __init__(self, engine: Engine, service_id: int, person_id: int):
        self.engine = engine
        self.service_id, self.person_id = service_id, person_id
        self.filed: list[Filed] = []
        self.error: BaseException | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                make = Factory(session)
                from app.storage.models import Service

                service = session.get(Service, self.service_id)
                person = session.get(User, self.person_id)
                assert service and person
                number = 0
                while not self.stopping.is_set():
                    number += 1
                    contents = {f"quote-{number}-{side}.pdf": f"%PDF {number} {side} ".encode()
                                * (50 + number) for side in ("a", "b")}
                    began = time.monotonic()
                    request = make.request(service, person, {"summary": f"Need {number}"},
                                           uploads={"quote": [_upload(name, content) for
                                                              name, content in contents.items()]})
                    self.filed.append(Filed(request.id, began, time.monotonic(), {
                        name: hashlib.sha256(content).hexdigest()
                        for name, content in contents.items()}))
        except BaseException as error:  # reported by the test
            self.error = error

    def __enter__(self) -> "Filing":
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)


@pytest.fixture
def restore_target(committed: Engine, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own to restore into."""
    if committed.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'baton.db'}"
        return
    name = f"{committed.url.database}_restore"
    server = create_engine(committed.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield committed.url.set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def _setup(engine: Engine) -> tuple[int, int]:
    with Session(engine, expire_on_commit=False) as setup:
        make = Factory(setup)
        service = make.service(slug="quotes", steps=STEPS, fields=[SUMMARY, QUOTE])
        person = make.user("Rita")
        setup.commit()
        return service.id, person.id


def _count(session: Session, model: type, *where) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_backup_taken_while_requests_are_filed_restores_every_row_and_file(
    committed: Engine, tmp_path: Path, restore_target: str,
):
    service_id, person_id = _setup(committed)
    live_files = get_settings().attachments_dir
    folder = tmp_path / "backup"
    with Filing(committed, service_id, person_id) as filing:
        wait_until(lambda: len(filing.filed) >= 5 or filing.error is not None, seconds=60,
                   what="requests are being filed")
        began = time.monotonic()
        summary = backup(database_url=committed.url.render_as_string(hide_password=False),
                         attachments_dir=live_files, folder=folder)
        ended = time.monotonic()
        wait_until(lambda: any(f.began > ended for f in filing.filed) or filing.error
                   is not None, seconds=60, what="requests are filed after the backup")
    assert filing.error is None, repr(filing.error)
    manifest = read_manifest(folder)

    restored_files = tmp_path / "restored-attachments"
    restored = restore(folder=folder, database_url=restore_target,
                       attachments_dir=restored_files)
    assert restored.rows == manifest["rows"] == summary.rows

    engine = create_engine(restore_target)
    try:
        with Session(engine) as check:
            # Every table holds exactly the rows the backup counted.
            for table, rows in manifest["rows"].items():
                assert check.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one() \
                    == rows, table
            ids = set(check.exec(select(ServiceRequest.id)).all())
            # One moment: all that was filed before the backup began, nothing filed after
            # it ended, and each request whole, with its tasks and both files.
            assert {f.request_id for f in filing.filed if f.ended < began} <= ids
            assert not {f.request_id for f in filing.filed if f.began > ended} & ids
            assert len(ids) >= 5
            for filed in filing.filed:
                if filed.request_id not in ids:
                    continue
                assert _count(check, Task, col(Task.request_id) == filed.request_id) \
                    == len(STEPS)
                rows = check.exec(select(Attachment).where(
                    col(Attachment.request_id) == filed.request_id)).all()
                assert {row.filename: _sha256(restored_files / row.storage_path)
                        for row in rows} == filed.files
                for row in rows:
                    assert (restored_files / row.storage_path).stat().st_size == row.size
            # And no file without its row.
            stored = set(check.exec(select(Attachment.storage_path)).all())
    finally:
        engine.dispose()
    on_disk = {path.relative_to(restored_files).as_posix()
               for path in restored_files.rglob("*") if path.is_file()}
    assert on_disk == stored
    assert restored.files == len(stored) == manifest["rows"]["attachment"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def a_backup(committed: Engine, tmp_path: Path) -> Path:
    service_id, person_id = _setup(committed)
    with Session(committed, expire_on_commit=False) as session:
        make = Factory(session)
        from app.storage.models import Service

        service, person = session.get(Service, service_id), session.get(User, person_id)
        assert service and person
        make.request(service, person, {"summary": "A quote"},
                     uploads={"quote": [_upload("q.pdf", b"%PDF the quote")]})
    folder = tmp_path / "backup"
    backup(database_url=committed.url.render_as_string(hide_password=False),
           attachments_dir=get_settings().attachments_dir, folder=folder)
    return folder


def test_restore_refuses_a_backup_whose_file_changed_and_restores_nothing(
    a_backup: Path, restore_target: str, tmp_path: Path,
):
    [stored] = [path for path in (a_backup / "attachments").rglob("*") if path.is_file()]
    stored.write_bytes(b"%PDF not the quote")
    with pytest.raises(BackupError) as refused:
        restore(folder=a_backup, database_url=restore_target,
                attachments_dir=tmp_path / "restored-attachments")
    assert "does not match its manifest; nothing was restored" in str(refused.value)
    assert f"attachments/{stored.parent.name}/{stored.name}: changed" in str(refused.value)
    assert not (tmp_path / "restored-attachments").exists()


def test_restore_refuses_a_database_that_holds_data_unless_forced(
    a_backup: Path, restore_target: str, tmp_path: Path,
):
    files = tmp_path / "restored-attachments"
    restore(folder=a_backup, database_url=restore_target, attachments_dir=files)
    (files / "stray.bin").write_bytes(b"left by something else")
    with pytest.raises(BackupError) as refused:
        restore(folder=a_backup, database_url=restore_target, attachments_dir=files)
    assert "already holds" in str(refused.value) and "--force" in str(refused.value)

    again = restore(folder=a_backup, database_url=restore_target, attachments_dir=files,
                    force=True)
    assert again.rows["service_request"] == 1 and again.files == 1
    assert again.removed_files == ["stray.bin"]


def test_a_backup_goes_only_into_a_new_or_empty_folder(committed: Engine, tmp_path: Path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "old.txt").write_text("something")
    with pytest.raises(BackupError, match="is not empty"):
        backup(database_url=committed.url.render_as_string(hide_password=False),
               attachments_dir=get_settings().attachments_dir, folder=tmp_path / "backup")


def test_a_folder_without_a_manifest_is_no_backup(restore_target: str, tmp_path: Path):
    with pytest.raises(BackupError, match="is not a Baton backup"):
        restore(folder=tmp_path, database_url=restore_target, attachments_dir=tmp_path / "a")


def test_the_commands_say_what_they_did_and_refuse_to_overwrite(
    committed: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
):
    _setup(committed)
    main(["backup", str(tmp_path / "backup")])
    said = capsys.readouterr().out
    assert f"Backed up to {tmp_path / 'backup'}" in said and "1 people" in said
    assert (tmp_path / "backup" / MANIFEST).is_file()

    with pytest.raises(SystemExit) as stopped:
        main(["restore", str(tmp_path / "backup")])
    assert stopped.value.code == 1
    assert "already holds" in capsys.readouterr().err
