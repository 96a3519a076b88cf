"""The `baton` command. It uses its own engine from settings and commits for real, so
these tests use `committed` (every table emptied afterwards) and look with their own
sessions, never the rolled-back `session`."""

from pathlib import Path

import pytest
import tomli_w
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.cli import main
from app.rules.sign_in import verify_password
from app.storage.models import Membership, Service, Team, User

SERVICES = Path(__file__).parent.parent / "services"
PASSWORD = "correct horse battery"


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def add_team(engine: Engine, slug: str) -> None:
    with Session(engine) as session:
        session.add(Team(slug=slug, name=slug.upper()))
        session.commit()


def user_by_email(engine: Engine, email: str) -> User | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(User).where(User.email == email)).first()


def memberships(engine: Engine, user: User) -> list[tuple[str, bool]]:
    with Session(engine) as session:
        return list(session.exec(
            select(Team.slug, Membership.is_lead)
            .join(Team, col(Team.id) == Membership.team_id)
            .where(Membership.user_id == user.id).order_by(Team.slug)
        ))


def exit_code(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    return raised.value.code


def test_importing_a_bad_folder_exits_with_the_file_and_key_on_stderr(
    committed, tmp_path, capsys
):
    (tmp_path / "teams.toml").write_text(
        tomli_w.dumps({"teams": [{"slug": "it", "name": "IT"}]})
    )
    good = {"slug": "good", "name": "Good", "category": "C",
            "steps": [{"name": "Do", "team": "it"}]}
    (tmp_path / "good.toml").write_text(tomli_w.dumps(good))
    (tmp_path / "desk.toml").write_text(tomli_w.dumps(
        {**good, "slug": "desk", "steps": [{"name": "Do", "team": "it", "kind": "review"}]}
    ))
    assert exit_code(["catalog", "import", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "Nothing was imported" in err
    assert f"{tmp_path / 'desk.toml'}: steps.0.kind: " in err
    assert out == ""
    assert count(committed, Service) == 0
    assert count(committed, Team) == 0


def test_importing_the_example_catalog_reports_what_it_created_then_nothing_new(
    committed, capsys
):
    slugs = sorted(p.stem for p in SERVICES.glob("*.toml") if p.name != "teams.toml")
    main(["catalog", "import", str(SERVICES)])
    out = capsys.readouterr().out
    assert f"New services: {', '.join(slugs)}" in out
    assert f"Teams created: {count(committed, Team)}" in out
    assert count(committed, Service) == len(slugs)

    main(["catalog", "import", str(SERVICES)])
    out = capsys.readouterr().out
    assert "Teams created: 0" in out
    assert "New services: —" in out and "New versions: —" in out
    assert f"Unchanged: {', '.join(slugs)}" in out


def test_exporting_writes_and_lists_one_file_per_service_and_the_teams(
    committed, tmp_path, capsys
):
    main(["catalog", "import", str(SERVICES)])
    capsys.readouterr()
    main(["catalog", "export", str(tmp_path / "export")])
    listed = capsys.readouterr().out.split()
    assert sorted(Path(line).name for line in listed) == sorted(
        p.name for p in SERVICES.glob("*.toml")
    )
    assert all(Path(line).is_file() for line in listed)


def test_adding_a_user_stores_an_argon2_hash_and_their_teams(committed, capsys):
    add_team(committed, "it")
    add_team(committed, "hr")
    main(["user", "add", "Ann.Lee@Example.com", "--name", "Ann Lee", "--password", PASSWORD,
          "--team", "it", "--team", "hr", "--lead"])
    assert capsys.readouterr().out.strip() == "Added Ann Lee <ann.lee@example.com>."
    user = user_by_email(committed, "ann.lee@example.com")
    assert user is not None and user.name == "Ann Lee"
    assert user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)
    assert not verify_password(user.password_hash, "wrong password")
    assert (user.is_manager, user.is_admin, user.is_active) == (False, False, True)
    assert memberships(committed, user) == [("hr", True), ("it", True)]


def test_adding_a_manager_or_admin_sets_their_role(committed):
    main(["user", "add", "boss@example.com", "--password", PASSWORD, "--manager"])
    main(["user", "add", "root@example.com", "--password", PASSWORD, "--admin"])
    boss = user_by_email(committed, "boss@example.com")
    root = user_by_email(committed, "root@example.com")
    assert (boss.is_manager, boss.is_admin, boss.name) == (True, False, "boss@example.com")
    assert (root.is_manager, root.is_admin) == (False, True)
    assert memberships(committed, boss) == []


def test_the_password_may_come_from_the_environment(committed, monkeypatch):
    monkeypatch.setenv("BATON_NEW_PASSWORD", PASSWORD)
    add_team(committed, "it")
    main(["user", "add", "env@example.com", "--team", "it"])
    user = user_by_email(committed, "env@example.com")
    assert verify_password(user.password_hash, PASSWORD)
    assert memberships(committed, user) == [("it", False)]


def test_a_short_password_is_refused_and_nobody_is_added(committed, monkeypatch):
    monkeypatch.delenv("BATON_NEW_PASSWORD", raising=False)
    code = exit_code(["user", "add", "ann@example.com", "--password", "short"])
    assert code == "Use a password of at least 8 characters."
    assert user_by_email(committed, "ann@example.com") is None


def test_an_unknown_team_is_refused_and_nobody_is_added(committed):
    add_team(committed, "it")
    code = exit_code(["user", "add", "ann@example.com", "--password", PASSWORD,
                      "--team", "it", "--team", "legal"])
    assert code == "There is no team 'legal'."
    assert count(committed, User) == 0
    assert count(committed, Membership) == 0


def test_adding_someone_twice_is_refused(committed):
    main(["user", "add", "ann@example.com", "--name", "Ann", "--password", PASSWORD])
    code = exit_code(["user", "add", "ANN@example.com", "--name", "Other",
                      "--password", PASSWORD])
    assert code == "There is already an account for ann@example.com."
    assert count(committed, User) == 1
    assert user_by_email(committed, "ann@example.com").name == "Ann"


def test_recount_rebuilds_the_open_work_counters(committed, capsys):
    from app.storage.models import OpenWorkCount
    from app.storage.work_counts import counted_from_tasks, counters
    from tests.factories import Factory

    with Session(committed) as session:
        make = Factory(session)
        service = make.service(slug="laptop", steps=[("it", "task")])
        make.request(service, make.user("Rita"))
        session.exec(select(OpenWorkCount)).one().open_count = 7  # drifted
        session.commit()
    main(["recount"])
    assert "match the tasks" in capsys.readouterr().out
    with Session(committed) as session:
        assert counters(session) == counted_from_tasks(session) != {}


def test_recount_checks_and_rebuilds_the_insights_figures(committed, capsys):
    from app.rules.tasks import complete_task
    from app.storage import flow_figures
    from app.storage.models import ServiceWeek
    from tests.factories import Factory

    with Session(committed) as session:
        make = Factory(session)
        service = make.service(slug="laptop", steps=[("it", "task")])
        request = make.request(service, make.user("Rita"))
        complete_task(session, task=make.tasks(request)[0], by=make.user("Ivan", teams=("it",)))
    main(["recount"])
    assert "figures matched the history" in capsys.readouterr().out
    with Session(committed) as session:
        session.exec(select(ServiceWeek)).one().completed_count = 5  # drifted
        session.commit()
    main(["recount"])
    assert "did not match the history: rebuilt" in capsys.readouterr().out
    with Session(committed) as session:
        assert flow_figures.stored(session) == flow_figures.from_history(session)
        assert session.exec(select(ServiceWeek)).one().completed_count == 1


def test_recount_copies_the_request_title_into_tasks_that_lack_it(committed, capsys):
    from app.reads.queues import TaskFilter
    from app.reads.task_rows import list_tasks
    from app.storage.models import ServiceRequest, Task
    from tests.factories import Factory

    with Session(committed) as session:
        make = Factory(session)
        service = make.service(slug="laptop", steps=[("it", "task")], name="New laptop")
        request = make.request(service, make.user("Rita"), {"summary": "Berlin office"})
        # As a container of an older release writes it, during a rolling upgrade.
        session.exec(select(Task).where(Task.request_id == request.id)).one().request_title = ""
        session.commit()
        team_id = session.exec(select(Team.id).where(Team.slug == "it")).one()
    main(["recount"])
    assert "title into 1 tasks" in capsys.readouterr().out
    with Session(committed) as session:
        title = session.exec(select(ServiceRequest.title)).one()
        assert session.exec(select(Task.request_title)).one() == title
        found = list_tasks(session, filters=TaskFilter(team_ids=[team_id], search="berlin"))
        assert found.total == 1
