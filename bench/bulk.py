"""Loading rows fast: one long transaction of executemany on SQLite, COPY on PostgreSQL,
with the big tables' secondary indexes dropped during the load and built once after it
(building an index from sorted data is far cheaper than keeping it up to date row by
row). Only the benchmark seed uses this; Baton itself writes through its rules."""

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import psycopg
from sqlalchemy import Index, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, DropIndex


class Loader(Protocol):
    def stamp(self, moment: datetime) -> Any: ...
    def write(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None: ...
    def drop_indexes(self, tables: Sequence[Table]) -> list[Index]: ...
    def create_indexes(self, indexes: list[Index]) -> None: ...
    def finish(self) -> None: ...


def indexes_of(tables: Sequence[Table], dialect_name: str) -> list[Index]:
    """The tables' indexes this database has: some are made on one database only
    (`ddl_if`, e.g. the typed-answer report's)."""
    return [index for table in tables for index in table.indexes
            if getattr(getattr(index, "_ddl_if", None), "dialect", None) in (None, dialect_name)]


def _quoted(name: str) -> str:
    return f'"{name}"'


class SqliteLoader:
    """Writes straight to the file with the journal and fsyncs off: a seed that dies half
    way leaves a broken file, which is fine for a benchmark database and ten times
    faster. The file goes back to WAL, Baton's mode, at the end."""

    dialect = sqlite.dialect()

    def __init__(self, path: str):
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF",
                       "cache_size=-1000000", "temp_store=MEMORY",
                       "locking_mode=EXCLUSIVE"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.execute("BEGIN")

    def stamp(self, moment: datetime) -> str:
        # SQLAlchemy's own storage format for a UTC moment on SQLite, so that the seed's
        # rows compare and sort exactly like the app's.
        return moment.isoformat(" ", "microseconds")[:26]

    def write(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        marks = ", ".join("?" * len(columns))
        names = ", ".join(_quoted(c) for c in columns)
        self.connection.executemany(
            f"INSERT INTO {_quoted(table)} ({names}) VALUES ({marks})", rows)

    def drop_indexes(self, tables: Sequence[Table]) -> list[Index]:
        indexes = indexes_of(tables, "sqlite")
        for index in indexes:
            self.connection.execute(str(DropIndex(index).compile(dialect=self.dialect)))
        return indexes

    def create_indexes(self, indexes: list[Index]) -> None:
        for index in indexes:
            self.connection.execute(str(CreateIndex(index).compile(dialect=self.dialect)))

    def finish(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.execute("PRAGMA locking_mode=NORMAL")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.close()


class PostgresLoader:
    """COPY in one transaction. Foreign keys are not checked row by row during the load
    (session_replication_role=replica skips their triggers; it needs a superuser):
    the history generator makes every reference itself."""

    dialect = postgresql.dialect()

    def __init__(self, url: str):
        self.connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        with self.connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute("SET session_replication_role = replica")

    def stamp(self, moment: datetime) -> str:
        return moment.isoformat()

    def write(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        names = ", ".join(_quoted(c) for c in columns)
        with self.connection.cursor() as cursor, cursor.copy(
            f"COPY {_quoted(table)} ({names}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)

    def drop_indexes(self, tables: Sequence[Table]) -> list[Index]:
        indexes = indexes_of(tables, "postgresql")
        with self.connection.cursor() as cursor:
            for index in indexes:
                cursor.execute(str(DropIndex(index).compile(dialect=self.dialect)))
        return indexes

    def create_indexes(self, indexes: list[Index]) -> None:
        with self.connection.cursor() as cursor:
            for index in indexes:
                cursor.execute(str(CreateIndex(index).compile(dialect=self.dialect)))

    def set_sequences(self, tables: Sequence[str]) -> None:
        with self.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{_quoted(table)}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {_quoted(table)}), false)")

    def finish(self) -> None:
        self.connection.commit()
        # VACUUM sets the visibility map (index-only scans) and ANALYZE the statistics,
        # as autovacuum would soon after a load this size.
        self.connection.autocommit = True
        with self.connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
            # Write the load's dirty buffers now: otherwise the checkpointer spends the
            # next minutes doing it, on the cores the benchmark then measures with.
            cursor.execute("CHECKPOINT")
        self.connection.close()
