"""Uploaded files on disk, and how they get there without a file ever outliving its row.

Under the attachments directory (Settings.attachments_dir):

    <request id>/<name>    a stored file: the Attachment row's `storage_path`
    tmp/<name>.part        a file on its way in

**The invariant: a file exists at its final name only after the Attachment row that
names it has committed.** A submission copies each upload to `tmp/` before its write
transaction begins (so no file is copied while SQLite's write lock is held), inserts
only rows inside the transaction, and after the commit renames each file to its final
name (os.replace: one step, the same filesystem). If the transaction fails, the
temporary files are deleted. A process killed at any moment therefore leaves

- before the commit: temporary files without rows, which `sweep` deletes;
- between the commit and the renames: rows whose files still have their temporary
  name, which `sweep` moves into place (and `locate` serves from where they are);
- never a final file without a row.

While a submission runs it holds an exclusive flock on each of its temporary files. The
kernel drops the lock when the process ends, however it ends, so a sweep running while
other processes serve tells a file still being submitted from one left by a crash.

Final files without a row can only come from releases before this one (they wrote files
inside the transaction and lost them to a crash: 26 after a kill -9 under load); the
sweep deletes those once they are older than FINAL_GRACE, which leaves room for a
process of such a release still running during an upgrade.
"""

import contextlib
import fcntl
import logging
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote
from uuid import uuid4

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.rules.intake import IncomingFile, clean_filename
from app.storage.models import Attachment

log = logging.getLogger("baton.attachments")

TMP = "tmp"
PART = ".part"
FINAL_GRACE = timedelta(minutes=10)
# A temporary file is locked a few microseconds after it is created; one younger than
# this may not be locked yet, and is left alone.
TEMP_GRACE = timedelta(seconds=5)
_CHUNK = 1024 * 1024
_QUERY_BATCH = 200
_NAME = re.compile(r"[0-9a-f]{32}")


@dataclass
class StagedFile:
    """An upload copied to its temporary name, locked until it is placed or discarded."""

    field_key: str
    filename: str
    content_type: str
    name: str
    path: Path
    handle: BinaryIO
    size: int = 0

    def storage_path(self, request_id: int) -> str:
        return f"{request_id}/{self.name}"

    def close(self) -> None:
        self.handle.close()  # and with it the lock


def stage(files: Mapping[str, list[IncomingFile]], attachments_dir: Path) -> list[StagedFile]:
    """Copies every upload to a temporary name, each flushed to disk: called before the
    transaction that inserts their rows. On failure nothing staged is left."""
    staged: list[StagedFile] = []
    if not any(files.values()):
        return staged
    folder = attachments_dir / TMP
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for key, uploads in files.items():
            for upload in uploads:
                name = uuid4().hex
                path = folder / f"{name}{PART}"
                handle = path.open("xb")
                staged.append(StagedFile(
                    field_key=key, filename=upload.filename,
                    content_type=upload.content_type or "application/octet-stream",
                    name=name, path=path, handle=handle,
                ))
                _lock_while_staged(handle)
                upload.file.seek(0)
                while chunk := upload.file.read(_CHUNK):
                    handle.write(chunk)
                    staged[-1].size += len(chunk)
                handle.flush()
                # A committed row must name bytes that are on disk, not in a cache.
                os.fsync(handle.fileno())
    except BaseException:
        discard(staged)
        raise
    return staged


def _lock_while_staged(handle: BinaryIO) -> None:
    # On a filesystem without locks the sweep goes by age alone (FINAL_GRACE).
    with contextlib.suppress(OSError):
        fcntl.flock(handle, fcntl.LOCK_EX)


def place(staged: list[StagedFile], *, request_id: int, attachments_dir: Path) -> None:
    """After the rows committed: each file to its final name. A file that cannot be
    moved now stays at its temporary name, where `locate` finds it and `sweep` moves it;
    the request exists, so this never fails the submission."""
    for file in staged:
        try:
            target = attachments_dir / file.storage_path(request_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file.path, target)
        except OSError:
            log.exception("could not move %s into place; the sweep will", file.path)
        finally:
            file.close()


def discard(staged: list[StagedFile]) -> None:
    """The rows were not made: the files go."""
    for file in staged:
        try:
            file.path.unlink(missing_ok=True)
        finally:
            file.close()


def _temporary_path(attachments_dir: Path, storage_path: str) -> Path:
    return attachments_dir / TMP / f"{storage_path.rsplit('/', 1)[-1]}{PART}"


def locate(attachments_dir: Path, storage_path: str) -> Path | None:
    """Where a committed attachment's bytes are: at its final name, or still at its
    temporary one when the process that committed it was stopped before the move."""
    for path in (attachments_dir / storage_path, _temporary_path(attachments_dir, storage_path)):
        if path.is_file():
            return path
    return None


def content_disposition(filename: str) -> str:
    """`attachment` with the file's name for every browser (RFC 6266): a plain ASCII
    `filename` for old ones and the exact name, percent-encoded UTF-8, as `filename*`."""
    name = clean_filename(filename)
    # "é" falls back to "e" (its accent split off and dropped), other letters to "_".
    decomposed = unicodedata.normalize("NFKD", name)
    fallback = "".join(
        "_" if not char.isascii() or not char.isprintable() or char in '"\\%' else char
        for char in decomposed if not unicodedata.combining(char)
    )
    if not fallback.strip("._ "):
        extension = Path(fallback).suffix
        fallback = f"download{extension if extension.strip('._') else ''}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- the sweep ---------------------------------------------------------------------------


@dataclass
class SweepReport:
    moved: list[str] = field(default_factory=list)
    deleted_temporary: list[str] = field(default_factory=list)
    deleted_orphans: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.moved or self.deleted_temporary or self.deleted_orphans)


def _age(path: Path, now: float) -> timedelta | None:
    try:
        return timedelta(seconds=now - path.stat().st_mtime)
    except FileNotFoundError:
        return None


def _lock_if_abandoned(path: Path, now: float) -> BinaryIO | None:
    """The open, locked temporary file when no live submission holds it, else None."""
    age = _age(path, now)
    if age is None or age < TEMP_GRACE:
        return None
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None  # placed or discarded meanwhile
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except OSError:
        # A filesystem without locks: only a file old enough is surely abandoned.
        if age < FINAL_GRACE:
            handle.close()
            return None
    if not path.exists():  # placed or discarded between the open and the lock
        handle.close()
        return None
    return handle


def _batches(items: list[str], size: int = _QUERY_BATCH) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def sweep_temporary(session: Session, attachments_dir: Path, report: SweepReport) -> None:
    """Temporary files no live submission holds: moved into place when their row
    committed, deleted when it did not."""
    folder = attachments_dir / TMP
    if not folder.is_dir():
        return
    now = time.time()
    abandoned: dict[str, tuple[Path, BinaryIO]] = {}
    try:
        for path in folder.iterdir():
            name = path.name.removesuffix(PART)
            if path.suffix != PART or not _NAME.fullmatch(name):
                continue
            handle = _lock_if_abandoned(path, now)
            if handle is not None:
                abandoned[name] = (path, handle)
        committed: dict[str, str] = {}
        for names in _batches(sorted(abandoned)):
            # Rows name files "<request id>/<name>"; the request id is not in the
            # temporary name, so this matches the end (a scan, only after a crash).
            rows = session.exec(select(Attachment.storage_path).where(or_(
                *(col(Attachment.storage_path).endswith(f"/{name}") for name in names)
            ))).all()
            committed.update((row.rsplit("/", 1)[-1], row) for row in rows)
        for name, (path, _handle) in abandoned.items():
            if name in committed:
                target = attachments_dir / committed[name]
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                report.moved.append(committed[name])
            else:
                path.unlink(missing_ok=True)
                report.deleted_temporary.append(path.name)
    finally:
        for _path, handle in abandoned.values():
            handle.close()


def _request_folders(attachments_dir: Path) -> list[str]:
    return sorted(entry.name for entry in os.scandir(attachments_dir)
                  if entry.is_dir() and entry.name.isdigit())


def sweep_orphans(session: Session, attachments_dir: Path, report: SweepReport) -> None:
    """Final files older than FINAL_GRACE that no Attachment row names (left by crashes
    of releases before the invariant above). One query per _QUERY_BATCH folders."""
    if not attachments_dir.is_dir():
        return
    now = time.time()
    for folders in _batches(_request_folders(attachments_dir)):
        known = set(session.exec(select(Attachment.storage_path).where(
            col(Attachment.request_id).in_([int(folder) for folder in folders])
        )).all())
        for folder in folders:
            for path in _files_in(attachments_dir / folder):
                relative = f"{folder}/{path.name}"
                age = _age(path, now)
                if relative not in known and age is not None and age >= FINAL_GRACE:
                    path.unlink(missing_ok=True)
                    report.deleted_orphans.append(relative)


def _files_in(folder: Path) -> Iterable[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(folder) if entry.is_file()]
    except FileNotFoundError:
        return []


def sweep(session: Session, attachments_dir: Path) -> SweepReport:
    """Brings the attachments directory back to the invariant after a crash; safe to run
    while other processes serve (see the module's docstring). Run by `baton serve` as
    it starts."""
    report = SweepReport()
    sweep_temporary(session, attachments_dir, report)
    sweep_orphans(session, attachments_dir, report)
    return report
