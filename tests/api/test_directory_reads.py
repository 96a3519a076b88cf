"""The API's calls note the directory version with their caller, so a team's queue finds
its team in memory (app.storage.directory_cache) as the pages do, and a team that
changed is read again."""

from sqlalchemy import event
from sqlmodel import Session

from app.rules.teams import rename_team
from tests.api.conftest import Api, token_of
from tests.factories import Factory


def _team_reads(session: Session, api: Api, token: str) -> int:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert api.get("/teams/it/tasks", token).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sum(1 for statement in seen if "WHERE team.slug" in statement)


def test_a_queue_call_reads_its_team_once_a_directory_version(
        api: Api, session: Session, make: Factory):
    ivan = make.user("Ivan", teams=("it",))
    admin = make.user("Ada", admin=True)
    token = token_of(session, ivan)
    assert _team_reads(session, api, token) == 1
    assert _team_reads(session, api, token) == 0
    rename_team(session, team=make.team("it"), name="Helpdesk", by=admin)
    assert _team_reads(session, api, token) == 1
