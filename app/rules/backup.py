"""Backup and restore (`baton backup DIR`, `baton restore DIR`), safe while Baton serves.

A backup folder holds

    manifest.json      what the backup is: the database kind, the row count of every
                       table, and the size and SHA-256 of every file below
    baton.db           SQLite: a copy made with SQLite's online backup API
    baton.dump         PostgreSQL: pg_dump's custom format
    attachments/...    the uploaded files the copied database names, at their storage paths

**Consistent:** the database is copied first, as one snapshot (SQLite's backup API reads
it in one read transaction, which writers in WAL mode do not wait for; pg_dump runs on a
snapshot this module exports, and the attachment rows and row counts are read in that
same snapshot). Then exactly the files its Attachment rows name are copied. A file
exists once its row has committed (app.rules.attachments), so every row of the snapshot has
its file; files of requests filed after the snapshot are not in the backup, as their
rows are not. The manifest is written last: a folder without one is no backup.

`restore` checks every file against the manifest before it changes anything, refuses a
database that already holds people, services or requests unless forced, and puts the
database, then the files, back.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from glob import glob
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from app.rules.attachments import locate

MANIFEST = "manifest.json"
SQLITE_FILE = "baton.db"
DUMP_FILE = "baton.dump"
ATTACHMENTS = "attachments"
FORMAT = 1
# The tables whose rows make a database "in use": restoring over them needs --force.
_IN_USE = ("user", "service", "service_request")
_CHUNK = 1024 * 1024
# A row's file is found at its final or its temporary name (app.rules.attachments.locate); it
# can move between the two while it is copied, so it is looked for again a few times.
_FIND_ATTEMPTS = 5

POSTGRESQL_HELP = """\
Baton backs PostgreSQL up with pg_dump, which was not found (install the PostgreSQL client
of the server's version, e.g. apt-get install postgresql-client). By hand, see
docs/OPERATIONS.md:
  pg_dump --format=custom --file=baton.dump "$DATABASE"   # a consistent snapshot
  then copy BATON_DATA_DIR/attachments (after the dump: every row then has its file)."""


class BackupError(Exception):
    """Nothing usable was made or changed; the message says why and what to do."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {problem}" for problem in self.problems)])


@dataclass
class Summary:
    """What a backup holds, or what a restore brought back."""

    folder: Path
    kind: str
    rows: dict[str, int]
    files: int
    bytes: int
    removed_files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        counts = ", ".join(f"{self.rows.get(table, 0):,} {label}" for table, label in (
            ("service_request", "requests"), ("task", "tasks"), ("attachment", "attachments"),
            ("user", "people"), ("service", "services")))
        return (f"{self.kind} database ({counts}) and {self.files:,} files "
                f"({self.bytes / 1_000_000:.1f} MB)")


# --- backup ------------------------------------------------------------------------------


def backup(*, database_url: str, attachments_dir: Path, folder: Path) -> Summary:
    """Copies the database and its files into `folder` (new or empty)."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: back up into a new or empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    kind = _kind(database_url)
    if kind == "sqlite":
        database_file = folder / SQLITE_FILE
        rows, stored = _copy_sqlite(_sqlite_path(database_url), database_file)
    else:
        database_file = folder / DUMP_FILE
        rows, stored = _dump_postgresql(database_url, database_file)
    files = [_entry(folder, database_file)]
    missing: list[str] = []
    for storage_path, size in stored:
        copied = _copy_attachment(attachments_dir, storage_path, folder / ATTACHMENTS)
        if copied is None or copied.stat().st_size != size:
            missing.append(f"{storage_path} ({'missing' if copied is None else 'wrong size'})")
        else:
            files.append(_entry(folder, copied))
    if missing:
        raise BackupError(f"The backup in {folder} is incomplete: files the database names "
                          f"are missing from {attachments_dir}. No manifest was written.",
                          missing)
    manifest = {"format": FORMAT, "made_at": datetime.now(UTC).isoformat(), "kind": kind,
                "database": database_file.name, "rows": rows, "files": files}
    _write_atomically(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
    return Summary(folder=folder, kind=kind, rows=rows, files=len(files) - 1,
                   bytes=sum(entry["size"] for entry in files[1:]))


def _copy_sqlite(source: Path, target: Path) -> tuple[dict[str, int], list[tuple[str, int]]]:
    if not source.is_file():
        raise BackupError(f"There is no SQLite database at {source}.")
    with _sqlite(source) as live, _sqlite(target) as copy:
        # One step (pages=-1): the whole copy is read in one read transaction, so it is
        # one moment's database; in WAL mode writers go on meanwhile.
        live.backup(copy)
        # One self-contained file, without -wal and -shm companions.
        copy.execute("PRAGMA journal_mode=DELETE")
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return _counts(connection), _stored_files(connection)
    finally:
        engine.dispose()


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def _dump_postgresql(url: str, target: Path) -> tuple[dict[str, int], list[tuple[str, int]]]:
    pg_dump = _client("pg_dump")
    if pg_dump is None:
        raise BackupError(POSTGRESQL_HELP)
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            # pg_dump reads the very snapshot this transaction sees, and so do the row
            # counts and the list of files: all of one moment.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            rows, stored = _counts(connection), _stored_files(connection)
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", f"--file={target}", "--dbname", _libpq(url)],
                 url, "pg_dump")
            connection.rollback()
    finally:
        engine.dispose()
    return rows, stored


def _copy_attachment(attachments_dir: Path, storage_path: str, into: Path) -> Path | None:
    target = into / storage_path
    target.parent.mkdir(parents=True, exist_ok=True)
    for _attempt in range(_FIND_ATTEMPTS):
        source = locate(attachments_dir, storage_path)
        if source is None:
            return None
        try:
            shutil.copyfile(source, target)
            return target
        except FileNotFoundError:
            continue  # moved from its temporary name to its final one meanwhile
    return None


# --- restore -----------------------------------------------------------------------------


def restore(*, folder: Path, database_url: str, attachments_dir: Path,
            force: bool = False) -> Summary:
    """Checks the backup in `folder`, then replaces the database and the attachments
    with it. Stop Baton first: a running Baton would serve pages it kept in memory."""
    manifest = read_manifest(folder)
    problems = verify(folder, manifest)
    if problems:
        raise BackupError(f"The backup in {folder} does not match its manifest; nothing was "
                          "restored.", problems)
    kind = _kind(database_url)
    if manifest["kind"] != kind:
        raise BackupError(f"This is a backup of a {manifest['kind']} database and "
                          f"BATON_DATABASE_URL names a {kind} one; nothing was restored.")
    in_use = _rows_in_use(database_url)
    if in_use and not force:
        raise BackupError(
            f"The database already holds {in_use}; nothing was restored. Restoring replaces "
            "it and the attachments: add --force if that is what you want.")
    if kind == "sqlite":
        _restore_sqlite(folder / manifest["database"], _sqlite_path(database_url))
    else:
        _restore_postgresql(folder / manifest["database"], database_url)
    wanted = {entry["path"].removeprefix(f"{ATTACHMENTS}/"): entry
              for entry in manifest["files"] if entry["path"].startswith(f"{ATTACHMENTS}/")}
    removed = _files_not_in(attachments_dir, set(wanted))
    for relative, entry in wanted.items():
        _copy_atomically(folder / entry["path"], attachments_dir / relative)
    rows = _rows_of(database_url)
    differ = [f"{table}: {count:,} in the backup, {rows.get(table, 0):,} restored"
              for table, count in manifest["rows"].items() if rows.get(table, 0) != count]
    if differ:
        raise BackupError("The restored database does not hold what the backup did:", differ)
    return Summary(folder=folder, kind=kind, rows=rows, files=len(wanted),
                   bytes=sum(entry["size"] for entry in wanted.values()),
                   removed_files=removed)


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a Baton backup (it has no {MANIFEST}, or the "
                          "backup did not finish).") from None
    except ValueError as error:
        raise BackupError(f"{folder / MANIFEST} cannot be read: {error}.") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder / MANIFEST} is of a format this Baton does not know.")
    return manifest


def verify(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Every file the manifest lists, present with its size and checksum: the problems."""
    problems = []
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if not path.resolve().is_relative_to(folder.resolve()):
            problems.append(f"{entry['path']}: outside the backup folder")
        elif not path.is_file():
            problems.append(f"{entry['path']}: missing")
        elif path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: changed since the backup (size or checksum)")
    return problems


def _restore_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Through SQLite itself (not a file copy): the live file's WAL and locks stay right.
    with _sqlite(source) as copy, _sqlite(target) as live:
        copy.backup(live)


def _restore_postgresql(dump: Path, url: str) -> None:
    pg_restore = _client("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore was not found: install the PostgreSQL client of the "
                          "server's version (see docs/OPERATIONS.md).")
    # --clean drops what the dump holds before it is recreated, in one transaction.
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", "--dbname", _libpq(url), str(dump)],
         url, "pg_restore")


def _files_not_in(attachments_dir: Path, wanted: set[str]) -> list[str]:
    """Deletes the files of the attachments folder the backup does not hold (their rows
    are gone with the database it replaced)."""
    removed = []
    if attachments_dir.is_dir():
        for path in sorted(attachments_dir.rglob("*")):
            relative = path.relative_to(attachments_dir).as_posix()
            if path.is_file() and relative not in wanted:
                path.unlink()
                removed.append(relative)
    return removed


# --- shared -------------------------------------------------------------------------------


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"Baton cannot back up a {backend} database.")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("BATON_DATABASE_URL names no SQLite file.")
    return Path(database)


def _counts(connection: Connection) -> dict[str, int]:
    return {table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in sorted(inspect(connection).get_table_names())}


def _stored_files(connection: Connection) -> list[tuple[str, int]]:
    return [(row[0], row[1]) for row in connection.execute(
        text("SELECT storage_path, size FROM attachment ORDER BY id"))]


def _rows_in_use(url: str) -> str:
    rows = _rows_of(url)
    held = [f"{rows[table]:,} rows in {table}" for table in _IN_USE if rows.get(table)]
    return ", ".join(held)


def _rows_of(url: str) -> dict[str, int]:
    if _kind(url) == "sqlite" and not _sqlite_path(url).exists():
        return {}
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return _counts(connection)
    finally:
        engine.dispose()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(folder: Path, path: Path) -> dict[str, Any]:
    return {"path": path.relative_to(folder).as_posix(), "size": path.stat().st_size,
            "sha256": _sha256(path)}


def _write_atomically(target: Path, content: bytes) -> None:
    with _atomically(target) as file:
        file.write(content)


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with _atomically(target) as file, source.open("rb") as original:
        shutil.copyfileobj(original, file, _CHUNK)


@contextmanager
def _atomically(target: Path) -> Iterator[BinaryIO]:
    """A file written under a temporary name, flushed to disk and then renamed to
    `target`: never seen half-written."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _client(program: str) -> str | None:
    """A PostgreSQL client program: on the PATH, else the newest of Debian's."""
    found = shutil.which(program)
    if found:
        return found
    candidates = sorted(glob(f"/usr/lib/postgresql/*/bin/{program}"),
                        key=lambda path: int(Path(path).parts[-3]) if
                        Path(path).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def _libpq(url: str) -> str:
    """The URL as libpq reads it, without the password (passed in PGPASSWORD)."""
    return make_url(url).set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def _run(command: list[str], url: str, name: str) -> None:
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{name} failed (exit {done.returncode}); nothing was changed.",
                          [line for line in (done.stderr or done.stdout).splitlines() if line])
