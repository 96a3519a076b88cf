"""On SQLite the write-ahead log is copied back into the database file every few write
transactions, on a thread of its own (app.storage.sqlite_checkpoints), long before
SQLite's own threshold (1,000 pages) would make a request wait for it. A file database
of the test's own, whichever database the suite runs on."""

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.config import get_settings
from app.storage import sqlite_checkpoints
from app.storage.db import begin_write, make_engine


def _file_size_after_writes(path: Path, writes: int) -> tuple[int, int]:
    """The database file's size before and after `writes` write transactions of a few
    pages each (far below SQLite's own checkpoint)."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS note (body TEXT)"))
        sqlite_checkpoints.settle()
        before = path.stat().st_size
        with Session(engine) as session:
            for _ in range(writes):
                begin_write(session)
                session.execute(text("INSERT INTO note VALUES (:body)"), {"body": "x" * 8000})
                session.commit()
        sqlite_checkpoints.settle()
        return before, path.stat().st_size
    finally:
        engine.dispose()


def test_every_eighth_write_has_the_log_copied_into_the_file(tmp_path: Path):
    assert get_settings().sqlite_checkpoint_every == 8
    before, after = _file_size_after_writes(tmp_path / "seven.db", 7)
    assert after == before  # seven writes: still in the log
    before, after = _file_size_after_writes(tmp_path / "eight.db", 8)
    # The eighth: the log copied into the file, at least the seven before it (the
    # eighth's own pages may still be on their way: the check is asked for as it commits).
    assert after >= before + 7 * 8000


def test_with_the_switch_at_0_sqlite_checkpoints_by_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(get_settings(), "sqlite_checkpoint_every", 0)
    before, after = _file_size_after_writes(tmp_path / "own.db", 8)
    assert after == before


def test_a_database_file_replaced_at_its_path_gets_the_checkpoints(tmp_path: Path):
    path = tmp_path / "replaced.db"
    _file_size_after_writes(path, 8)  # the checkpoint's connection opens this file
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    before, after = _file_size_after_writes(path, 8)  # a new file at the same path
    assert after >= before + 7 * 8000


def test_a_checkpoint_that_cannot_be_asked_for_never_stops_a_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def refused(*_args: object) -> None:
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(sqlite_checkpoints._state.thread, "submit", refused)
    path = tmp_path / "refused.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE note (body TEXT)"))
        with Session(engine) as session:
            for _ in range(9):
                begin_write(session)
                session.execute(text("INSERT INTO note VALUES ('x')"))
                session.commit()
            assert session.execute(text("SELECT count(*) FROM note")).scalar_one() == 9
    finally:
        engine.dispose()
    monkeypatch.undo()
    # Not left marked as asked for: the next eighth write asks again.
    before, after = _file_size_after_writes(path, 8)
    assert after > before  # stuck as asked for, nothing would ever be copied again
