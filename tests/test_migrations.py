"""The migrations build exactly the schema the models describe (the test database was
made by running them, see conftest)."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlmodel import SQLModel

import app.storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.storage.db import make_engine
from app.storage.migrate import alembic_config, upgrade
from app.storage.search_index import POSTGRESQL_TABLES, SQLITE_TABLES

# The search index's tables, which the models do not describe (an FTS5 table and its
# own; app.storage.search_index).
SEARCH_TABLES = set(SQLITE_TABLES) | set(POSTGRESQL_TABLES)


def _on_this_database(dialect: str):  # type: ignore[no-untyped-def]
    """Alembic's comparison knows nothing of SQLAlchemy's ddl_if: an index the models
    make on one database only (Index(...).ddl_if(dialect=...)) is left out elsewhere.
    By name, as a copy of the metadata (to_metadata) does not keep ddl_if."""
    only = {index.name: index._ddl_if.dialect for table in SQLModel.metadata.tables.values()
            for index in table.indexes if index._ddl_if is not None}

    def include(_item, name, type_, _reflected, _compare_to) -> bool:  # type: ignore[no-untyped-def]
        if type_ == "table":
            return name not in SEARCH_TABLES
        return type_ != "index" or only.get(name, dialect) == dialect
    return include


def test_the_migrated_database_matches_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": _on_this_database(engine.dialect.name)})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_the_comparison_would_see_a_column_the_migrations_lack(engine):
    # Guards the test above against passing vacuously (say, compared with no tables).
    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["team"].append_column(Column("colour", String(20)))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": _on_this_database(engine.dialect.name)})
        differences = compare_metadata(context, changed)
    assert [(d[0], d[2], d[3].name) for d in differences] == [("add_column", "team", "colour")]


def test_the_database_is_at_the_newest_migration(engine):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


def test_every_model_has_its_table(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    search = set(SQLITE_TABLES if engine.dialect.name == "sqlite" else POSTGRESQL_TABLES)
    assert tables - set(SQLModel.metadata.tables) == {"alembic_version"} | search


def test_migrating_a_database_that_holds_data_keeps_it(tmp_path):
    """From the release before the versions tables, with teams that rows refer to (a
    draft of them dropped a column in batch mode, which copied the team table on SQLite
    and broke those rows' foreign keys: caught on a seeded database, never on the
    tests' empty one)."""
    url = f"sqlite:///{tmp_path / 'earlier.db'}"
    command.upgrade(alembic_config(url), "0006")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO team (id, slug, name) VALUES (1, 'it', 'IT')"))
        connection.execute(text(
            "INSERT INTO \"user\" (id, email, name, password_hash, is_manager, is_admin, "
            "is_active, created_at) VALUES (1, 'pat@example.com', 'Pat', '', 0, 0, 1, "
            "'2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO membership (team_id, user_id, is_lead) VALUES (1, 1, 0)"))

    upgrade(url)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT slug FROM team")).scalars().all() == ["it"]
        assert connection.execute(text("SELECT count(*) FROM membership")).scalar() == 1
    engine.dispose()


def test_the_insights_figures_migration_fills_them_from_the_history(tmp_path):
    """0011 computes the figures of the requests and tasks already there, as a recount
    would (here: made at the newest schema, then the figures dropped and made again)."""
    from datetime import timedelta

    from sqlmodel import Session

    from app.rules.tasks import claim_task, complete_task
    from app.storage import flow_figures
    from app.storage.clock import frozen_at, utcnow
    from tests.factories import Factory

    url = f"sqlite:///{tmp_path / 'history.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        make = Factory(session)
        service = make.service(steps=[("it", "task"), ("hr", "approval")], target_hours=4)
        ivan = make.user("Ivan", teams=("it",))
        rita = make.user("Rita")
        start = utcnow() - timedelta(days=20)
        for offset in range(3):
            with frozen_at(start + timedelta(days=offset * 3)):
                request = make.request(service, rita)
            with frozen_at(start + timedelta(days=offset * 3, hours=offset + 1)):
                claim_task(session, task=make.tasks(request)[0], by=ivan)
            with frozen_at(start + timedelta(days=offset * 3, hours=8)):
                complete_task(session, task=make.tasks(request)[0], by=ivan)
        kept = flow_figures.stored(session)
    assert len(kept.durations) == 3 and kept.service_weeks

    command.downgrade(alembic_config(url), "0010")
    upgrade(url)

    with Session(engine) as session:
        assert flow_figures.stored(session) == kept == flow_figures.from_history(session)
    engine.dispose()
